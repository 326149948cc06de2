package login_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/login"
)

const (
	idpA = "https://idp-a.example.com/metadata"
	idpB = "https://idp-b.example.org/metadata"
)

// TestLinkBelongsToOneIdP: in a tenant with two IdPs, an identity of the
// second IdP that matches an account of the first (by login or email) does
// not take it over unless the tenant's link policy names that IdP and that
// attribute; the account is left as it was, and the refusal says why.
func TestLinkBelongsToOneIdP(t *testing.T) {
	for _, tc := range []struct {
		name     string
		settings lanyard.SSOSettings
		linked   bool   // alice has a link to IdP A
		from     string // the IdP asserting
		attrs    map[string][]string
		nameID   string
		allowed  bool
		foundBy  string
	}{
		{"other IdP by login", lanyard.SSOSettings{}, true, idpB, map[string][]string{"uid": {"alice"}}, "b-1", false, ""},
		{"other IdP by login, other case", lanyard.SSOSettings{}, true, idpB, map[string][]string{"uid": {"ALICE"}}, "b-1", false, ""},
		{"other IdP by email", lanyard.SSOSettings{LinkByEmail: true}, true, idpB, map[string][]string{"uid": {"a.l"}, "mail": {"alice@example.com"}}, "b-1", false, ""},
		{"other IdP, login via NameID", lanyard.SSOSettings{}, true, idpB, nil, "alice", false, ""},
		{"never linked, two IdPs", lanyard.SSOSettings{}, false, idpB, map[string][]string{"uid": {"alice"}}, "b-1", false, ""},
		{"policy lets B link by login", lanyard.SSOSettings{LinkIdPs: []lanyard.IdPLinkRule{{IdP: idpB, By: "login"}}}, true, idpB, map[string][]string{"uid": {"alice"}}, "b-1", true, login.ByLogin},
		{"policy lets every IdP link by login", lanyard.SSOSettings{LinkIdPs: []lanyard.IdPLinkRule{{IdP: "*", By: "login"}}}, false, idpB, map[string][]string{"uid": {"alice"}}, "b-1", true, login.ByLogin},
		{"policy by email does not cover login", lanyard.SSOSettings{LinkIdPs: []lanyard.IdPLinkRule{{IdP: idpB, By: "email"}}}, true, idpB, map[string][]string{"uid": {"alice"}}, "b-1", false, ""},
		{"policy by login does not cover email", lanyard.SSOSettings{LinkByEmail: true, LinkIdPs: []lanyard.IdPLinkRule{{IdP: idpB, By: "login"}}}, true, idpB, map[string][]string{"uid": {"a.l"}, "mail": {"alice@example.com"}}, "b-1", false, ""},
		{"policy by email", lanyard.SSOSettings{LinkByEmail: true, LinkIdPs: []lanyard.IdPLinkRule{{IdP: idpB, By: "email"}}}, true, idpB, map[string][]string{"uid": {"a.l"}, "mail": {"alice@example.com"}}, "b-1", true, login.ByEmail},
		{"policy for another IdP", lanyard.SSOSettings{LinkIdPs: []lanyard.IdPLinkRule{{IdP: idpA, By: "login"}}}, true, idpB, map[string][]string{"uid": {"alice"}}, "b-1", false, ""},
		{"same IdP, new NameID", lanyard.SSOSettings{}, true, idpA, map[string][]string{"uid": {"alice"}}, "a-2", true, login.ByLogin},
		{"same IdP, its link", lanyard.SSOSettings{}, true, idpA, map[string][]string{"uid": {"alice"}}, "a-1", true, login.ByLink},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, store lanyard.Store) {
				ctx := context.Background()
				svc, tenant := setup(t, store, tc.settings)
				for _, idp := range []string{idpA, idpB} {
					c := lanyard.IdPConnection{TenantID: tenant.ID, EntityID: idp, MetadataXML: "<md/>"}
					if err := store.PutIdP(ctx, &c); err != nil {
						t.Fatal(err)
					}
				}
				alice := addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "alice", Email: "alice@example.com",
					FirstName: "Alice", LoginMethod: lanyard.LoginSSO, WebAccess: true,
					Roles: []lanyard.RoleGrant{{Role: "viewer", Source: lanyard.RoleIdP}}})
				if tc.linked {
					if err := store.LinkUser(ctx, lanyard.Link{TenantID: tenant.ID, UserID: alice.ID, IdPEntityID: idpA, NameID: "a-1"}); err != nil {
						t.Fatal(err)
					}
				}
				before, _ := store.User(ctx, alice.ID)
				attrs := map[string][]string{"givenName": {"Mallory"}, "mail": {"mallory@evil.example"}, "groups": {"admins"}}
				for k, v := range tc.attrs {
					attrs[k] = v
				}
				a := assertion(tc.nameID, attrs)
				a.IdPEntityID = tc.from
				tenant.SSO.GroupRoles = map[string][]string{"admins": {"admin"}}
				res, err := svc.Resolve(ctx, tenant, a, login.Options{})
				if tc.allowed {
					if err != nil || res.User.ID != alice.ID || res.FoundBy != tc.foundBy {
						t.Fatalf("want alice found by %s, got %+v, %v", tc.foundBy, res, err)
					}
					return
				}
				r := refusal(t, err, login.ReasonLinkNotAllowed)
				if r.UserID != alice.ID || !strings.Contains(r.AdminMessage, tc.from) || !strings.Contains(r.AdminMessage, "link_idps=") ||
					!strings.Contains(r.UserMessage, "another identity provider") {
					t.Errorf("refusal does not explain itself: %+v", r)
				}
				after, _ := store.User(ctx, alice.ID)
				if after.Email != before.Email || after.FirstName != before.FirstName || after.HasRole("admin") || !after.UpdatedAt.Equal(before.UpdatedAt) {
					t.Errorf("the refused IdP changed the account: %+v", after)
				}
				if _, err := store.UserByLink(ctx, tenant.ID, tc.from, tc.nameID); err == nil {
					t.Error("the refused identity was linked")
				}
			})
		})
	}
}

