package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// AddSigningKey inserts k (CreatedAt is set when zero). ErrConflict when
// the ID exists.
func (d *DB) AddSigningKey(ctx context.Context, k *lanyard.SigningKey) error {
	const op = "sqlstore.AddSigningKey"
	if k.CreatedAt.IsZero() {
		k.CreatedAt = d.timestamp()
	}
	for _, t := range []*time.Time{&k.CreatedAt, &k.SignUntil, &k.PublishUntil} {
		*t = fromNanos(toNanos(*t))
	}
	err := d.write(ctx, true, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO signing_keys (kid, algorithm, private_key, created_at, sign_until, publish_until)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, k.Algorithm, d.seal(k.PrivateKey, purposeSigningKey), toNanos(k.CreatedAt), toNanos(k.SignUntil), toNanos(k.PublishUntil))
		return err
	})
	if err != nil {
		if d.class(err) == ErrorUnique {
			return conflict(err, op, "signing key %q already exists", k.ID)
		}
		return fmt.Errorf("sqlstore: add signing key %q: %w", k.ID, err)
	}
	return nil
}

// SigningKeys lists the keys published at now, oldest first.
func (d *DB) SigningKeys(ctx context.Context, now time.Time) ([]lanyard.SigningKey, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT kid, algorithm, private_key, created_at, sign_until, publish_until
		FROM signing_keys WHERE publish_until > $1 ORDER BY created_at, kid`, toNanos(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list signing keys: %w", err)
	}
	defer rows.Close()
	var out []lanyard.SigningKey
	for rows.Next() {
		var (
			k                     lanyard.SigningKey
			created, sign, public int64
		)
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.PrivateKey, &created, &sign, &public); err != nil {
			return nil, fmt.Errorf("sqlstore: list signing keys: %w", err)
		}
		k.CreatedAt, k.SignUntil, k.PublishUntil = fromNanos(created), fromNanos(sign), fromNanos(public)
		if k.PrivateKey, err = d.sealer.Open(k.PrivateKey, purposeSigningKey); err != nil {
			return nil, fmt.Errorf("sqlstore: signing key %q: %w", k.ID, err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list signing keys: %w", err)
	}
	return out, nil
}

// PurgeSigningKeys deletes the keys no longer published at now.
func (d *DB) PurgeSigningKeys(ctx context.Context, now time.Time) (int, error) {
	res, err := d.writer().ExecContext(ctx, `DELETE FROM signing_keys WHERE publish_until <= $1`, toNanos(now))
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge signing keys: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: purge signing keys: %w", err)
	}
	return n, nil
}

// PutProxyRoute inserts r or replaces the route of the same name. The
// route is normalized and validated first (ErrInvalid).
func (d *DB) PutProxyRoute(ctx context.Context, r *lanyard.ProxyRoute) error {
	const op = "sqlstore.PutProxyRoute"
	r.Normalize()
	if err := r.Validate(); err != nil {
		return &lanyard.Error{Op: op, Kind: lanyard.KindInvalid, Message: "proxy route " + r.Name + ": " + lanyard.ErrorMessage(err), Err: err}
	}
	roles := r.Roles
	if roles == nil {
		roles = []string{}
	}
	rolesJSON, err := json.Marshal(roles)
	if err != nil {
		return fmt.Errorf("sqlstore: put proxy route %q: roles: %w", r.Name, err)
	}
	now := d.timestamp()
	var created int64
	err = d.writer().QueryRowContext(ctx,
		`INSERT INTO proxy_routes (name, host, path_prefix, upstream, tenant, roles, bearer_token, strip_prefix, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
		ON CONFLICT (name) DO UPDATE SET
			host = excluded.host, path_prefix = excluded.path_prefix, upstream = excluded.upstream,
			tenant = excluded.tenant, roles = excluded.roles, bearer_token = excluded.bearer_token,
			strip_prefix = excluded.strip_prefix, updated_at = excluded.updated_at
		RETURNING created_at`,
		r.Name, r.Host, r.PathPrefix, r.Upstream, r.Tenant, string(rolesJSON), r.BearerToken, r.StripPrefix, toNanos(now)).Scan(&created)
	if err != nil {
		return fmt.Errorf("sqlstore: put proxy route %q: %w", r.Name, err)
	}
	r.CreatedAt, r.UpdatedAt = fromNanos(created), now
	return nil
}

// ProxyRoutes lists the routes by name.
func (d *DB) ProxyRoutes(ctx context.Context) ([]lanyard.ProxyRoute, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT name, host, path_prefix, upstream, tenant, roles, bearer_token, strip_prefix, created_at, updated_at
		FROM proxy_routes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list proxy routes: %w", err)
	}
	defer rows.Close()
	var out []lanyard.ProxyRoute
	for rows.Next() {
		var (
			r                lanyard.ProxyRoute
			roles            string
			created, updated int64
		)
		if err := rows.Scan(&r.Name, &r.Host, &r.PathPrefix, &r.Upstream, &r.Tenant, &roles, &r.BearerToken, &r.StripPrefix, &created, &updated); err != nil {
			return nil, fmt.Errorf("sqlstore: list proxy routes: %w", err)
		}
		if err := json.Unmarshal([]byte(roles), &r.Roles); err != nil {
			return nil, fmt.Errorf("sqlstore: proxy route %q: roles %q: %w", r.Name, roles, err)
		}
		if len(r.Roles) == 0 {
			r.Roles = nil
		}
		r.CreatedAt, r.UpdatedAt = fromNanos(created), fromNanos(updated)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list proxy routes: %w", err)
	}
	return out, nil
}

// DeleteProxyRoute removes the route with the name. ErrNotFound.
func (d *DB) DeleteProxyRoute(ctx context.Context, name string) error {
	res, err := d.writer().ExecContext(ctx, `DELETE FROM proxy_routes WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("sqlstore: delete proxy route %q: %w", name, err)
	}
	if n, err := rowsAffected(res); err != nil {
		return fmt.Errorf("sqlstore: delete proxy route %q: %w", name, err)
	} else if n == 0 {
		return notFound("sqlstore.DeleteProxyRoute", "no proxy route named %q", name)
	}
	return nil
}
