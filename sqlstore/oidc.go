package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lanyard-sso/lanyard"
)

var _ lanyard.OIDCStore = (*DB)(nil)

// clientSettings is the JSON form of a client's settings column.
type clientSettings struct {
	Name                   string   `json:"name"`
	AuthMethod             string   `json:"auth_method"`
	JWKS                   string   `json:"jwks,omitempty"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Scopes                 []string `json:"scopes"`
	Roles                  []string `json:"roles,omitempty"`
	Claims                 []string `json:"claims,omitempty"`
	PairwiseSubject        bool     `json:"pairwise_subject,omitempty"`
	SubjectSalt            string   `json:"subject_salt,omitempty"`
	IDTokenAlg             string   `json:"id_token_alg"`
	BackChannelLogoutURI   string   `json:"backchannel_logout_uri,omitempty"`
}

func encodeClient(c *lanyard.OIDCClient) (string, error) {
	b, err := json.Marshal(clientSettings{Name: c.Name, AuthMethod: c.AuthMethod, JWKS: c.JWKS, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, Scopes: c.Scopes, Roles: c.Roles, Claims: c.Claims,
		PairwiseSubject: c.PairwiseSubject, SubjectSalt: c.SubjectSalt, IDTokenAlg: c.IDTokenAlg, BackChannelLogoutURI: c.BackChannelLogoutURI})
	return string(b), err
}

const oidcClientColumns = `tenant_id, client_id, settings, secret_hash, created_at`

func scanOIDCClient(r rowScanner) (lanyard.OIDCClient, error) {
	var (
		c        lanyard.OIDCClient
		settings string
		created  int64
		s        clientSettings
	)
	if err := r.Scan(&c.TenantID, &c.ClientID, &settings, &c.SecretHash, &created); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(settings), &s); err != nil {
		return c, fmt.Errorf("settings of client %q: %w", c.ClientID, err)
	}
	c.Name, c.AuthMethod, c.JWKS, c.RedirectURIs = s.Name, s.AuthMethod, s.JWKS, s.RedirectURIs
	c.PostLogoutRedirectURIs, c.Scopes, c.Roles, c.Claims = s.PostLogoutRedirectURIs, s.Scopes, s.Roles, s.Claims
	c.PairwiseSubject, c.SubjectSalt, c.IDTokenAlg, c.BackChannelLogoutURI = s.PairwiseSubject, s.SubjectSalt, s.IDTokenAlg, s.BackChannelLogoutURI
	c.CreatedAt = fromNanos(created)
	return c, nil
}

// CreateOIDCClient inserts c (validated first: ErrInvalid). ErrConflict
// when the tenant has the client ID.
func (d *DB) CreateOIDCClient(ctx context.Context, c *lanyard.OIDCClient) error {
	const op = "sqlstore.CreateOIDCClient"
	if err := c.Validate(); err != nil {
		return err
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = d.timestamp()
	}
	settings, err := encodeClient(c)
	if err != nil {
		return fmt.Errorf("sqlstore: create client %q: %w", c.ClientID, err)
	}
	err = d.write(ctx, true, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO oidc_clients (`+oidcClientColumns+`) VALUES ($1, $2, $3, $4, $5)`,
			c.TenantID, c.ClientID, settings, nilIfEmpty(c.SecretHash), toNanos(c.CreatedAt))
		return err
	})
	if err != nil {
		switch d.class(err) {
		case ErrorUnique:
			return conflict(err, op, "the tenant already has a client %q", c.ClientID)
		case ErrorForeignKey:
			return invalid(err, op, "tenant %d does not exist", c.TenantID)
		}
		return fmt.Errorf("sqlstore: create client %q: %w", c.ClientID, err)
	}
	return nil
}

