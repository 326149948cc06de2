package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// legacyAdminRole is the role that, before version 10, made an account an
// administrator of every tenant. It stays on the accounts (applications
// may use it) but grants nothing in Lanyard any more.
const legacyAdminRole = "admin"

// UpgradeAction is the audit action of the changes a schema upgrade makes
// to the data.
const UpgradeAction = "schema.upgrade"

// goSteps are the data upgrades run in Go after the SQL of a migration, in
// the same transaction. They read and write with plain SQL, never with the
// store's methods, which know the schema of the newest version. Each
// returns one note per change, for the log; audit events record the same.
var goSteps = map[int]func(ctx context.Context, tx *DB) ([]string, error){
	10: upgradeAdministrators,
}

// upgradeAdministrators turns the role "admin" into the two kinds of
// administrator: local accounts holding it become operators, accounts an
// IdP created or LDAP owns become tenant administrators of their tenant
// (from the IdP when the IdP granted it, so that the next login keeps or
// removes it as before). Group mappings to "admin" also map to the tenant
// administrator role. API tokens created by an administrator get that
// account as their creator when it is unambiguous (one operator with that
// login); the others, whose rights cannot be bounded, are revoked.
func upgradeAdministrators(ctx context.Context, tx *DB) ([]string, error) {
	var notes []string
	note := func(e lanyard.AuditEvent) error {
		e.Actor, e.Action, e.Outcome = "system", UpgradeAction, lanyard.OutcomeSuccess
		notes = append(notes, e.Message)
		return tx.AppendAudit(ctx, &e)
	}

	type holder struct {
		userID, tenantID int64
		login, source    string
		tenantSlug       string
		grants           []string // sources of the admin role
	}
	rows, err := tx.tx.QueryContext(ctx, `SELECT u.id, u.tenant_id, t.slug, u.login, u.source, r.source
		FROM user_roles r JOIN users u ON u.id = r.user_id JOIN tenants t ON t.id = u.tenant_id
		WHERE r.role = $1 ORDER BY u.id, r.source`, legacyAdminRole)
	if err != nil {
		return nil, err
	}
	var holders []*holder
	for rows.Next() {
		var h holder
		var grant string
		if err := rows.Scan(&h.userID, &h.tenantID, &h.tenantSlug, &h.login, &h.source, &grant); err != nil {
			rows.Close()
			return nil, err
		}
		if n := len(holders); n > 0 && holders[n-1].userID == h.userID {
			holders[n-1].grants = append(holders[n-1].grants, grant)
			continue
		}
		h.grants = []string{grant}
		holders = append(holders, &h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, h := range holders {
		role, source, what := lanyard.RoleTenantAdmin, string(lanyard.RoleManual), "a tenant administrator of "+h.tenantSlug
		switch {
		case h.source == string(lanyard.SourceLocal) && slices.Contains(h.grants, string(lanyard.RoleManual)):
			role, what = lanyard.RoleOperator, "an operator"
		case !slices.Contains(h.grants, string(lanyard.RoleManual)):
			source, what = string(lanyard.RoleIdP), "a tenant administrator of "+h.tenantSlug+" (granted by the IdP, as the admin role was)"
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO user_roles (user_id, role, source) VALUES ($1, $2, $3)`, h.userID, role, source); err != nil {
			return nil, err
		}
		err := note(lanyard.AuditEvent{TenantID: h.tenantID, UserID: h.userID, Subject: h.login,
			Message: fmt.Sprintf("account %s of tenant %s (source %s) held the role admin: it is now %s; the role admin itself grants nothing in Lanyard any more", h.login, h.tenantSlug, h.source, what)})
		if err != nil {
			return nil, err
		}
	}

	type tenantRow struct {
		id        int64
		slug, sso string
	}
	var tenants []tenantRow
	rows, err = tx.tx.QueryContext(ctx, `SELECT id, slug, sso_settings FROM tenants ORDER BY id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var t tenantRow
		if err := rows.Scan(&t.id, &t.slug, &t.sso); err != nil {
			rows.Close()
			return nil, err
		}
		tenants = append(tenants, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, t := range tenants {
		// Decoded as a plain map, so that settings this code does not
		// know survive the rewrite untouched.
		var sso map[string]json.RawMessage
		if err := json.Unmarshal([]byte(t.sso), &sso); err != nil {
			return nil, fmt.Errorf("tenant %s: decode sso_settings: %w", t.slug, err)
		}
		var groups map[string][]string
		if raw, ok := sso["group_roles"]; ok {
			if err := json.Unmarshal(raw, &groups); err != nil {
				return nil, fmt.Errorf("tenant %s: decode group_roles: %w", t.slug, err)
			}
		}
		var changed []string
		for g, roles := range groups {
			if slices.Contains(roles, legacyAdminRole) && !slices.Contains(roles, lanyard.RoleTenantAdmin) {
				groups[g] = append(roles, lanyard.RoleTenantAdmin)
				changed = append(changed, g)
			}
		}
		if len(changed) == 0 {
			continue
		}
		sort.Strings(changed)
		raw, err := json.Marshal(groups)
		if err != nil {
			return nil, err
		}
		sso["group_roles"] = raw
		all, err := json.Marshal(sso)
		if err != nil {
			return nil, err
		}
		if _, err := tx.tx.ExecContext(ctx, `UPDATE tenants SET sso_settings = $1 WHERE id = $2`, string(all), t.id); err != nil {
			return nil, err
		}
		err = note(lanyard.AuditEvent{TenantID: t.id, Subject: t.slug,
			Message: fmt.Sprintf("tenant %s: the IdP groups %s mapped to the role admin; they now also map to %s, so their members stay tenant administrators of %s (and nothing more)",
				t.slug, strings.Join(changed, ", "), lanyard.RoleTenantAdmin, t.slug)})
		if err != nil {
			return nil, err
		}
	}

	type tokenRow struct {
		id              int64
		name, createdBy string
	}
	var tokens []tokenRow
	rows, err = tx.tx.QueryContext(ctx, `SELECT id, name, created_by FROM api_tokens WHERE revoked_at = 0 ORDER BY id`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var t tokenRow
		if err := rows.Scan(&t.id, &t.name, &t.createdBy); err != nil {
			rows.Close()
			return nil, err
		}
		tokens = append(tokens, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, t := range tokens {
		if t.createdBy == "cli" || t.createdBy == "system" {
			continue // the CLI's tokens stay global, as the CLI is operator-level
		}
		var ids []int64
		rows, err := tx.tx.QueryContext(ctx, `SELECT u.id FROM users u JOIN user_roles r ON r.user_id = u.id
			WHERE u.login = $1 AND r.role = $2 AND r.source = $3`, t.createdBy, lanyard.RoleOperator, string(lanyard.RoleManual))
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(ids) == 1 {
			if _, err := tx.tx.ExecContext(ctx, `UPDATE api_tokens SET creator_id = $1 WHERE id = $2`, ids[0], t.id); err != nil {
				return nil, err
			}
			err = note(lanyard.AuditEvent{Subject: t.name,
				Message: fmt.Sprintf("API token %s: bounded by the rights of its creator, operator %s", t.name, t.createdBy)})
		} else {
			if _, err := tx.tx.ExecContext(ctx, `UPDATE api_tokens SET revoked_at = $1 WHERE id = $2`, toNanos(tx.now()), t.id); err != nil {
				return nil, err
			}
			err = note(lanyard.AuditEvent{Subject: t.name,
				Message: fmt.Sprintf("API token %s revoked: its creator %q is not one operator, so its rights cannot be bounded; an administrator creates a new one", t.name, t.createdBy)})
		}
		if err != nil {
			return nil, err
		}
	}
	return notes, nil
}
