package login_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/login"
)

// twoQueries hides the store's one-query lookup by link or login, so that
// Resolve reads by link, then by login, as with any store.
type twoQueries struct{ login.Store }

// TestFindByLinkOrLogin: the one-query lookup of the real stores finds
// the same account, the same way, as a read by link followed by a read by
// login, over the family of cases: nothing matches, the link alone, the
// login alone (in any case), both naming one account, both naming two
// accounts (the link wins), and a link or login of another tenant.
func TestFindByLinkOrLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{})
		other := lanyard.Tenant{Slug: "other", DisplayName: "Other"}
		if err := store.CreateTenant(ctx, &other); err != nil {
			t.Fatal(err)
		}
		mk := func(tn lanyard.Tenant, name string, roles ...string) lanyard.User {
			u := lanyard.User{TenantID: tn.ID, Login: name, Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, WebAccess: true}
			for _, r := range roles {
				u.Roles = append(u.Roles, lanyard.RoleGrant{Role: r, Source: lanyard.RoleManual})
			}
			return addUser(t, store, u)
		}
		link := func(u lanyard.User, nameID string) {
			if err := store.LinkUser(ctx, lanyard.Link{TenantID: u.TenantID, UserID: u.ID, IdPEntityID: idpID, NameID: nameID}); err != nil {
				t.Fatal(err)
			}
		}
		linkedOnly := mk(tenant, "linked-only", "staff", "wiki")
		link(linkedOnly, "nid-linked-only")
		mk(tenant, "login-only", "staff")
		both := mk(tenant, "both")
		link(both, "nid-both")
		winner := mk(tenant, "winner", "wiki")
		link(winner, "nid-winner")
		mk(tenant, "loser")
		stranger := mk(other, "stranger")
		link(stranger, "nid-stranger")

		cases := []struct {
			name, nameID, login string
			wantLogin, wantBy   string // "" when no account is found
		}{
			{"nothing", "nid-none", "nobody", "", ""},
			{"link alone", "nid-linked-only", "unknown", "linked-only", login.ByLink},
			{"login alone", "nid-none", "login-only", "login-only", login.ByLogin},
			{"login in another case", "nid-none", "LOGIN-Only", "login-only", login.ByLogin},
			{"link and login, one account", "nid-both", "both", "both", login.ByLink},
			{"link and login, two accounts", "nid-winner", "loser", "winner", login.ByLink},
			{"link of another tenant", "nid-stranger", "nobody", "", ""},
			{"login of another tenant", "nid-none", "stranger", "", ""},
		}
		for _, c := range cases {
			for _, s := range []login.Store{store, twoQueries{store}} {
				a := assertion(c.nameID, map[string][]string{"uid": {c.login}})
				res, err := svc.Resolve(ctx, tenant, a, login.Options{DryRun: true, In: s})
				if c.wantLogin == "" {
					refusal(t, err, login.ReasonNoAccount)
					continue
				}
				if err != nil {
					t.Fatalf("%s (%T): %v", c.name, s, err)
				}
				if res.User.Login != c.wantLogin || res.FoundBy != c.wantBy {
					t.Errorf("%s (%T): found %q by %s, want %q by %s", c.name, s, res.User.Login, res.FoundBy, c.wantLogin, c.wantBy)
				}
				want, err := store.UserByLogin(ctx, tenant.ID, c.wantLogin)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := strings.Join(res.User.RoleNames(), ","), strings.Join(want.RoleNames(), ","); got != want {
					t.Errorf("%s (%T): roles %v, want %v", c.name, s, got, want)
				}
			}
		}
	})
}

// Simultaneous first logins of one person, each in its transaction as at
// the ACS, end with one account and one link: the loser's insert finds
// the winner's row, reports the conflict without failing the transaction
// (no savepoint holds it), and the retry finds the winner's account.
func TestConcurrentFirstLoginsInTransactions(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true, NewUser: lanyard.NewUserDefaults{Roles: []string{"staff"}}})
		a := assertion("nid-race", map[string][]string{"uid": {"racer"}, "mail": {"racer@example.com"}})
		id := raceFirstLogins(t, store, tenant, func() (id int64, err error) {
			err = store.Atomic(ctx, func(tx lanyard.Store) error {
				res, err := svc.Resolve(ctx, tenant, a, login.Options{In: tx})
				id = res.User.ID
				return err
			})
			return id, err
		})
		if u, err := store.User(ctx, id); err != nil || !u.HasRole("staff") {
			t.Fatalf("the account: roles %v, %v", u.RoleNames(), err)
		}
	})
}
