package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

const tenantColumns = `id, slug, display_name, sso_settings, created_at, updated_at`

type rowScanner interface{ Scan(dest ...any) error }

func scanTenant(r rowScanner) (lanyard.Tenant, error) {
	var (
		t                lanyard.Tenant
		sso              string
		created, updated int64
	)
	if err := r.Scan(&t.ID, &t.Slug, &t.DisplayName, &sso, &created, &updated); err != nil {
		return t, err
	}
	if err := json.Unmarshal([]byte(sso), &t.SSO); err != nil {
		return t, fmt.Errorf("tenant %q: decode sso_settings: %w", t.Slug, err)
	}
	t.CreatedAt, t.UpdatedAt = fromNanos(created), fromNanos(updated)
	return t, nil
}

// CreateTenant inserts t with its email domains and sets its ID and
// timestamps. ErrConflict when the slug or an email domain is taken.
func (d *DB) CreateTenant(ctx context.Context, t *lanyard.Tenant) error {
	const op = "sqlstore.CreateTenant"
	sso, err := json.Marshal(t.SSO)
	if err != nil {
		return fmt.Errorf("sqlstore: create tenant: encode sso settings: %w", err)
	}
	domains := lanyard.NormalizeDomains(t.EmailDomains)
	now := d.timestamp()
	var id int64
	err = d.inTx(ctx, func(tx *DB) error {
		err := tx.writer().QueryRowContext(ctx,
			`INSERT INTO tenants (slug, display_name, sso_settings, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $4) RETURNING id`,
			t.Slug, t.DisplayName, string(sso), toNanos(now)).Scan(&id)
		if err != nil {
			if tx.class(err) == ErrorUnique {
				return conflict(err, op, "tenant %q already exists", t.Slug)
			}
			return fmt.Errorf("sqlstore: create tenant %q: %w", t.Slug, err)
		}
		return tx.insertDomains(ctx, op, id, domains)
	})
	if err != nil {
		return err
	}
	t.ID, t.EmailDomains, t.CreatedAt, t.UpdatedAt = id, domains, now, now
	return nil
}

// insertDomains records the email domains of a tenant.
func (d *DB) insertDomains(ctx context.Context, op string, tenantID int64, domains []string) error {
	for _, dom := range domains {
		_, err := d.writer().ExecContext(ctx,
			`INSERT INTO tenant_domains (domain, tenant_id) VALUES ($1, $2)`, dom, tenantID)
		if err != nil {
			if d.class(err) == ErrorUnique {
				return conflict(err, op, "email domain %q is already claimed by another tenant", dom)
			}
			return fmt.Errorf("sqlstore: add email domain %q: %w", dom, err)
		}
	}
	return nil
}

// Tenant returns the tenant with the slug. ErrNotFound.
func (d *DB) Tenant(ctx context.Context, slug string) (lanyard.Tenant, error) {
	t, err := d.tenantWhere(ctx, `slug = $1`, slug)
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("sqlstore.Tenant", "tenant %q not found", slug)
	}
	return t, err
}

