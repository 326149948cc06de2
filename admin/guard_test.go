package admin

import (
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// Deleting a tenant is an operator's act whichever face asks: the tenant's
// own administrator is refused by the service, and the tenant stays.
func TestDeleteTenantNeedsOperator(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		tn := f.mustTenant(t, "acme")
		for _, p := range []lanyard.Principal{
			{UserID: 7, Login: "alice", TenantID: tn.ID},
			{UserID: 8, Login: "bob"},
		} {
			_, err := f.svc.DeleteTenant(lanyard.WithPrincipal(f.ctx, p), p.Login, "acme", "acme")
			wantError(t, err, lanyard.KindForbidden, "operators")
			if _, err := f.svc.Tenant(f.ctx, "acme"); err != nil {
				t.Fatalf("after a refused deletion by %s: %v", p.Login, err)
			}
		}
		if _, err := f.svc.DeleteTenant(lanyard.WithPrincipal(f.ctx, lanyard.Principal{UserID: 1, Login: "root", Operator: true}), "root", "acme", "acme"); err != nil {
			t.Fatalf("an operator deletes acme: %v", err)
		}
	})
}
