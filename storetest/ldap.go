package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// RunLDAP runs the conformance tests of lanyard.LDAPStore against stores
// made by open, which must implement it.
func RunLDAP(t *testing.T, open func(t *testing.T) lanyard.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lanyard.Store, l lanyard.LDAPStore)
	}{
		{"Directory", testLDAPDirectory},
		{"SyncStateAndRuns", testLDAPSyncStateAndRuns},
		{"UserIDs", testLDAPUserIDs},
		{"Lease", testLDAPLease},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			l, ok := s.(lanyard.LDAPStore)
			if !ok {
				t.Fatalf("%T does not keep LDAP directories", s)
			}
			tc.fn(t, s, l)
		})
	}
}

func testLDAPDirectory(t *testing.T, s lanyard.Store, l lanyard.LDAPStore) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "acme")
	_, err := l.LDAPDirectory(ctx, a.ID)
	wantErr(t, err, lanyard.ErrNotFound, "directory before any")
	wantErr(t, l.DeleteLDAPDirectory(ctx, a.ID), lanyard.ErrNotFound, "delete before any")
	wantErr(t, l.PutLDAPSyncState(ctx, a.ID, lanyard.LDAPSyncState{Mark: "1"}), lanyard.ErrNotFound, "state before any")

	d := lanyard.LDAPDirectory{TenantID: a.ID, Enabled: true, URLs: []string{"ldaps://dc1:636", "ldaps://dc2:636"}, BaseDN: "dc=acme",
		BindDN: "cn=sync", BindPassword: "pw 1", ScopeDomains: []string{"acme.com"}, MaxDeactivatePercent: 25}
	must(t, l.PutLDAPDirectory(ctx, &d, false), "put")
	got, err := l.LDAPDirectory(ctx, a.ID)
	must(t, err, "get")
	if got.BindPassword != "pw 1" || !got.HasPassword || got.BaseDN != "dc=acme" || len(got.URLs) != 2 || got.MaxDeactivatePercent != 25 || got.UpdatedAt.IsZero() {
		t.Fatalf("read back %+v", got)
	}

	plain, err := l.LDAPDirectorySettings(ctx, a.ID)
	must(t, err, "settings")
	if plain.BindPassword != "" || plain.BaseDN != "dc=acme" || plain.TenantID != a.ID {
		t.Fatalf("settings without the password: %+v", plain)
	}
	_, err = l.LDAPDirectorySettings(ctx, a.ID+1000)
	wantErr(t, err, lanyard.ErrNotFound, "settings of none")

	// An empty password keeps the stored one; clearPassword drops it.
	got.BindPassword, got.BaseDN = "", "dc=acme,dc=com"
	must(t, l.PutLDAPDirectory(ctx, &got, false), "put without password")
	again, _ := l.LDAPDirectory(ctx, a.ID)
	if again.BindPassword != "pw 1" || again.BaseDN != "dc=acme,dc=com" {
		t.Fatalf("after a put without password: %+v", again)
	}
	again.BindPassword = ""
	must(t, l.PutLDAPDirectory(ctx, &again, true), "put clearing the password")
	if again, _ = l.LDAPDirectory(ctx, a.ID); again.BindPassword != "" || again.HasPassword {
		t.Fatalf("after clearing: %+v", again)
	}

	b := mkTenant(t, s, "beta")
	must(t, l.PutLDAPDirectory(ctx, &lanyard.LDAPDirectory{TenantID: b.ID, URLs: []string{"ldap://b"}, BaseDN: "dc=b"}, false), "put b")
	all, err := l.LDAPDirectories(ctx)
	must(t, err, "list")
	wantInt(t, "directories", len(all), 2)

	must(t, l.DeleteLDAPDirectory(ctx, a.ID), "delete")
	_, err = l.LDAPDirectory(ctx, a.ID)
	wantErr(t, err, lanyard.ErrNotFound, "directory after delete")
	// Deleting the tenant takes its directory.
	must(t, s.DeleteTenant(ctx, b.ID), "delete tenant")
	all, _ = l.LDAPDirectories(ctx)
	wantInt(t, "directories after the tenant's deletion", len(all), 0)
}

