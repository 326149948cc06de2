package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/internal/slapdtest"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// The directory's precedence over SAML provisioning, through real SSO
// logins at SimpleSAMLphp, with accounts synchronised from a real slapd,
// on both engines: a synchronised user links to the directory's account
// and SAML overwrites none of its fields or roles; an unsynchronised user
// in the directory's scope is refused with the "not synchronized"
// message (unless the directory allows SAML JIT); a user out of scope is
// created by JIT as before.
func TestLDAPPrecedenceOverSAML(t *testing.T) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) {
			slapd := slapdtest.Start(t, slapdtest.Options{})
			slapd.Add(t, slapdtest.Fixture())
			users := []simplesamlphp.User{
				idpUser("alice", "alice@example.org", "IdP-Alice", "IdP-Archer", []string{"eng"}),
				idpUser("erin", "erin@example.org", "Erin", "Evans", nil),
				idpUser("oscar", "oscar@other.example", "Oscar", "Out", nil),
				idpUser("a.archer", "alice@example.org", "Alice", "Archer", nil),
				idpUser("bob", "bob@example.org", "Bob", "Baker", nil),
			}
			e := newSSOEnv(t, engine, users)
			acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer", "group_roles.admins=ops"}})
			ctx := context.Background()
			store := e.store.(ldapsync.Store)
			dir := lanyard.LDAPDirectory{TenantID: acme.ID, Enabled: true, URLs: []string{slapd.LDAPSURL}, CACertPEM: slapd.CACertPEM,
				BindDN: slapdtest.AdminDN, BindPassword: slapdtest.AdminPW, BaseDN: "ou=people," + slapdtest.BaseDN,
				GroupBaseDN: "ou=groups," + slapdtest.BaseDN, ScopeDomains: []string{"example.org"}}
			if err := store.PutLDAPDirectory(ctx, &dir, false); err != nil {
				t.Fatal(err)
			}
			e.server.tenants.Invalidate() // a configuration change: at once in this process
			sy := &ldapsync.Syncer{Store: store}
			if _, err := sy.Sync(ctx, acme, ldapsync.Options{Actor: "test"}); err != nil {
				t.Fatal(err)
			}
			before, _ := e.store.CountUsers(ctx, lanyard.UserFilter{TenantID: acme.ID})

			t.Run("synchronised user links, nothing overwritten", func(t *testing.T) {
				b := newBrowser()
				a := b.post(t, e.spLogin(b, "acme", "", "alice"))
				if a.status != http.StatusSeeOther || a.session == "" {
					t.Fatalf("ACS answered %d (session %q): %s", a.status, a.session, a.body)
				}
				u := e.user(acme, "alice")
				if u.Source != lanyard.SourceLDAP || u.FirstName != "Alice" || u.LastName != "Archer" {
					t.Fatalf("alice after the SSO login: %+v", u)
				}
				if u.HasRole("engineer") || !u.HasRole("ops") {
					t.Fatalf("alice's roles %v: the directory owns them (ops), SAML's engineer must not be added", u.Roles)
				}
				links, _ := e.store.Links(ctx, u.ID)
				if len(links) != 1 {
					t.Fatalf("links of alice: %+v", links)
				}
				if n, _ := e.store.CountUsers(ctx, lanyard.UserFilter{TenantID: acme.ID}); n != before {
					t.Fatalf("%d accounts after the login, %d before: a second account was made", n, before)
				}
			})

			t.Run("unsynchronised user in scope is refused", func(t *testing.T) {
				b := newBrowser()
				a := b.post(t, e.spLogin(b, "acme", "", "erin"))
				if a.status != http.StatusForbidden || a.session != "" {
					t.Fatalf("ACS answered %d (session %q)", a.status, a.session)
				}
				if !strings.Contains(a.body, "User &#39;erin&#39; is not synchronized with Lanyard. Please check with your administrator.") {
					t.Fatalf("refusal page does not say erin is not synchronized:\n%s", a.body)
				}
				if _, err := e.store.UserByLogin(ctx, acme.ID, "erin"); err == nil {
					t.Fatal("erin's account was created")
				}
				if logs := logText(e.logs); !strings.Contains(logs, `not synchronized with a Lanyard account of tenant \"acme\": the user is in the scope of the tenant's LDAP directory`) {
					t.Fatalf("no precise log line for erin:\n%s", logs)
				}
			})

			t.Run("user out of scope is created by JIT", func(t *testing.T) {
				b := newBrowser()
				a := b.post(t, e.spLogin(b, "acme", "", "oscar"))
				if a.status != http.StatusSeeOther {
					t.Fatalf("ACS answered %d: %s", a.status, a.body)
				}
				if u := e.user(acme, "oscar"); u.Source != lanyard.SourceIdP {
					t.Fatalf("oscar: %+v", u)
				}
			})

			t.Run("match by email, as configured", func(t *testing.T) {
				// By login, a.archer is nobody the directory knows.
				b := newBrowser()
				if a := b.post(t, e.spLogin(b, "acme", "", "a.archer")); a.status != http.StatusForbidden {
					t.Fatalf("ACS answered %d with match_by=login", a.status)
				}
				dir.MatchBy = lanyard.MatchByEmail
				if err := store.PutLDAPDirectory(ctx, &dir, false); err != nil {
					t.Fatal(err)
				}
				e.server.tenants.Invalidate() // a configuration change: at once in this process
				b = newBrowser()
				a := b.post(t, e.spLogin(b, "acme", "", "a.archer"))
				if a.status != http.StatusSeeOther || a.session == "" {
					t.Fatalf("ACS answered %d with match_by=email: %s", a.status, a.body)
				}
				alice := e.user(acme, "alice")
				links, _ := e.store.Links(ctx, alice.ID)
				if len(links) != 2 {
					t.Fatalf("alice's links: %+v (want her own and a.archer's)", links)
				}
				if _, err := e.store.UserByLogin(ctx, acme.ID, "a.archer"); err == nil {
					t.Fatal("a second account a.archer was made")
				}
			})

			t.Run("allow_jit lets SAML create an in-scope account", func(t *testing.T) {
				dir.AllowJIT = true
				if err := store.PutLDAPDirectory(ctx, &dir, false); err != nil {
					t.Fatal(err)
				}
				e.server.tenants.Invalidate() // a configuration change: at once in this process
				b := newBrowser()
				a := b.post(t, e.spLogin(b, "acme", "", "erin"))
				if a.status != http.StatusSeeOther {
					t.Fatalf("ACS answered %d: %s", a.status, a.body)
				}
			})

			t.Run("disabled in the directory: sessions end, logins refused", func(t *testing.T) {
				b := newBrowser()
				if a := b.post(t, e.spLogin(b, "acme", "", "bob")); a.status != http.StatusSeeOther {
					t.Fatalf("bob's login: %d %s", a.status, a.body)
				}
				bob := e.user(acme, "bob")
				if live, _ := e.store.UserSessions(ctx, bob.ID, time.Now()); len(live) != 1 {
					t.Fatalf("bob's sessions after his login: %d", len(live))
				}
				slapd.Modify(t, "dn: "+slapdtest.DN("bob")+"\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n\n")
				if _, err := sy.Sync(ctx, acme, ldapsync.Options{Actor: "test", Confirm: true}); err != nil {
					t.Fatal(err)
				}
				if live, _ := e.store.UserSessions(ctx, bob.ID, time.Now()); len(live) != 0 {
					t.Fatalf("bob's sessions after he was disabled: %d", len(live))
				}
				b = newBrowser()
				if a := b.post(t, e.spLogin(b, "acme", "", "bob")); a.status != http.StatusForbidden || a.session != "" {
					t.Fatalf("disabled bob's login: %d", a.status)
				}
			})
		})
	}
}

