package sqlstore_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// openUnmigrated opens an empty database of the engine.
func openUnmigrated(t *testing.T, engine string) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	var db *sqlstore.DB
	var err error
	switch engine {
	case "sqlite":
		db, err = sqlite.Open(ctx, filepath.Join(t.TempDir(), "lanyard.db"))
	case "postgres":
		db, err = postgres.Open(ctx, testdb.PostgresURL(t))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestUpgradeAdministrators builds a database of version 9 holding today's
// "admin" accounts, group mappings and API tokens, upgrades it, and checks
// the operators and tenant administrators it gives, what it says, and that
// the rights follow (lanyard.PrincipalOf, lanyard.TokenPrincipal).
func TestUpgradeAdministrators(t *testing.T) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) { testUpgradeAdministrators(t, engine) })
	}
}

func testUpgradeAdministrators(t *testing.T, engine string) {
	ctx := context.Background()
	db := openUnmigrated(t, engine)
	if _, err := db.MigrateTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) int64 {
		t.Helper()
		var id int64
		if err := db.Pools().Write.QueryRowContext(ctx, q, args...).Scan(&id); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return id
	}
	ssoOf := func(groups map[string][]string) string {
		b, err := json.Marshal(lanyard.SSOSettings{Enabled: true, JIT: true, GroupRoles: groups, NewUser: lanyard.NewUserDefaults{Roles: []string{"admin"}}})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	tenant := func(slug string, groups map[string][]string) int64 {
		return exec(`INSERT INTO tenants (slug, display_name, sso_settings, created_at, updated_at) VALUES ($1, $2, $3, 1, 1) RETURNING id`, slug, slug, ssoOf(groups))
	}
	acme := tenant("acme", map[string][]string{"admins": {"admin"}, "staff": {"staff"}, "ops": {"admin", "ops"}})
	globex := tenant("globex", nil)
	user := func(tenantID int64, login, source string, roles ...lanyard.RoleGrant) int64 {
		id := exec(`INSERT INTO users (tenant_id, login, login_lower, email, email_lower, first_name, last_name, search_text, status, locked,
			login_method, web_access, source, idp_sourced, password_hash, auto_login, created_at, updated_at, last_login_at)
			VALUES ($1, $2, $3, '', '', '', '', $3, 'active', $4, 'password', $5, $6, $7, '', $4, 1, 1, 0) RETURNING id`,
			tenantID, login, strings.ToLower(login), false, true, source, source == "idp")
		for _, g := range roles {
			exec(`INSERT INTO user_roles (user_id, role, source) VALUES ($1, $2, $3) RETURNING user_id`, id, g.Role, string(g.Source))
		}
		return id
	}
	manual := func(r string) lanyard.RoleGrant { return lanyard.RoleGrant{Role: r, Source: lanyard.RoleManual} }
	fromIdP := func(r string) lanyard.RoleGrant { return lanyard.RoleGrant{Role: r, Source: lanyard.RoleIdP} }
	root := user(acme, "root", "local", manual("admin"))                        // break-glass admin made by the CLI
	alice := user(acme, "alice", "idp", fromIdP("admin"), fromIdP("staff"))     // admin through group admins
	jit := user(acme, "jit", "idp", manual("admin"))                            // JIT account with the default role admin
	ldap := user(globex, "lee", "ldap", manual("admin"), fromIdP("admin"))      // LDAP-owned account
	plain := user(globex, "bob", "local", manual("staff"))                      // no admin at all
	root2 := user(globex, "root", "local", manual("admin"), manual("reporter")) // a second "root", in another tenant
	token := func(name, createdBy string) int64 {
		return exec(`INSERT INTO api_tokens (name, hash, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at)
			VALUES ($1, $2, 'lyd_x', 'read write', $3, 1, 0, 0, 0) RETURNING id`, name, []byte(strings.Repeat(name[:1], 32)), createdBy)
	}
	cliToken := token("ci", "cli")
	aliceToken := token("alice-token", "alice")
	rootToken := token("root-token", "root") // two operators are called root: unbounded, revoked
	chained := token("x-chained", "api:ci")

	notes, err := db.MigrateNotes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	all := strings.Join(notes, "\n")
	for _, want := range []string{
		"account root of tenant acme (source local) held the role admin: it is now an operator",
		"account root of tenant globex (source local) held the role admin: it is now an operator",
		"account alice of tenant acme (source idp) held the role admin: it is now a tenant administrator of acme (granted by the IdP",
		"account jit of tenant acme (source idp) held the role admin: it is now a tenant administrator of acme",
		"account lee of tenant globex (source ldap) held the role admin: it is now a tenant administrator of globex",
		"tenant acme: the IdP groups admins, ops mapped to the role admin; they now also map to lanyard:tenant-admin",
		"API token alice-token revoked",
		"API token root-token revoked",
		"API token x-chained revoked",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("the upgrade does not say %q; it says:\n%s", want, all)
		}
	}
	if len(notes) != 9 {
		t.Errorf("%d notes, want 9:\n%s", len(notes), all)
	}
	evs, err := db.AuditEvents(ctx, lanyard.AuditFilter{Action: sqlstore.UpgradeAction, Limit: 100})
	if err != nil || len(evs) != len(notes) {
		t.Fatalf("%d audit events (%v), want one per note (%d)", len(evs), err, len(notes))
	}

	// Who administers what now.
	principal := func(id int64) lanyard.Principal {
		u, err := db.User(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		p := lanyard.PrincipalOf(u)
		p.UserID, p.Login = 0, ""
		return p
	}
	for _, c := range []struct {
		name string
		id   int64
		want lanyard.Principal
	}{
		{"local root", root, lanyard.Principal{Operator: true}},
		{"IdP-granted alice", alice, lanyard.Principal{TenantID: acme}},
		{"JIT account", jit, lanyard.Principal{TenantID: acme}},
		{"LDAP account", ldap, lanyard.Principal{TenantID: globex}},
		{"no admin", plain, lanyard.Principal{}},
		{"second root", root2, lanyard.Principal{Operator: true}},
	} {
		if got := principal(c.id); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	// alice's grant came from the IdP and stays one: her next login keeps
	// it through the upgraded mapping, or removes it with the group.
	if u, _ := db.User(ctx, alice); !slices.Contains(u.Roles, lanyard.RoleGrant{Role: lanyard.RoleTenantAdmin, Source: lanyard.RoleIdP}) || !u.HasRole("admin") {
		t.Errorf("alice's roles: %+v", u.Roles)
	}
	ten, err := db.TenantByID(ctx, acme)
	if err != nil {
		t.Fatal(err)
	}
	if got := ten.SSO.GroupRoles; !slices.Equal(got["admins"], []string{"admin", lanyard.RoleTenantAdmin}) ||
		!slices.Equal(got["ops"], []string{"admin", "ops", lanyard.RoleTenantAdmin}) || !slices.Equal(got["staff"], []string{"staff"}) {
		t.Errorf("acme's group mappings: %v", got)
	}
	if !ten.SSO.Enabled || !ten.SSO.JIT || !slices.Equal(ten.SSO.NewUser.Roles, []string{"admin"}) {
		t.Errorf("other settings of acme changed: %+v", ten.SSO)
	}

	toks, err := db.APITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]lanyard.APIToken{}
	for _, tk := range toks {
		byID[tk.ID] = tk
	}
	if tk := byID[cliToken]; !tk.RevokedAt.IsZero() || tk.CreatorID != 0 || tk.TenantID != 0 || !lanyard.TokenPrincipal(tk, nil).Operator {
		t.Errorf("the CLI's token: %+v", tk)
	}
	for _, id := range []int64{aliceToken, rootToken, chained} {
		if tk := byID[id]; tk.RevokedAt.IsZero() {
			t.Errorf("token %s of an unbounded creator still live", tk.Name)
		}
	}

	// Run again: nothing more happens.
	if notes, err := db.MigrateNotes(ctx); err != nil || len(notes) != 0 {
		t.Errorf("second run: %v %v", notes, err)
	}
}

