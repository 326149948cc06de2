package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

const apiTokenColumns = `id, name, hash, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at, tenant_id, creator_id`

func scanAPIToken(r rowScanner) (lanyard.APIToken, error) {
	var (
		t                               lanyard.APIToken
		scopes                          string
		created, expires, used, revoked int64
	)
	if err := r.Scan(&t.ID, &t.Name, &t.Hash, &t.Prefix, &scopes, &t.CreatedBy, &created, &expires, &used, &revoked, &t.TenantID, &t.CreatorID); err != nil {
		return t, err
	}
	t.Scopes = strings.Fields(scopes)
	t.CreatedAt, t.ExpiresAt, t.LastUsedAt, t.RevokedAt = fromNanos(created), fromNanos(expires), fromNanos(used), fromNanos(revoked)
	return t, nil
}

// CreateAPIToken inserts t and sets its ID and CreatedAt (when zero).
// ErrConflict when the hash exists or a live token has the name.
func (d *DB) CreateAPIToken(ctx context.Context, t *lanyard.APIToken) error {
	const op = "sqlstore.CreateAPIToken"
	if err := t.Validate(); err != nil {
		return &lanyard.Error{Op: op, Kind: lanyard.KindInvalid, Message: "API token: " + lanyard.ErrorMessage(err), Err: err}
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = d.timestamp()
	}
	t.CreatedAt, t.ExpiresAt = fromNanos(toNanos(t.CreatedAt)), fromNanos(toNanos(t.ExpiresAt))
	var id int64
	err := d.write(ctx, true, func(q querier) error {
		return q.QueryRowContext(ctx,
			`INSERT INTO api_tokens (name, hash, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at, tenant_id, creator_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8, $9) RETURNING id`,
			t.Name, t.Hash, t.Prefix, strings.Join(t.Scopes, " "), t.CreatedBy, toNanos(t.CreatedAt), toNanos(t.ExpiresAt), t.TenantID, t.CreatorID).Scan(&id)
	})
	if err != nil {
		if d.class(err) == ErrorUnique {
			return conflict(err, op, "an API token named %q exists already; revoke it first or choose another name", t.Name)
		}
		return fmt.Errorf("sqlstore: create API token %q: %w", t.Name, err)
	}
	t.ID = id
	return nil
}

// APITokenByHash returns the token with the hash. ErrNotFound.
func (d *DB) APITokenByHash(ctx context.Context, hash []byte) (lanyard.APIToken, error) {
	t, err := scanAPIToken(d.reader().QueryRowContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("sqlstore.APITokenByHash", "no such API token")
	}
	if err != nil {
		return t, fmt.Errorf("sqlstore: API token by hash: %w", err)
	}
	return t, nil
}

// APITokens lists every token, newest first.
func (d *DB) APITokens(ctx context.Context) ([]lanyard.APIToken, error) {
	rows, err := d.reader().QueryContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list API tokens: %w", err)
	}
	defer rows.Close()
	var out []lanyard.APIToken
	for rows.Next() {
		t, err := scanAPIToken(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list API tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list API tokens: %w", err)
	}
	return out, nil
}

// RevokeAPIToken marks the token revoked at the time given. ErrNotFound
// when there is no such live token.
func (d *DB) RevokeAPIToken(ctx context.Context, id int64, at time.Time) (lanyard.APIToken, error) {
	res, err := d.writer().ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, toNanos(at), id)
	if err != nil {
		return lanyard.APIToken{}, fmt.Errorf("sqlstore: revoke API token %d: %w", id, err)
	}
	if n, err := rowsAffected(res); err != nil || n == 0 {
		if err != nil {
			return lanyard.APIToken{}, fmt.Errorf("sqlstore: revoke API token %d: %w", id, err)
		}
		return lanyard.APIToken{}, notFound("sqlstore.RevokeAPIToken", "no API token %d that is not revoked yet", id)
	}
	t, err := scanAPIToken(d.reader().QueryRowContext(ctx, `SELECT `+apiTokenColumns+` FROM api_tokens WHERE id = $1`, id))
	if err != nil {
		return t, fmt.Errorf("sqlstore: read revoked API token %d: %w", id, err)
	}
	return t, nil
}

// TouchAPIToken records a use of the token.
func (d *DB) TouchAPIToken(ctx context.Context, id int64, at time.Time) error {
	if _, err := d.writer().ExecContext(ctx, `UPDATE api_tokens SET last_used_at = $1 WHERE id = $2`, toNanos(at), id); err != nil {
		return fmt.Errorf("sqlstore: record use of API token %d: %w", id, err)
	}
	return nil
}

const loginTraceColumns = `id, tenant_id, audit_id, occurred_at, idp_entity_id, subject, reason, message, hint, clock_skew, client_ip, document`

func scanLoginTrace(r rowScanner) (lanyard.LoginTrace, error) {
	var (
		t        lanyard.LoginTrace
		at, skew int64
	)
	err := r.Scan(&t.ID, &t.TenantID, &t.AuditID, &at, &t.IdPEntityID, &t.Subject, &t.Reason, &t.Message, &t.Hint, &skew, &t.ClientIP, &t.Document)
	t.Time, t.ClockSkew = fromNanos(at), time.Duration(skew)
	return t, err
}