// TestAttributesValidatedOnEveryLogin: the values an IdP sends are checked
// at every login, not only at creation: an email that is no address is
// not stored over a good one, names lose control characters, and a login
// name no account can have is refused.
func TestAttributesValidatedOnEveryLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true})
		first := assertion("n-bob", map[string][]string{"uid": {"bob"}, "mail": {"bob@example.com"}, "givenName": {"Bob"}})
		if _, err := svc.Resolve(ctx, tenant, first, login.Options{}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			mail, given         string
			wantMail, wantGiven string
		}{
			{"not an address", "Bob", "bob@example.com", "Bob"},
			{"Bob <bob@example.com>", "Bob", "bob@example.com", "Bob"},
			{"bob@example.com\r\nBcc: x@evil.example", "Bob", "bob@example.com", "Bob"},
			{"bob\u202e@example.com", "Bob", "bob@example.com", "Bob"},
			{"bob@example.com", "Bob\r\nX-Injected: 1", "bob@example.com", "Bob X-Injected: 1"},
			{"bob@example.com", "\x1b[31mBob\x1b[0m", "bob@example.com", "[31mBob [0m"},
			{"bob@example.com", strings.Repeat("B", 300), "bob@example.com", strings.Repeat("B", 200)},
			{"robert@example.com", "Robert", "robert@example.com", "Robert"},
		} {
			a := assertion("n-bob", map[string][]string{"uid": {"bob"}, "mail": {tc.mail}, "givenName": {tc.given}})
			res, err := svc.Resolve(ctx, tenant, a, login.Options{})
			if err != nil {
				t.Fatalf("%q/%q: %v", tc.mail, tc.given, err)
			}
			u, _ := store.User(ctx, res.User.ID)
			if u.Email != tc.wantMail || u.FirstName != tc.wantGiven {
				t.Errorf("%q/%q: stored %q/%q, want %q/%q", tc.mail, tc.given, u.Email, u.FirstName, tc.wantMail, tc.wantGiven)
			}
			// Whatever the IdP sent, the account stays valid: an admin
			// can change it.
			if err := u.Validate(); err != nil {
				t.Errorf("%q/%q: the account no longer validates: %v", tc.mail, tc.given, err)
			}
		}
		for _, bad := range []string{"bo\r\nb", "bo\x00b", "b ob", "bob\u202e", strings.Repeat("x", 257), "bo\tb"} {
			a := assertion("n-"+bad, map[string][]string{"uid": {bad}})
			_, err := svc.Resolve(ctx, tenant, a, login.Options{})
			refusal(t, err, login.ReasonInvalidLogin)
		}
	})
}
