package login_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/login"
)

const idpID = "https://idp.example.com/metadata"

var now = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func setup(t *testing.T, store lanyard.Store, sso lanyard.SSOSettings) (*login.Service, lanyard.Tenant) {
	t.Helper()
	sso.Enabled = true
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme", SSO: sso}
	if err := store.CreateTenant(context.Background(), &tenant); err != nil {
		t.Fatal(err)
	}
	return &login.Service{Store: store, Now: func() time.Time { return now }}, tenant
}

func assertion(nameID string, attrs map[string][]string) login.Assertion {
	a := login.Assertion{IdPEntityID: idpID, NameID: nameID, NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"}
	for n, vs := range attrs {
		a.Attributes = append(a.Attributes, login.Attribute{Name: n, Values: vs})
	}
	return a
}

func addUser(t *testing.T, store lanyard.Store, u lanyard.User) lanyard.User {
	t.Helper()
	u.Normalize()
	if err := store.CreateUser(context.Background(), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func refusal(t *testing.T, err error, want login.Reason) *login.Refusal {
	t.Helper()
	var r *login.Refusal
	if !errors.As(err, &r) {
		t.Fatalf("got %v, want refusal %s", err, want)
	}
	if r.Reason != want {
		t.Fatalf("refusal %s (%s), want %s", r.Reason, r.AdminMessage, want)
	}
	return r
}

func TestNoAccountWithoutJIT(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		svc, tenant := setup(t, store, lanyard.SSOSettings{})
		_, err := svc.Resolve(context.Background(), tenant, assertion("n1", map[string][]string{"uid": {"zoe"}}), login.Options{})
		r := refusal(t, err, login.ReasonNoAccount)
		if !strings.Contains(r.AdminMessage, idpID) || !strings.Contains(r.AdminMessage, "zoe") || !strings.Contains(r.AdminMessage, "jit=true") {
			t.Errorf("admin message lacks the user, the IdP or the fix: %s", r.AdminMessage)
		}
		if n, _ := store.CountUsers(context.Background(), lanyard.UserFilter{TenantID: tenant.ID}); n != 0 {
			t.Fatalf("%d accounts created without JIT", n)
		}
	})
}

func TestJITCreatesThenLinks(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true,
			GroupRoles: map[string][]string{"eng": {"developer"}},
			NewUser:    lanyard.NewUserDefaults{Roles: []string{"viewer"}}})
		a := assertion("n-alice", map[string][]string{"uid": {"alice"}, "mail": {"alice@example.com"}, "givenName": {"Alice"}, "sn": {"Liddell"}, "groups": {"eng"}})
		res, err := svc.Resolve(ctx, tenant, a, login.Options{})
		if err != nil {
			t.Fatal(err)
		}
		u := res.User
		if res.FoundBy != login.ByCreated || !res.NewLink || !u.IdPSourced || u.Source != lanyard.SourceIdP {
			t.Fatalf("JIT result %+v", res)
		}
		if u.Login != "alice" || u.Email != "alice@example.com" || u.FullName() != "Alice Liddell" || !u.LastLoginAt.Equal(now) {
			t.Fatalf("JIT account fields %+v", u)
		}
		if got := strings.Join(u.RoleNames(), ","); got != "developer,viewer" {
			t.Fatalf("roles %q, want developer,viewer", got)
		}
		res2, err := svc.Resolve(ctx, tenant, a, login.Options{})
		if err != nil || res2.FoundBy != login.ByLink || res2.User.ID != u.ID || res2.NewLink {
			t.Fatalf("second login: %+v, %v", res2, err)
		}
	})
}

func TestLinksExistingAccountByLoginCaseInsensitive(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true})
		existing := addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "Bob@Example.com", WebAccess: true})
		res, err := svc.Resolve(ctx, tenant, assertion("nid-bob", map[string][]string{"upn": {"bob@example.com"}}), login.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.User.ID != existing.ID || res.FoundBy != login.ByLogin {
			t.Fatalf("linked to %d by %s, want %d by login", res.User.ID, res.FoundBy, existing.ID)
		}
		if n, _ := store.CountUsers(ctx, lanyard.UserFilter{TenantID: tenant.ID}); n != 1 {
			t.Fatalf("%d accounts, want 1 (no duplicate)", n)
		}
		if u, err := store.UserByLink(ctx, tenant.ID, idpID, "nid-bob"); err != nil || u.ID != existing.ID {
			t.Fatalf("link not recorded: %v", err)
		}
	})
}