func testLDAPSyncStateAndRuns(t *testing.T, s lanyard.Store, l lanyard.LDAPStore) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "acme")
	st, err := l.LDAPSyncState(ctx, a.ID)
	must(t, err, "state of none")
	wantEqual(t, "state of none", st, lanyard.LDAPSyncState{})
	must(t, l.PutLDAPDirectory(ctx, &lanyard.LDAPDirectory{TenantID: a.ID, URLs: []string{"ldap://a"}, BaseDN: "dc=a"}, false), "put")
	want := lanyard.LDAPSyncState{Mark: "20301231235959Z", LastFullAt: t0, LastIncrAt: t0.Add(1), LastStatus: lanyard.SyncStopped, LastMessage: "why", PendingRunID: 7}
	must(t, l.PutLDAPSyncState(ctx, a.ID, want), "put state")
	st, err = l.LDAPSyncState(ctx, a.ID)
	must(t, err, "state")
	wantEqual(t, "state", st, want)

	for i := range 3 {
		r := lanyard.LDAPSyncRun{TenantID: a.ID, Kind: lanyard.SyncFull, DryRun: i == 1, Status: lanyard.SyncOK, Actor: "cli", StartedAt: t0, FinishedAt: t0.Add(1),
			Seen: 10, Created: i, Updated: 2, Deactivated: 3, Reactivated: 4, Message: "m", Report: []string{"create a", "update b"}}
		must(t, l.AddLDAPSyncRun(ctx, &r), "add run")
		if r.ID == 0 {
			t.Fatal("run without ID")
		}
	}
	bad := lanyard.LDAPSyncRun{TenantID: a.ID, Report: []string{"two\nlines"}}
	if err := l.AddLDAPSyncRun(ctx, &bad); err == nil {
		t.Fatal("a report line with a line break was stored")
	}
	runs, err := l.LDAPSyncRuns(ctx, a.ID, 2)
	must(t, err, "runs")
	wantInt(t, "runs", len(runs), 2)
	if runs[0].ID < runs[1].ID || runs[0].Created != 2 || !runs[1].DryRun || runs[0].StartedAt != t0 {
		t.Fatalf("runs newest first: %+v", runs)
	}
	one, err := l.LDAPSyncRun(ctx, a.ID, runs[1].ID)
	must(t, err, "run")
	wantEqual(t, "report", one.Report, []string{"create a", "update b"})
	must(t, l.MarkLDAPSyncRunConfirmed(ctx, a.ID, one.ID), "confirm")
	one, _ = l.LDAPSyncRun(ctx, a.ID, one.ID)
	if !one.Confirmed {
		t.Fatal("not confirmed")
	}
	b := mkTenant(t, s, "beta")
	_, err = l.LDAPSyncRun(ctx, b.ID, one.ID)
	wantErr(t, err, lanyard.ErrNotFound, "another tenant's run")
	wantErr(t, l.MarkLDAPSyncRunConfirmed(ctx, b.ID, one.ID), lanyard.ErrNotFound, "confirm another tenant's run")
}

func testLDAPUserIDs(t *testing.T, s lanyard.Store, l lanyard.LDAPStore) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "acme")
	var ids []int64
	for i, c := range []struct {
		source lanyard.UserSource
		status lanyard.UserStatus
	}{{lanyard.SourceLDAP, lanyard.StatusActive}, {lanyard.SourceLDAP, lanyard.StatusInactive}, {lanyard.SourceIdP, lanyard.StatusActive}, {lanyard.SourceLDAP, lanyard.StatusActive}} {
		u := lanyard.User{TenantID: a.ID, Login: "u" + string(rune('a'+i)), Source: c.source, Status: c.status, LoginMethod: lanyard.LoginSSO,
			Roles: []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleLDAP}}}
		must(t, s.CreateUser(ctx, &u), "create")
		if c.source == lanyard.SourceLDAP && c.status == lanyard.StatusActive {
			ids = append(ids, u.ID)
		}
	}
	got, err := l.LDAPUserIDs(ctx, a.ID)
	must(t, err, "ids")
	wantEqual(t, "active directory accounts", got, ids)
	byLogins, err := l.UsersByLogins(ctx, a.ID, []string{"UA", " ub ", "nobody"})
	must(t, err, "users by logins")
	if len(byLogins) != 2 || byLogins[0].Login != "ua" || byLogins[1].Login != "ub" || len(byLogins[0].Roles) != 1 {
		t.Fatalf("users by logins: %+v", byLogins)
	}
	none, err := l.UsersByLogins(ctx, a.ID, nil)
	must(t, err, "users by no login")
	wantInt(t, "users by no login", len(none), 0)
	u, err := s.User(ctx, ids[0])
	must(t, err, "user")
	wantEqual(t, "roles granted by the directory", u.Roles, []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleLDAP}})
}

func testLDAPLease(t *testing.T, s lanyard.Store, l lanyard.LDAPStore) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "acme")
	_, err := l.ClaimLDAPSync(ctx, a.ID, "n1", t0, t0.Add(time.Minute))
	wantErr(t, err, lanyard.ErrNotFound, "claim without a directory")
	must(t, l.PutLDAPDirectory(ctx, &lanyard.LDAPDirectory{TenantID: a.ID, URLs: []string{"ldap://a"}, BaseDN: "dc=a"}, false), "put")
	claim := func(owner string, at time.Time, want bool) {
		t.Helper()
		got, err := l.ClaimLDAPSync(ctx, a.ID, owner, at, at.Add(time.Minute))
		must(t, err, "claim")
		if got != want {
			t.Fatalf("claim by %s at %s: %v, want %v", owner, at, got, want)
		}
	}
	claim("n1", t0, true)
	claim("n2", t0.Add(time.Second), false)  // held by n1
	claim("n1", t0.Add(time.Second), true)   // n1 renews
	claim("n2", t0.Add(2*time.Minute), true) // n1's lease expired
	must(t, l.ReleaseLDAPSync(ctx, a.ID, "n1"), "release by a non-holder")
	claim("n1", t0.Add(2*time.Minute), false) // still n2's
	must(t, l.ReleaseLDAPSync(ctx, a.ID, "n2"), "release")
	claim("n1", t0.Add(2*time.Minute), true)
	// Many claimants at once: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	at := t0.Add(time.Hour)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := l.ClaimLDAPSync(ctx, a.ID, fmt.Sprintf("r%d", i), at, at.Add(time.Minute))
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claimants won the lease at once", wins.Load())
	}
}
