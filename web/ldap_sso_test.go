package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

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

			t.Run("allow_jit lets SAML create an in-scope account", func(t *testing.T) {
				dir.AllowJIT = true
				if err := store.PutLDAPDirectory(ctx, &dir, false); err != nil {
					t.Fatal(err)
				}
				b := newBrowser()
				a := b.post(t, e.spLogin(b, "acme", "", "erin"))
				if a.status != http.StatusSeeOther {
					t.Fatalf("ACS answered %d: %s", a.status, a.body)
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