// AddLoginTrace inserts t and deletes the tenant's oldest traces beyond keep.
func (d *DB) AddLoginTrace(ctx context.Context, t *lanyard.LoginTrace, keep int) error {
	if t.Time.IsZero() {
		t.Time = d.timestamp()
	}
	t.Time = fromNanos(toNanos(t.Time))
	return d.inTx(ctx, func(tx *DB) error {
		var id int64
		err := tx.writer().QueryRowContext(ctx,
			`INSERT INTO login_traces (tenant_id, audit_id, occurred_at, idp_entity_id, subject, reason, message, hint, clock_skew, client_ip, document)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			t.TenantID, t.AuditID, toNanos(t.Time), t.IdPEntityID, t.Subject, t.Reason, t.Message, t.Hint, int64(t.ClockSkew), t.ClientIP, t.Document).Scan(&id)
		if err != nil {
			return fmt.Errorf("sqlstore: add login trace: %w", err)
		}
		t.ID = id
		if keep <= 0 {
			return nil
		}
		// Keep the newest traces of the tenant: find the ID of the oldest
		// one kept, delete below it.
		var oldestKept int64
		err = tx.writer().QueryRowContext(ctx,
			`SELECT id FROM login_traces WHERE tenant_id = $1 ORDER BY id DESC LIMIT 1 OFFSET $2`,
			t.TenantID, keep-1).Scan(&oldestKept)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlstore: bound login traces: %w", err)
		}
		if _, err := tx.writer().ExecContext(ctx, `DELETE FROM login_traces WHERE tenant_id = $1 AND id < $2`, t.TenantID, oldestKept); err != nil {
			return fmt.Errorf("sqlstore: bound login traces: %w", err)
		}
		return nil
	})
}

// LoginTraces lists traces matching f, newest first.
func (d *DB) LoginTraces(ctx context.Context, f lanyard.LoginTraceFilter) ([]lanyard.LoginTrace, error) {
	w := &where{}
	if f.TenantID != 0 {
		w.add(`tenant_id = $%d`, f.TenantID)
	}
	if f.AuditID != 0 {
		w.add(`audit_id = $%d`, f.AuditID)
	}
	if f.Reason != "" {
		w.add(`reason = $%d`, f.Reason)
	}
	if f.BeforeID != 0 {
		w.add(`id < $%d`, f.BeforeID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	rows, err := d.reader().QueryContext(ctx,
		`SELECT `+loginTraceColumns+` FROM login_traces`+w.String()+fmt.Sprintf(` ORDER BY id DESC LIMIT %d`, limit), w.args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list login traces: %w", err)
	}
	defer rows.Close()
	var out []lanyard.LoginTrace
	for rows.Next() {
		t, err := scanLoginTrace(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list login traces: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list login traces: %w", err)
	}
	return out, nil
}

// LoginTrace returns one trace. ErrNotFound.
func (d *DB) LoginTrace(ctx context.Context, id int64) (lanyard.LoginTrace, error) {
	t, err := scanLoginTrace(d.reader().QueryRowContext(ctx, `SELECT `+loginTraceColumns+` FROM login_traces WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("sqlstore.LoginTrace", "no login trace %d (traces are deleted after the retention period)", id)
	}
	if err != nil {
		return t, fmt.Errorf("sqlstore: login trace %d: %w", id, err)
	}
	return t, nil
}

// PurgeLoginTraces deletes traces older than before.
func (d *DB) PurgeLoginTraces(ctx context.Context, before time.Time) (int, error) {
	return d.deleteCount(ctx, "login traces", `DELETE FROM login_traces WHERE occurred_at < $1`, toNanos(before))
}

// MoveUserRecords gives the links, sessions and audit events of user from
// to user to, and deletes the one-time tokens of from, in one transaction.
func (d *DB) MoveUserRecords(ctx context.Context, from, to int64) (lanyard.MovedRecords, error) {
	const op = "sqlstore.MoveUserRecords"
	var moved lanyard.MovedRecords
	if from == to {
		return moved, &lanyard.Error{Op: op, Kind: lanyard.KindInvalid, Message: "an account cannot be merged into itself"}
	}
	err := d.inTx(ctx, func(tx *DB) error {
		moved = lanyard.MovedRecords{}
		var tenants [2]int64
		for i, id := range []int64{from, to} {
			err := tx.writer().QueryRowContext(ctx, `SELECT tenant_id FROM users WHERE id = $1`+tx.lockRow(), id).Scan(&tenants[i])
			if errors.Is(err, sql.ErrNoRows) {
				return notFound(op, "user %d does not exist", id)
			}
			if err != nil {
				return fmt.Errorf("sqlstore: move user records: read user %d: %w", id, err)
			}
		}
		if tenants[0] != tenants[1] {
			return &lanyard.Error{Op: op, Kind: lanyard.KindInvalid, Message: "accounts of different tenants cannot be merged"}
		}
		steps := []struct {
			count *int
			query string
		}{
			{&moved.Links, `UPDATE user_links SET user_id = $1 WHERE user_id = $2`},
			{&moved.Sessions, `UPDATE sessions SET user_id = $1 WHERE user_id = $2`},
			{&moved.AuditEvents, `UPDATE audit_events SET user_id = $1 WHERE user_id = $2`},
		}
		for _, s := range steps {
			res, err := tx.writer().ExecContext(ctx, s.query, to, from)
			if err != nil {
				return fmt.Errorf("sqlstore: move user records from %d to %d: %w", from, to, err)
			}
			if *s.count, err = rowsAffected(res); err != nil {
				return fmt.Errorf("sqlstore: move user records from %d to %d: %w", from, to, err)
			}
		}
		if _, err := tx.writer().ExecContext(ctx, `DELETE FROM one_time_tokens WHERE user_id = $1`, from); err != nil {
			return fmt.Errorf("sqlstore: move user records: delete one-time tokens of %d: %w", from, err)
		}
		return nil
	})
	return moved, err
}