// TestUpgradeBoundsTokenOfOneOperator: a token whose creator is one
// operator gets that account as its creator, and stops with its rights.
func TestUpgradeBoundsTokenOfOneOperator(t *testing.T) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db := openUnmigrated(t, engine)
			if _, err := db.MigrateTo(ctx, 9); err != nil {
				t.Fatal(err)
			}
			var tid, uid, tokID int64
			w := db.Pools().Write
			if err := w.QueryRowContext(ctx, `INSERT INTO tenants (slug, display_name, sso_settings, created_at, updated_at) VALUES ('default', 'Default', '{}', 1, 1) RETURNING id`).Scan(&tid); err != nil {
				t.Fatal(err)
			}
			if err := w.QueryRowContext(ctx, `INSERT INTO users (tenant_id, login, login_lower, email, email_lower, first_name, last_name, search_text, status, locked,
				login_method, web_access, source, idp_sourced, password_hash, auto_login, created_at, updated_at, last_login_at)
				VALUES ($1, 'root', 'root', '', '', '', '', 'root', 'active', $2, 'password', $3, 'local', $2, '', $2, 1, 1, 0) RETURNING id`, tid, false, true).Scan(&uid); err != nil {
				t.Fatal(err)
			}
			if _, err := w.ExecContext(ctx, `INSERT INTO user_roles (user_id, role, source) VALUES ($1, 'admin', 'manual')`, uid); err != nil {
				t.Fatal(err)
			}
			if err := w.QueryRowContext(ctx, `INSERT INTO api_tokens (name, hash, prefix, scopes, created_by, created_at, expires_at, last_used_at, revoked_at)
				VALUES ('deploy', $1, 'lyd_x', 'write', 'root', 1, 0, 0, 0) RETURNING id`, []byte(strings.Repeat("d", 32))).Scan(&tokID); err != nil {
				t.Fatal(err)
			}
			notes, err := db.MigrateNotes(ctx)
			if err != nil || !strings.Contains(strings.Join(notes, "\n"), "API token deploy: bounded by the rights of its creator, operator root") {
				t.Fatalf("notes %q, %v", notes, err)
			}
			tok, err := db.APITokenByHash(ctx, []byte(strings.Repeat("d", 32)))
			if err != nil || tok.CreatorID != uid || !tok.RevokedAt.IsZero() {
				t.Fatalf("token %+v, %v", tok, err)
			}
			u, _ := db.User(ctx, uid)
			if !lanyard.TokenPrincipal(tok, &u).Operator {
				t.Error("the token of an operator is not an operator's")
			}
			u.Locked = true
			if lanyard.TokenPrincipal(tok, &u).IsAdmin() {
				t.Error("the token still works with its creator locked")
			}
		})
	}
}