func TestLinkByEmailOnlyWhenAllowedAndUnambiguous(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{})
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "carol", Email: "carol@example.com", WebAccess: true})
		a := assertion("nid-c", map[string][]string{"uid": {"c.danvers"}, "mail": {"Carol@example.com"}})
		if _, err := svc.Resolve(ctx, tenant, a, login.Options{}); err == nil {
			t.Fatal("linked by email although the tenant does not allow it")
		}
		tenant.SSO.LinkByEmail = true
		res, err := svc.Resolve(ctx, tenant, a, login.Options{})
		if err != nil || res.FoundBy != login.ByEmail || res.User.Login != "carol" {
			t.Fatalf("link by email: %+v, %v", res, err)
		}
		// Two accounts share an email: ambiguous, so no link by email.
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "d1", Email: "shared@example.com", WebAccess: true})
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "d2", Email: "shared@example.com", WebAccess: true})
		_, err = svc.Resolve(ctx, tenant, assertion("nid-d", map[string][]string{"uid": {"dee"}, "mail": {"shared@example.com"}}), login.Options{})
		refusal(t, err, login.ReasonNoAccount)
	})
}

func TestIgnoredFieldsAndRoleSync(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{IgnoreOnUpdate: []string{"email"},
			GroupRoles: map[string][]string{"eng": {"developer"}, "ops": {"operator"}}})
		u := addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "erin", Email: "erin@contractor.example", FirstName: "E", WebAccess: true,
			Roles: []lanyard.RoleGrant{{Role: "auditor", Source: lanyard.RoleManual}, {Role: "developer", Source: lanyard.RoleIdP}}})
		res, err := svc.Resolve(ctx, tenant, assertion("nid-e", map[string][]string{"uid": {"erin"}, "mail": {"erin@corp.example"}, "givenName": {"Erin"}, "groups": {"ops"}}), login.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := store.User(ctx, u.ID)
		if got.Email != "erin@contractor.example" {
			t.Errorf("ignored email overwritten: %q", got.Email)
		}
		if got.FirstName != "Erin" {
			t.Errorf("first name not updated: %q", got.FirstName)
		}
		if roles := strings.Join(got.RoleNames(), ","); roles != "auditor,operator" {
			t.Errorf("roles %q, want auditor (manual, kept) and operator (IdP, replaced developer)", roles)
		}
		if len(res.Changes) != 2 {
			t.Errorf("changes %q, want the first name and the IdP roles", res.Changes)
		}
	})
}

func TestLDAPOwnedFieldsAreNotOverwritten(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{})
		u := addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "frank", Email: "frank@ldap.example", LastName: "FromLDAP", Source: lanyard.SourceLDAP, WebAccess: true})
		if _, err := svc.Resolve(ctx, tenant, assertion("nid-f", map[string][]string{"uid": {"frank"}, "mail": {"frank@idp.example"}, "sn": {"FromIdP"}}), login.Options{}); err != nil {
			t.Fatal(err)
		}
		got, _ := store.User(ctx, u.ID)
		if got.Email != "frank@ldap.example" || got.LastName != "FromLDAP" {
			t.Fatalf("LDAP-owned fields overwritten: %+v", got)
		}
	})
}

func TestRefusals(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{})
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "inactive", Status: lanyard.StatusInactive, WebAccess: true})
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "pwonly", LoginMethod: lanyard.LoginPassword, WebAccess: true})
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "locked", Locked: true, WebAccess: true})
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "noweb", WebAccess: false})
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "ok", WebAccess: true})
		neutral := map[string]bool{}
		for _, tt := range []struct {
			login string
			attrs map[string][]string
			want  login.Reason
		}{
			{"ghost", nil, login.ReasonNoAccount},
			{"inactive", nil, login.ReasonInactive},
			{"pwonly", nil, login.ReasonNotSSO},
			{"locked", nil, login.ReasonLocked},
			{"noweb", nil, login.ReasonNoWebAccess},
			{"ok", map[string][]string{"access": {"false"}}, login.ReasonAccessDenied},
		} {
			attrs := map[string][]string{"uid": {tt.login}}
			for k, v := range tt.attrs {
				attrs[k] = v
			}
			_, err := svc.Resolve(ctx, tenant, assertion("nid-"+tt.login, attrs), login.Options{})
			r := refusal(t, err, tt.want)
			if !strings.Contains(r.AdminMessage, idpID) || !strings.Contains(r.UserMessage, tt.login) {
				t.Errorf("%s: messages lack the IdP or the login: user %q admin %q", tt.want, r.UserMessage, r.AdminMessage)
			}
			switch tt.want {
			case login.ReasonNoAccount, login.ReasonInactive, login.ReasonNotSSO:
				neutral[strings.ReplaceAll(r.UserMessage, tt.login, "X")] = true
			}
			if _, err := store.UserByLink(ctx, tenant.ID, idpID, "nid-"+tt.login); !errors.Is(err, lanyard.ErrNotFound) {
				t.Errorf("%s: a refused login recorded a link", tt.want)
			}
		}
		if len(neutral) != 1 {
			t.Errorf("no-account, inactive and not-SSO users read different messages (accounts can be probed): %v", neutral)
		}
		tenant.SSO.Enabled = false
		_, err := svc.Resolve(ctx, tenant, assertion("nid-ok", map[string][]string{"uid": {"ok"}}), login.Options{})
		refusal(t, err, login.ReasonSSODisabled)
	})
}

func TestDryRunWritesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true})
		res, err := svc.Resolve(ctx, tenant, assertion("nid-g", map[string][]string{"uid": {"gina"}}), login.Options{DryRun: true})
		if err != nil || res.FoundBy != login.ByCreated || res.User.Login != "gina" {
			t.Fatalf("dry run: %+v, %v", res, err)
		}
		if n, _ := store.CountUsers(ctx, lanyard.UserFilter{TenantID: tenant.ID}); n != 0 {
			t.Fatalf("dry run created %d accounts", n)
		}
	})
}

// Simultaneous first logins of one person end with one account and one link.
func TestConcurrentFirstLoginsCreateOneAccount(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true})
		a := assertion("nid-race", map[string][]string{"uid": {"racer"}, "mail": {"racer@example.com"}})
		raceFirstLogins(t, store, tenant, func() (int64, error) {
			res, err := svc.Resolve(ctx, tenant, a, login.Options{})
			return res.User.ID, err
		})
	})
}

// A repeat login with nothing new writes no account row until the recorded
// last-login time is a minute old: the ACS hot path.
func TestRepeatLoginWritesOnlyWhenSomethingChanged(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		clock := now
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true})
		svc.Now = func() time.Time { return clock }
		a := assertion("nid-h", map[string][]string{"uid": {"hank"}, "sn": {"Hill"}})
		first, err := svc.Resolve(ctx, tenant, a, login.Options{})
		if err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(30 * time.Second)
		if _, err := svc.Resolve(ctx, tenant, a, login.Options{}); err != nil {
			t.Fatal(err)
		}
		got, _ := store.User(ctx, first.User.ID)
		if !got.LastLoginAt.Equal(now) || !got.UpdatedAt.Equal(first.User.UpdatedAt) {
			t.Fatalf("a repeat login 30s later with nothing new rewrote the account: last login %v, updated %v -> %v", got.LastLoginAt, first.User.UpdatedAt, got.UpdatedAt)
		}
		for i := range a.Attributes {
			if a.Attributes[i].Name == "sn" {
				a.Attributes[i].Values = []string{"Hillman"}
			}
		}
		if _, err := svc.Resolve(ctx, tenant, a, login.Options{}); err != nil {
			t.Fatal(err)
		}
		if got, _ = store.User(ctx, first.User.ID); got.LastName != "Hillman" || !got.LastLoginAt.Equal(clock) {
			t.Fatalf("a changed attribute was not written: %+v", got)
		}
		clock = clock.Add(2 * time.Minute)
		if _, err := svc.Resolve(ctx, tenant, a, login.Options{}); err != nil {
			t.Fatal(err)
		}
		if got, _ = store.User(ctx, first.User.ID); !got.LastLoginAt.Equal(clock) {
			t.Fatalf("last login %v, want %v: a stale last-login time must be rewritten", got.LastLoginAt, clock)
		}
	})
}

