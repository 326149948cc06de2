package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// TestAdminDeletes deletes a user and a tenant from the admin UI, through
// their confirmation pages: the forms need the CSRF token, a tenant its
// slug typed, the signed-in account and the default tenant cannot go; the
// deleted accounts' sessions stop working at once and the audit trail says
// who deleted what.
func TestAdminDeletes(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		ctx := context.Background()
		root := e.addUser("root", "correct horse battery", lanyard.RoleOperator)
		acme := e.ssoTenant("acme")
		bob := e.addUserIn(acme, "bob", "")
		carol := e.addUserIn(acme, "carol", "")
		sessions := map[string]*http.Client{}
		for _, u := range []lanyard.User{bob, carol} {
			id, _, err := e.server.sessions.Open(ctx, acme, u, lanyard.SessionSSO, sessionMeta())
			if err != nil {
				t.Fatal(err)
			}
			c := e.client()
			base, _ := url.Parse(e.http.URL)
			c.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
			sessions[u.Login] = c
		}
		signedIn := func(login string) bool {
			r := e.get(sessions[login], "/lanyard/session")
			return r.StatusCode == http.StatusOK && strings.Contains(r.body, `"signed_in":true`)
		}
		if !signedIn("bob") || !signedIn("carol") {
			t.Fatal("sessions do not work before the deletions")
		}

		// A signed-in user who is no administrator gets neither the
		// confirmation pages nor the deletions.
		for _, p := range []string{"/admin/tenants/acme/users/bob/delete", "/admin/tenants/acme/delete"} {
			if r := e.get(sessions["carol"], p); r.StatusCode != http.StatusForbidden {
				t.Errorf("non-administrator GET %s: %d", p, r.StatusCode)
			}
			if r := e.post(sessions["carol"], p, url.Values{"confirm": {"acme"}}); r.StatusCode != http.StatusForbidden {
				t.Errorf("non-administrator POST %s: %d", p, r.StatusCode)
			}
		}

		c := e.client()
		e.mustLogin(c, "root", "correct horse battery")

		// The user page offers the deletion; its confirmation page says
		// what goes.
		if r := e.get(c, "/admin/tenants/acme/users/bob"); !strings.Contains(r.body, `href="/admin/tenants/acme/users/bob/delete"`) {
			t.Fatalf("user page without the delete link:\n%s", r.body)
		}
		confirm := e.get(c, "/admin/tenants/acme/users/bob/delete")
		if confirm.StatusCode != http.StatusOK || !strings.Contains(confirm.body, "Delete the account bob?") || !strings.Contains(confirm.body, "1 live session") {
			t.Fatalf("confirmation page: %d\n%s", confirm.StatusCode, confirm.body)
		}
		csrf := e.csrfToken(confirm)
		if r := e.post(c, "/admin/tenants/acme/users/bob/delete", url.Values{}); r.StatusCode != http.StatusForbidden {
			t.Errorf("delete without the CSRF token: %d", r.StatusCode)
		}
		if _, err := e.store.User(ctx, bob.ID); err != nil {
			t.Fatal("a forged form deleted bob")
		}
		r := e.post(c, "/admin/tenants/acme/users/bob/delete", url.Values{csrfField: {csrf}})
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/tenants/acme/users?") {
			t.Fatalf("delete bob: %d to %q\n%s", r.StatusCode, r.Header.Get("Location"), r.body)
		}
		if _, err := e.store.User(ctx, bob.ID); !isNotFound(err) {
			t.Errorf("bob still exists: %v", err)
		}
		// A session check is answered from memory for up to the cache
		// TTL, as after any change on another node.
		e.clock.Advance(session.DefaultCacheTTL + time.Second)
		if signedIn("bob") {
			t.Error("bob's session still works after the deletion")
		}
		if !signedIn("carol") {
			t.Error("carol's session ended with bob's deletion")
		}
		if ev := e.auditEvents("user.delete"); len(ev) != 1 || ev[0].Actor != "root" || ev[0].Subject != "bob" || ev[0].UserID != bob.ID {
			t.Errorf("user.delete events: %+v", ev)
		}

		// The signed-in account cannot delete itself.
		if r := e.post(c, "/admin/tenants/default/users/root/delete", url.Values{csrfField: {csrf}}); r.StatusCode != http.StatusBadRequest {
			t.Errorf("self-deletion: %d", r.StatusCode)
		}
		if _, err := e.store.User(ctx, root.ID); err != nil {
			t.Errorf("root deleted itself: %v", err)
		}

		// A tenant: the slug must be typed; the default tenant stays.
		if r := e.get(c, "/admin/tenants/acme"); !strings.Contains(r.body, `href="/admin/tenants/acme/delete"`) {
			t.Fatalf("tenant page without the delete link")
		}
		if r := e.get(c, "/admin/tenants/default"); strings.Contains(r.body, `href="/admin/tenants/default/delete"`) {
			t.Error("the default tenant offers its deletion")
		}
		tconfirm := e.get(c, "/admin/tenants/acme/delete")
		if tconfirm.StatusCode != http.StatusOK || !strings.Contains(tconfirm.body, `name="confirm"`) || !strings.Contains(tconfirm.body, "1 account(s)") {
			t.Fatalf("tenant confirmation page: %d\n%s", tconfirm.StatusCode, tconfirm.body)
		}
		for _, typed := range []string{"", "acm", "ACME ", "default"} {
			if r := e.post(c, "/admin/tenants/acme/delete", url.Values{csrfField: {csrf}, "confirm": {typed}}); r.StatusCode != http.StatusBadRequest {
				t.Errorf("confirm %q: %d", typed, r.StatusCode)
			}
		}
		if r := e.post(c, "/admin/tenants/default/delete", url.Values{csrfField: {csrf}, "confirm": {"default"}}); r.StatusCode != http.StatusBadRequest {
			t.Errorf("delete the default tenant: %d", r.StatusCode)
		}
		r = e.post(c, "/admin/tenants/acme/delete", url.Values{csrfField: {csrf}, "confirm": {"acme"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("delete acme: %d\n%s", r.StatusCode, r.body)
		}
		if _, err := e.store.Tenant(ctx, "acme"); !isNotFound(err) {
			t.Errorf("acme still exists: %v", err)
		}
		e.clock.Advance(session.DefaultCacheTTL + time.Second)
		if signedIn("carol") {
			t.Error("carol's session still works after her tenant's deletion")
		}
		if ev := e.auditEvents("tenant.delete"); len(ev) != 1 || ev[0].Actor != "root" || ev[0].TenantID != acme.ID {
			t.Errorf("tenant.delete events: %+v", ev)
		}
		if r := e.get(c, "/admin/tenants/acme"); r.StatusCode != http.StatusNotFound {
			t.Errorf("deleted tenant's page: %d", r.StatusCode)
		}
	})
}

func isNotFound(err error) bool { return lanyard.ErrorKind(err) == lanyard.KindNotFound }
