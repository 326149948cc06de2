package login_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/login"
)

// TestSCIMAccountsLinkNotDuplicate: a SAML login of a person SCIM
// provisioned links to that account, never creates a second one, and does
// not overwrite the fields SCIM owns.
func TestSCIMAccountsLinkNotDuplicate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true})
		u := addUser(t, store, lanyard.User{TenantID: tenant.ID, Login: "grace@navy.example", Email: "grace@navy.example",
			FirstName: "Grace", LastName: "FromSCIM", Source: lanyard.SourceSCIM, WebAccess: true})
		res, err := svc.Resolve(ctx, tenant, assertion("nid-g", map[string][]string{"uid": {"Grace@Navy.example"}, "mail": {"other@idp.example"}, "sn": {"FromIdP"}}), login.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.User.ID != u.ID || res.FoundBy != login.ByLogin {
			t.Fatalf("login resolved to %d by %s, want the SCIM account %d", res.User.ID, res.FoundBy, u.ID)
		}
		got, _ := store.User(ctx, u.ID)
		if got.Email != "grace@navy.example" || got.LastName != "FromSCIM" || got.Source != lanyard.SourceSCIM {
			t.Fatalf("SCIM-owned fields overwritten: %+v", got)
		}
		if n, _ := store.CountUsers(ctx, lanyard.UserFilter{TenantID: tenant.ID}); n != 1 {
			t.Fatalf("%d accounts after the login, want 1", n)
		}
	})
}

// TestJITRefusedWhenAnotherSourceOwnsAccounts: with account_owner naming
// SCIM (or LDAP), SAML JIT creates nothing and says why.
func TestJITRefusedWhenAnotherSourceOwnsAccounts(t *testing.T) {
	for _, owner := range []lanyard.UserSource{lanyard.SourceSCIM, lanyard.SourceLDAP, lanyard.SourceLocal} {
		t.Run(string(owner), func(t *testing.T) {
			store := testdb.SQLite(t)
			ctx := context.Background()
			svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true, AccountOwner: owner})
			_, err := svc.Resolve(ctx, tenant, assertion("nid-n", map[string][]string{"uid": {"newcomer"}}), login.Options{})
			var refusal *login.Refusal
			if !errors.As(err, &refusal) || refusal.Reason != login.ReasonNoAccount {
				t.Fatalf("JIT with account_owner=%s: %v", owner, err)
			}
			if n, _ := store.CountUsers(ctx, lanyard.UserFilter{TenantID: tenant.ID}); n != 0 {
				t.Fatalf("%d accounts created", n)
			}
		})
	}
	// Naming SAML JIT the owner keeps JIT working.
	store := testdb.SQLite(t)
	svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true, AccountOwner: lanyard.SourceIdP})
	if _, err := svc.Resolve(context.Background(), tenant, assertion("nid-n", map[string][]string{"uid": {"newcomer"}}), login.Options{}); err != nil {
		t.Fatalf("JIT with account_owner=idp: %v", err)
	}
}

// unreadDirectory fails the test when a login reads the directory from
// the store although its caller gave it.
type unreadDirectory struct{ t *testing.T }

func (u unreadDirectory) LDAPDirectorySettings(context.Context, int64) (lanyard.LDAPDirectory, error) {
	u.t.Error("the directory was read from the store although the caller gave it")
	return lanyard.LDAPDirectory{}, lanyard.ErrNotFound
}

// TestDirectoryGivenByTheCaller: the directory the caller holds in memory
// (the tenant's snapshot) decides, and is not read again; a caller that
// knows the tenant has none lets JIT follow the tenant's settings alone.
func TestDirectoryGivenByTheCaller(t *testing.T) {
	store := testdb.SQLite(t)
	ctx := context.Background()
	svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true})
	svc.Directory = unreadDirectory{t}
	dir := &lanyard.LDAPDirectory{Enabled: true, URLs: []string{"ldap://127.0.0.1:1"}, BaseDN: "dc=x"}
	dir.Normalize()
	_, err := svc.Resolve(ctx, tenant, assertion("nid-d", map[string][]string{"uid": {"inscope"}}), login.Options{Directory: dir, DirectoryKnown: true})
	var refusal *login.Refusal
	if !errors.As(err, &refusal) || refusal.Reason != login.ReasonNotSynchronized {
		t.Fatalf("JIT in the scope of a directory without allow_jit: %v, want a refusal (not synchronised)", err)
	}
	res, err := svc.Resolve(ctx, tenant, assertion("nid-d", map[string][]string{"uid": {"inscope"}}), login.Options{DirectoryKnown: true})
	if err != nil || res.FoundBy != login.ByCreated {
		t.Fatalf("JIT without a directory: %v, %v", res.FoundBy, err)
	}
}