// OIDCClient returns a tenant's client. ErrNotFound.
func (d *DB) OIDCClient(ctx context.Context, tenantID int64, clientID string) (lanyard.OIDCClient, error) {
	c, err := scanOIDCClient(d.reader().QueryRowContext(ctx,
		`SELECT `+oidcClientColumns+` FROM oidc_clients WHERE tenant_id = $1 AND client_id = $2`, tenantID, clientID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("sqlstore.OIDCClient", "client %q not found", clientID)
	}
	if err != nil {
		return c, fmt.Errorf("sqlstore: client %q: %w", clientID, err)
	}
	return c, nil
}

// OIDCClients lists a tenant's clients by client ID.
func (d *DB) OIDCClients(ctx context.Context, tenantID int64) ([]lanyard.OIDCClient, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT `+oidcClientColumns+` FROM oidc_clients WHERE tenant_id = $1 ORDER BY client_id`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list clients: %w", err)
	}
	defer rows.Close()
	var out []lanyard.OIDCClient
	for rows.Next() {
		c, err := scanOIDCClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list clients: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list clients: %w", err)
	}
	return out, nil
}

// UpdateOIDCClient applies fn to the client in one transaction (the result
// validated: ErrInvalid). ErrNotFound.
func (d *DB) UpdateOIDCClient(ctx context.Context, tenantID int64, clientID string, fn func(*lanyard.OIDCClient) error) (lanyard.OIDCClient, error) {
	const op = "sqlstore.UpdateOIDCClient"
	var out lanyard.OIDCClient
	err := d.inTx(ctx, func(tx *DB) error {
		q := tx.writer()
		c, err := scanOIDCClient(q.QueryRowContext(ctx,
			`SELECT `+oidcClientColumns+` FROM oidc_clients WHERE tenant_id = $1 AND client_id = $2`+tx.lockRow(), tenantID, clientID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "client %q not found", clientID)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update client %q: %w", clientID, err)
		}
		created := c.CreatedAt
		if err := fn(&c); err != nil {
			return err
		}
		c.TenantID, c.ClientID, c.CreatedAt = tenantID, clientID, created
		if err := c.Validate(); err != nil {
			return err
		}
		settings, err := encodeClient(&c)
		if err != nil {
			return fmt.Errorf("sqlstore: update client %q: %w", clientID, err)
		}
		if _, err := q.ExecContext(ctx, `UPDATE oidc_clients SET settings = $1, secret_hash = $2 WHERE tenant_id = $3 AND client_id = $4`,
			settings, nilIfEmpty(c.SecretHash), tenantID, clientID); err != nil {
			return fmt.Errorf("sqlstore: update client %q: %w", clientID, err)
		}
		out = c
		return nil
	})
	return out, err
}

// DeleteOIDCClient removes the client and its grants. ErrNotFound.
func (d *DB) DeleteOIDCClient(ctx context.Context, tenantID int64, clientID string) error {
	return d.inTx(ctx, func(tx *DB) error {
		q := tx.writer()
		res, err := q.ExecContext(ctx, `DELETE FROM oidc_clients WHERE tenant_id = $1 AND client_id = $2`, tenantID, clientID)
		if err != nil {
			return fmt.Errorf("sqlstore: delete client %q: %w", clientID, err)
		}
		if n, err := rowsAffected(res); err != nil {
			return fmt.Errorf("sqlstore: delete client %q: %w", clientID, err)
		} else if n == 0 {
			return notFound("sqlstore.DeleteOIDCClient", "client %q not found", clientID)
		}
		if _, err := q.ExecContext(ctx, `DELETE FROM oidc_grants WHERE tenant_id = $1 AND client_id = $2`, tenantID, clientID); err != nil {
			return fmt.Errorf("sqlstore: delete grants of client %q: %w", clientID, err)
		}
		return nil
	})
}

// grantDetails is the JSON form of a grant's details column.
type grantDetails struct {
	Scopes        []string `json:"scopes"`
	Nonce         string   `json:"nonce,omitempty"`
	RedirectURI   string   `json:"redirect_uri,omitempty"`
	CodeChallenge string   `json:"code_challenge,omitempty"`
	AuthTime      int64    `json:"auth_time"`
	ACR           string   `json:"acr,omitempty"`
}

const oidcGrantColumns = `hash, kind, tenant_id, client_id, user_id, session_hash, family, details, created_at, expires_at, used_at`

func scanOIDCGrant(r rowScanner) (lanyard.OIDCGrant, error) {
	var (
		g                      lanyard.OIDCGrant
		kind, details          string
		created, expires, used int64
		gd                     grantDetails
	)
	if err := r.Scan(&g.Hash, &kind, &g.TenantID, &g.ClientID, &g.UserID, &g.SessionHash, &g.Family, &details, &created, &expires, &used); err != nil {
		return g, err
	}
	if err := json.Unmarshal([]byte(details), &gd); err != nil {
		return g, fmt.Errorf("grant details: %w", err)
	}
	g.Kind = lanyard.OIDCGrantKind(kind)
	g.Scopes, g.Nonce, g.RedirectURI, g.CodeChallenge, g.ACR = gd.Scopes, gd.Nonce, gd.RedirectURI, gd.CodeChallenge, gd.ACR
	g.AuthTime = time.Unix(gd.AuthTime, 0).UTC()
	g.CreatedAt, g.ExpiresAt = fromNanos(created), fromNanos(expires)
	if used != 0 {
		g.UsedAt = fromNanos(used)
	}
	return g, nil
}

// SaveOIDCGrant inserts g. ErrConflict when the hash exists.
func (d *DB) SaveOIDCGrant(ctx context.Context, g *lanyard.OIDCGrant) error {
	if g.CreatedAt.IsZero() {
		g.CreatedAt = d.timestamp()
	}
	details, err := json.Marshal(grantDetails{Scopes: g.Scopes, Nonce: g.Nonce, RedirectURI: g.RedirectURI,
		CodeChallenge: g.CodeChallenge, AuthTime: g.AuthTime.Unix(), ACR: g.ACR})
	if err != nil {
		return fmt.Errorf("sqlstore: save grant: %w", err)
	}
	err = d.write(ctx, true, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO oidc_grants (`+oidcGrantColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)`,
			g.Hash, string(g.Kind), g.TenantID, g.ClientID, g.UserID, g.SessionHash, g.Family, string(details),
			toNanos(g.CreatedAt), toNanos(g.ExpiresAt))
		return err
	})
	if err != nil {
		switch d.class(err) {
		case ErrorUnique:
			return conflict(err, "sqlstore.SaveOIDCGrant", "grant already exists")
		case ErrorForeignKey:
			return invalid(err, "sqlstore.SaveOIDCGrant", "user %d does not exist", g.UserID)
		}
		return fmt.Errorf("sqlstore: save grant: %w", err)
	}
	return nil
}

// OIDCGrant returns the live grant of the kind. ErrNotFound.
func (d *DB) OIDCGrant(ctx context.Context, hash []byte, kind lanyard.OIDCGrantKind, now time.Time) (lanyard.OIDCGrant, error) {
	g, err := scanOIDCGrant(d.reader().QueryRowContext(ctx,
		`SELECT `+oidcGrantColumns+` FROM oidc_grants WHERE hash = $1 AND kind = $2 AND expires_at > $3`, hash, string(kind), toNanos(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return g, notFound("sqlstore.OIDCGrant", "%s not found, revoked or expired", kind)
	}
	if err != nil {
		return g, fmt.Errorf("sqlstore: grant: %w", err)
	}
	return g, nil
}

// UseOIDCGrant marks a code or refresh token used, once. See lanyard.OIDCStore.
func (d *DB) UseOIDCGrant(ctx context.Context, hash []byte, kind lanyard.OIDCGrantKind, now time.Time) (lanyard.OIDCGrant, error) {
	const op = "sqlstore.UseOIDCGrant"
	// One statement marks it: of two nodes redeeming the same code at
	// once, one row update wins and the other finds it used.
	g, err := scanOIDCGrant(d.writer().QueryRowContext(ctx,
		`UPDATE oidc_grants SET used_at = $3 WHERE hash = $1 AND kind = $2 AND used_at = 0 AND expires_at > $3
		RETURNING `+oidcGrantColumns, hash, string(kind), toNanos(now)))
	if err == nil {
		return g, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return g, fmt.Errorf("sqlstore: use grant: %w", err)
	}
	g, err = scanOIDCGrant(d.reader().QueryRowContext(ctx,
		`SELECT `+oidcGrantColumns+` FROM oidc_grants WHERE hash = $1 AND kind = $2`, hash, string(kind)))
	if errors.Is(err, sql.ErrNoRows) {
		return g, notFound(op, "%s not found or revoked", kind)
	}
	if err != nil {
		return g, fmt.Errorf("sqlstore: use grant: %w", err)
	}
	if !g.UsedAt.IsZero() {
		return g, &lanyard.Error{Op: op, Kind: lanyard.KindConflict, Message: string(kind) + " already used"}
	}
	return g, notFound(op, "%s expired", kind)
}

// RevokeOIDCFamily deletes every grant of the family and reports how many.
func (d *DB) RevokeOIDCFamily(ctx context.Context, family string) (int, error) {
	res, err := d.writer().ExecContext(ctx, `DELETE FROM oidc_grants WHERE family = $1`, family)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: revoke grants: %w", err)
	}
	return rowsAffected(res)
}

// PutOIDCLogin records l, or refreshes the record of the same session and client.
func (d *DB) PutOIDCLogin(ctx context.Context, l *lanyard.OIDCLogin) error {
	if l.CreatedAt.IsZero() {
		l.CreatedAt = d.timestamp()
	}
	_, err := d.writer().ExecContext(ctx,
		`INSERT INTO oidc_logins (session_hash, client_id, tenant_id, subject, sid, created_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (session_hash, client_id) DO UPDATE SET subject = excluded.subject, sid = excluded.sid`,
		l.SessionHash, l.ClientID, l.TenantID, l.Subject, l.SID, toNanos(l.CreatedAt))
	if err != nil {
		return fmt.Errorf("sqlstore: record client login: %w", err)
	}
	return nil
}

// TakeEndedOIDCLogins deletes and returns the records of ended sessions.
// See lanyard.OIDCStore.
func (d *DB) TakeEndedOIDCLogins(ctx context.Context, now time.Time, limit int) ([]lanyard.OIDCLogin, error) {
	var out []lanyard.OIDCLogin
	err := d.inTx(ctx, func(tx *DB) error {
		out = out[:0]
		q := tx.writer()
		rows, err := q.QueryContext(ctx,
			`DELETE FROM oidc_logins WHERE (session_hash, client_id) IN (
				SELECT l.session_hash, l.client_id FROM oidc_logins l
				WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.hash = l.session_hash AND s.idle_expires_at > $1 AND s.abs_expires_at > $1)
				LIMIT $2)
			RETURNING session_hash, client_id, tenant_id, subject, sid, created_at`, toNanos(now), limit)
		if err != nil {
			return fmt.Errorf("sqlstore: take ended client logins: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				l       lanyard.OIDCLogin
				created int64
			)
			if err := rows.Scan(&l.SessionHash, &l.ClientID, &l.TenantID, &l.Subject, &l.SID, &created); err != nil {
				return fmt.Errorf("sqlstore: take ended client logins: %w", err)
			}
			l.CreatedAt = fromNanos(created)
			out = append(out, l)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlstore: take ended client logins: %w", err)
		}
		rows.Close()
		for _, l := range out {
			if _, err := q.ExecContext(ctx, `DELETE FROM oidc_grants WHERE session_hash = $1`, l.SessionHash); err != nil {
				return fmt.Errorf("sqlstore: delete grants of an ended session: %w", err)
			}
		}
		return nil
	})
	return out, err
}

// PurgeOIDCGrants deletes grants expired at now and reports how many.
func (d *DB) PurgeOIDCGrants(ctx context.Context, now time.Time) (int, error) {
	res, err := d.writer().ExecContext(ctx, `DELETE FROM oidc_grants WHERE expires_at <= $1`, toNanos(now))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge grants: %w", err)
	}
	return rowsAffected(res)
}