func logText(b *logBuffer) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// The admin UI's directory page, driven over HTTP as a browser would:
// the connection form (the password never shown back), "Test connection"
// with five sample users as mapped, a dry run, a sync and the history,
// and the precedence rules in words.
func TestLDAPAdminPages(t *testing.T) {
	slapd := slapdtest.Start(t, slapdtest.Options{})
	slapd.Add(t, slapdtest.Fixture()+slapdtest.PersonLDIF(slapdtest.Person{UID: "frank", Given: "Frank", Surname: "Fox"})+
		slapdtest.PersonLDIF(slapdtest.Person{UID: "grace", Given: "Grace", Surname: "Gray"}))
	e := newSSOEnv(t, "sqlite", nil)
	e.addTenant("acme", tenantOptions{settings: []string{"group_roles.staff=staff"}})
	b := newBrowser()
	e.signInAdmin(b)
	page := e.base + "/admin/tenants/acme/ldap"
	post := func(path string, form url.Values) (int, string) {
		t.Helper()
		_, body := b.get(t, page)
		m := csrfFieldPattern.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no CSRF field on %s:\n%s", page, body)
		}
		form.Set(csrfField, html.UnescapeString(m[1]))
		resp, err := b.follow.PostForm(e.base+path, form)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, readAll(resp)
	}

	status, body := b.get(t, page)
	if status != http.StatusOK || !strings.Contains(body, "No directory yet") {
		t.Fatalf("empty directory page: %d\n%s", status, body)
	}
	form := url.Values{
		"enabled": {"true"}, "urls": {slapd.URL}, "start_tls": {"true"}, "ca_cert_pem": {slapd.CACertPEM},
		"bind_dn": {slapdtest.AdminDN}, "bind_password": {slapdtest.AdminPW}, "base_dn": {"ou=people," + slapdtest.BaseDN},
		"group_base_dn": {"ou=groups," + slapdtest.BaseDN}, "login_attr": {"uid"}, "max_deactivate_percent": {"10"},
		"scope_domains": {"example.org"}, "match_by": {"login"}, "groups": {"memberOf"}, "incremental": {"modifyTimestamp"},
	}
	if status, body = post("/admin/tenants/acme/ldap", form); status != http.StatusOK || !strings.Contains(body, "Directory settings saved") {
		t.Fatalf("save: %d\n%s", status, body)
	}
	if strings.Contains(body, slapdtest.AdminPW) {
		t.Fatal("the page shows the bind password")
	}
	for _, rule := range []string{"the logins and emails in example.org", "refused with &#34;User &#39;...&#39; is not synchronized&#34;", "the directory owns their roles"} {
		if !strings.Contains(body, rule) {
			t.Errorf("the page does not state the rule %q", rule)
		}
	}
	bad := url.Values{"urls": {"http://nope"}, "base_dn": {""}}
	if status, body = post("/admin/tenants/acme/ldap", bad); status != http.StatusUnprocessableEntity || !strings.Contains(body, "the scheme must be ldap or ldaps") || !strings.Contains(body, "base_dn: required") {
		t.Fatalf("invalid settings: %d\n%s", status, body)
	}

	_, body = post("/admin/tenants/acme/ldap/test", url.Values{})
	if !strings.Contains(body, "Connected to "+slapd.URL) || strings.Count(body, "<tr><th scope=\"row\">") < 5 {
		t.Fatalf("Test connection does not show five users:\n%s", body)
	}
	if !strings.Contains(body, "<th scope=\"row\">dave</th><td>dave@example.org</td><td>Dave</td><td>Dyer</td><td>active</td><td>engineers, staff</td><td>staff</td>") {
		t.Fatalf("dave is not shown as mapped (nested group, role):\n%s", body)
	}

	_, body = post("/admin/tenants/acme/ldap/sync", url.Values{"mode": {"dry_run"}})
	if !strings.Contains(body, "dry run, nothing changed") || !strings.Contains(body, "create grace") {
		t.Fatalf("dry run report:\n%s", body)
	}
	if n, _ := e.store.CountUsers(context.Background(), lanyard.UserFilter{Source: lanyard.SourceLDAP}); n != 0 {
		t.Fatalf("the dry run created %d accounts", n)
	}
	_, body = post("/admin/tenants/acme/ldap/sync", url.Values{"mode": {"full"}})
	if !strings.Contains(body, "5 created") {
		t.Fatalf("sync:\n%s", body)
	}
	_, body = b.get(t, page)
	if strings.Count(body, "/admin/tenants/acme/ldap/runs/") < 2 {
		t.Fatalf("history does not list both runs:\n%s", body)
	}
}