// TenantByID returns the tenant with the ID. ErrNotFound.
func (d *DB) TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error) {
	t, err := d.tenantWhere(ctx, `id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("sqlstore.TenantByID", "tenant %d not found", id)
	}
	return t, err
}

// TenantByEmailDomain returns the tenant that claims the domain,
// case-insensitively. ErrNotFound.
func (d *DB) TenantByEmailDomain(ctx context.Context, domain string) (lanyard.Tenant, error) {
	norm := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(domain)), "@")
	t, err := d.tenantWhere(ctx, `id = (SELECT tenant_id FROM tenant_domains WHERE domain = $1)`, norm)
	if errors.Is(err, sql.ErrNoRows) {
		return t, notFound("sqlstore.TenantByEmailDomain", "no tenant claims the email domain %q", norm)
	}
	return t, err
}

// tenantWhere reads one tenant with its domains. sql.ErrNoRows when none.
func (d *DB) tenantWhere(ctx context.Context, cond string, arg any) (lanyard.Tenant, error) {
	q := d.reader()
	t, err := scanTenant(q.QueryRowContext(ctx, `SELECT `+tenantColumns+` FROM tenants WHERE `+cond, arg))
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return t, err
		}
		return t, fmt.Errorf("sqlstore: read tenant: %w", err)
	}
	t.EmailDomains, err = d.tenantDomains(ctx, q, t.ID)
	return t, err
}

func (d *DB) tenantDomains(ctx context.Context, q querier, tenantID int64) ([]string, error) {
	rows, err := q.QueryContext(ctx, `SELECT domain FROM tenant_domains WHERE tenant_id = $1 ORDER BY domain`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read email domains: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var dom string
		if err := rows.Scan(&dom); err != nil {
			return nil, fmt.Errorf("sqlstore: read email domains: %w", err)
		}
		out = append(out, dom)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: read email domains: %w", err)
	}
	return out, nil
}

// Tenants lists all tenants by slug.
func (d *DB) Tenants(ctx context.Context) ([]lanyard.Tenant, error) {
	q := d.reader()
	rows, err := q.QueryContext(ctx, `SELECT `+tenantColumns+` FROM tenants ORDER BY slug`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list tenants: %w", err)
	}
	var out []lanyard.Tenant
	index := map[int64]int{}
	for rows.Next() {
		t, err := scanTenant(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sqlstore: list tenants: %w", err)
		}
		index[t.ID] = len(out)
		out = append(out, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list tenants: %w", err)
	}
	// All domains in one query.
	rows, err = q.QueryContext(ctx, `SELECT tenant_id, domain FROM tenant_domains ORDER BY domain`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list email domains: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			dom string
		)
		if err := rows.Scan(&id, &dom); err != nil {
			return nil, fmt.Errorf("sqlstore: list email domains: %w", err)
		}
		if i, ok := index[id]; ok {
			out[i].EmailDomains = append(out[i].EmailDomains, dom)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list email domains: %w", err)
	}
	return out, nil
}

// UpdateTenant reads the tenant, applies fn and writes the result in one
// transaction; fn may run more than once. The ID and CreatedAt are kept.
// ErrNotFound; ErrConflict when the new slug or an email domain is taken.
func (d *DB) UpdateTenant(ctx context.Context, id int64, fn func(*lanyard.Tenant) error) (lanyard.Tenant, error) {
	const op = "sqlstore.UpdateTenant"
	var out lanyard.Tenant
	err := d.inTx(ctx, func(tx *DB) error {
		q := tx.writer()
		t, err := scanTenant(q.QueryRowContext(ctx,
			`SELECT `+tenantColumns+` FROM tenants WHERE id = $1`+tx.lockRow(), id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "tenant %d not found", id)
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update tenant %d: %w", id, err)
		}
		if t.EmailDomains, err = tx.tenantDomains(ctx, q, id); err != nil {
			return err
		}
		before := slices.Clone(t.EmailDomains)
		if err := fn(&t); err != nil {
			return err
		}
		t.ID = id
		t.EmailDomains = lanyard.NormalizeDomains(t.EmailDomains)
		t.UpdatedAt = tx.timestamp()
		sso, err := json.Marshal(t.SSO)
		if err != nil {
			return fmt.Errorf("sqlstore: update tenant %d: encode sso settings: %w", id, err)
		}
		_, err = q.ExecContext(ctx,
			`UPDATE tenants SET slug = $1, display_name = $2, sso_settings = $3, updated_at = $4 WHERE id = $5`,
			t.Slug, t.DisplayName, string(sso), toNanos(t.UpdatedAt), id)
		if err != nil {
			if tx.class(err) == ErrorUnique {
				return conflict(err, op, "tenant %q already exists", t.Slug)
			}
			return fmt.Errorf("sqlstore: update tenant %d: %w", id, err)
		}
		if !slices.Equal(before, t.EmailDomains) {
			if _, err := q.ExecContext(ctx, `DELETE FROM tenant_domains WHERE tenant_id = $1`, id); err != nil {
				return fmt.Errorf("sqlstore: update tenant %d: %w", id, err)
			}
			if err := tx.insertDomains(ctx, op, id, t.EmailDomains); err != nil {
				return err
			}
		}
		out = t
		return nil
	})
	if err != nil {
		return lanyard.Tenant{}, err
	}
	return out, nil
}

// DeleteTenant removes the tenant with everything that belongs to it: its
// email domains, IdP connections, SP keys, accounts (with their roles,
// links, sessions and one-time tokens) and pending requests. The audit
// trail and the login traces keep their rows. ErrNotFound.
func (d *DB) DeleteTenant(ctx context.Context, id int64) error {
	return d.inTx(ctx, func(tx *DB) error {
		w := tx.writer()
		// Rows that name the tenant without a foreign key.
		for _, q := range []string{
			`DELETE FROM pending_requests WHERE tenant_id = $1`,
			`DELETE FROM sessions WHERE tenant_id = $1`,
		} {
			if _, err := w.ExecContext(ctx, q, id); err != nil {
				return fmt.Errorf("sqlstore: delete tenant %d: %w", id, err)
			}
		}
		res, err := w.ExecContext(ctx, `DELETE FROM tenants WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("sqlstore: delete tenant %d: %w", id, err)
		}
		if n, err := rowsAffected(res); err != nil {
			return fmt.Errorf("sqlstore: delete tenant %d: %w", id, err)
		} else if n == 0 {
			return notFound("sqlstore.DeleteTenant", "tenant %d not found", id)
		}
		return nil
	})
}
