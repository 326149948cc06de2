package web

import (
	"net/http"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// TestAPIDeletes deletes a user and a tenant through the API: the read
// scope may not, a tenant needs ?confirm= with its slug, the default tenant
// stays, and the audit trail names the token.
func TestAPIDeletes(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		ctx := t.Context()
		_, writerToken, err := e.admin.CreateAPIToken(ctx, "root", "provisioning", []string{"write"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, readerToken, err := e.admin.CreateAPIToken(ctx, "root", "dashboards", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		writer, reader := e.apiClient(writerToken), e.apiClient(readerToken)
		acme := e.ssoTenant("acme")
		bob := e.addUserIn(acme, "bob", "")
		e.addUserIn(acme, "carol", "")

		_, err = reader.DeleteUser(ctx, "acme", "bob")
		reader.check(t, "read token deleting", err, http.StatusForbidden)
		_, err = writer.DeleteUser(ctx, "acme", "nobody")
		writer.check(t, "unknown user", err, http.StatusNotFound)
		out, err := writer.DeleteUser(ctx, "acme", "BOB")
		writer.check(t, "delete bob", err, http.StatusOK)
		if out.Deleted != "bob" {
			t.Errorf("deleted %q", out.Deleted)
		}
		if _, err := e.store.User(ctx, bob.ID); !isNotFound(err) {
			t.Errorf("bob still exists: %v", err)
		}

		for _, confirm := range []string{"", "acm", "default"} {
			_, err = writer.DeleteTenant(ctx, "acme", confirm)
			writer.check(t, "tenant deletion confirmed with "+confirm, err, http.StatusBadRequest)
		}
		_, err = writer.DeleteTenant(ctx, "default", "default")
		writer.check(t, "the default tenant", err, http.StatusBadRequest)
		_, err = writer.DeleteTenant(ctx, "acme", "acme")
		writer.check(t, "delete acme", err, http.StatusOK)
		if _, err := e.store.Tenant(ctx, "acme"); !isNotFound(err) {
			t.Errorf("acme still exists: %v", err)
		}
		for _, action := range []string{"user.delete", "tenant.delete"} {
			evs := e.auditEvents(action)
			if len(evs) != 1 || evs[0].Actor != "api:provisioning" || evs[0].Outcome != lanyard.OutcomeSuccess {
				t.Errorf("%s events: %+v", action, evs)
			}
		}
	})
}
