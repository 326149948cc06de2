package web

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// TestIdPGrantsTenantAdministratorOnly logs in through a real IdP
// (SimpleSAMLphp): a group mapping makes alice an administrator of her
// tenant and of nothing else, even when the stored settings (written past
// the service's checks) map a group, or the defaults of new accounts, to
// the operator role; once the mapping is gone, the next login takes the
// role away and the admin pages with it.
func TestIdPGrantsTenantAdministratorOnly(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		users := []simplesamlphp.User{
			idpUser("alice", "alice@acme.example", "Alice", "A", []string{"admins", "ops"}),
			idpUser("eve", "eve@acme.example", "Eve", "E", []string{"ops"}),
		}
		e := newSSOEnv(t, opts.engine, users)
		ctx := context.Background()
		acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.admins=admin;" + lanyard.RoleTenantAdmin}})
		e.addTenant("globex", tenantOptions{})
		if _, err := e.store.UpdateTenant(ctx, acme.ID, func(t *lanyard.Tenant) error {
			t.SSO.GroupRoles["ops"] = []string{"ops", lanyard.RoleOperator, "Lanyard:Operator"}
			t.SSO.NewUser.Roles = []string{lanyard.RoleOperator}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		e.server.tenants.Invalidate()

		login := func(user string) *browser {
			t.Helper()
			b := newBrowser()
			if a := b.post(t, e.spLogin(b, "acme", "", user)); a.status != http.StatusSeeOther || a.session == "" {
				t.Fatalf("SSO login of %s: %d\n%s", user, a.status, a.body)
			}
			return b
		}
		alice := login("alice")
		u := e.user(acme, "alice")
		if !slices.Contains(u.Roles, lanyard.RoleGrant{Role: lanyard.RoleTenantAdmin, Source: lanyard.RoleIdP}) || u.HasRole(lanyard.RoleOperator) || u.HasRole("Lanyard:Operator") {
			t.Errorf("alice's roles after the login: %+v", u.Roles)
		}
		if p := lanyard.PrincipalOf(u); p.Operator || p.TenantID != acme.ID {
			t.Errorf("alice administers %+v", p)
		}
		for path, want := range map[string]int{
			"/admin/":                      http.StatusOK,
			"/admin/tenants/acme/users":    http.StatusOK,
			"/admin/tenants/globex/users":  http.StatusForbidden,
			"/admin/tenants/default":       http.StatusForbidden,
			"/admin/routes":                http.StatusForbidden,
			"/admin/tenants/missing/users": http.StatusForbidden,
		} {
			if got, body := alice.get(t, e.base+path); got != want {
				t.Errorf("alice GET %s: %d, want %d\n%.300s", path, got, want, body)
			}
		}

		eve := login("eve")
		if u := e.user(acme, "eve"); lanyard.PrincipalOf(u).IsAdmin() || u.HasRole(lanyard.RoleOperator) {
			t.Errorf("eve's roles: %+v", u.Roles)
		}
		if got, _ := eve.get(t, e.base+"/admin/"); got != http.StatusForbidden {
			t.Errorf("eve GET /admin/: %d, want 403", got)
		}

		// The tenant stops mapping admins to the role: alice's next login
		// removes it, and her open session loses the admin pages.
		e.setTenant("acme", "group_roles.admins=admin")
		e.server.tenants.Invalidate()
		login("alice")
		if u := e.user(acme, "alice"); u.HasRole(lanyard.RoleTenantAdmin) || !u.HasRole("admin") {
			t.Errorf("alice's roles after the mapping changed: %+v", u.Roles)
		}
		if got, _ := alice.get(t, e.base+"/admin/"); got != http.StatusForbidden {
			t.Errorf("alice without the group: GET /admin/ %d, want 403", got)
		}
	})
}