// TestLoginByUPN: with new_user.login_by_upn the tenant's accounts are
// named by their user principal name: a JIT account gets it as its login
// (from a UPN attribute, else a NameID, login or email of that form), an
// existing account with that login is found by it, and without any UPN
// the login attribute stays.
func TestLoginByUPN(t *testing.T) {
	cases := []struct {
		name   string
		nameID string
		attrs  map[string][]string
		want   string
	}{
		{"upn attribute", "n1", map[string][]string{"uid": {"alice"}, "upn": {"alice@corp.example"}, "mail": {"a.l@example.com"}}, "alice@corp.example"},
		{"userPrincipalName", "n2", map[string][]string{"uid": {"bob"}, "userPrincipalName": {"bob@corp.example"}}, "bob@corp.example"},
		{"claim URI", "n3", map[string][]string{"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn": {"carol@corp.example"}, "uid": {"carol"}}, "carol@corp.example"},
		{"eduPersonPrincipalName", "n4", map[string][]string{"uid": {"dan"}, "eduPersonPrincipalName": {"dan@uni.example"}}, "dan@uni.example"},
		{"NameID in UPN form", "erin@corp.example", map[string][]string{"uid": {"erin"}}, "erin@corp.example"},
		{"email only", "n6", map[string][]string{"uid": {"frank"}, "mail": {"frank@corp.example"}}, "frank@corp.example"},
		{"UPN attribute not in UPN form", "n7", map[string][]string{"uid": {"gail"}, "upn": {"gail"}, "mail": {"gail@corp.example"}}, "gail@corp.example"},
		{"no UPN anywhere", "n8", map[string][]string{"uid": {"hank"}}, "hank"},
		{"UPN with a space", "n9", map[string][]string{"uid": {"ivy"}, "upn": {"ivy @corp.example"}}, "ivy"},
	}
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true, NewUser: lanyard.NewUserDefaults{LoginByUPN: true}})
		for _, tc := range cases {
			res, err := svc.Resolve(ctx, tenant, assertion(tc.nameID, tc.attrs), login.Options{})
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			if res.User.Login != tc.want || res.FoundBy != login.ByCreated {
				t.Errorf("%s: account %q (%s); want %q created", tc.name, res.User.Login, res.FoundBy, tc.want)
			}
		}
		// An account made beforehand under the UPN is found by it.
		addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "Jo@Corp.Example", Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, WebAccess: true})
		res, err := svc.Resolve(ctx, tenant, assertion("n10", map[string][]string{"uid": {"jo"}, "upn": {"jo@corp.example"}}), login.Options{})
		if err != nil || res.FoundBy != login.ByLogin || !strings.EqualFold(res.User.Login, "jo@corp.example") {
			t.Errorf("existing UPN account: %+v, %v", res, err)
		}
		// Without the setting the login attribute names the account.
		tenant.SSO.NewUser.LoginByUPN = false
		res, err = svc.Resolve(ctx, tenant, assertion("n11", map[string][]string{"uid": {"kim"}, "upn": {"kim@corp.example"}}), login.Options{})
		if err != nil || res.User.Login != "kim" {
			t.Errorf("without login_by_upn: %+v, %v", res.User, err)
		}
	})
}

// raceFirstLogins runs 8 logins of one person at once, each resolve
// returning the account it logged in, and checks that all of them
// succeed with the same account, the tenant's only one, with one link.
// It returns the account's ID.
func raceFirstLogins(t *testing.T, store lanyard.Store, tenant lanyard.Tenant, resolve func() (int64, error)) int64 {
	t.Helper()
	ctx := context.Background()
	const n = 8
	ids := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ids[i], errs[i] = resolve()
		}()
	}
	close(start)
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("login %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("logins resolved to different accounts: %v", ids)
		}
	}
	if c, _ := store.CountUsers(ctx, lanyard.UserFilter{TenantID: tenant.ID}); c != 1 {
		t.Fatalf("%d accounts, want 1", c)
	}
	if links, _ := store.Links(ctx, ids[0]); len(links) != 1 {
		t.Fatalf("%d links, want 1", len(links))
	}
	return ids[0]
}

// A JIT account that its first login refuses (created inactive, or
// without web access) is kept, as an administrator activates it, but not
// linked: the refused login never records the identity. One that is let
// in is created with its link.
func TestJITAccountRefusedAtFirstLoginIsNotLinked(t *testing.T) {
	no := false
	for _, c := range []struct {
		name     string
		defaults lanyard.NewUserDefaults
		refused  login.Reason
	}{
		{"inactive", lanyard.NewUserDefaults{Inactive: true}, login.ReasonInactive},
		{"no web access", lanyard.NewUserDefaults{WebAccess: &no}, login.ReasonNoWebAccess},
		{"let in", lanyard.NewUserDefaults{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, store lanyard.Store) {
				ctx := context.Background()
				svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true, NewUser: c.defaults})
				res, err := svc.Resolve(ctx, tenant, assertion("n-zoe", map[string][]string{"uid": {"zoe"}}), login.Options{})
				if c.refused != "" {
					refusal(t, err, c.refused)
				} else if err != nil || !res.NewLink {
					t.Fatalf("Resolve: %+v, %v", res, err)
				}
				u, err := store.UserByLogin(ctx, tenant.ID, "zoe")
				if err != nil {
					t.Fatalf("the account: %v", err)
				}
				links, err := store.Links(ctx, u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if want := map[bool]int{true: 0, false: 1}[c.refused != ""]; len(links) != want {
					t.Errorf("%d links, want %d", len(links), want)
				}
			})
		})
	}
}
