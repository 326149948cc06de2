package ldapsync_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/slapdtest"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

func directory(s *slapdtest.Server) lanyard.LDAPDirectory {
	return lanyard.LDAPDirectory{
		Enabled:      true,
		URLs:         []string{s.URL},
		StartTLS:     true,
		CACertPEM:    s.CACertPEM,
		BindDN:       slapdtest.AdminDN,
		BindPassword: slapdtest.AdminPW,
		BaseDN:       "ou=people," + slapdtest.BaseDN,
		GroupBaseDN:  "ou=groups," + slapdtest.BaseDN,
	}
}

// setup makes a tenant whose groups map to roles and connects it to a
// slapd loaded with the fixture.
func setup(t *testing.T, store lanyard.Store) (*slapdtest.Server, lanyard.Tenant, *ldapsync.Syncer) {
	t.Helper()
	s := slapdtest.Start(t, slapdtest.Options{})
	s.Add(t, slapdtest.Fixture())
	ctx := context.Background()
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme", SSO: lanyard.SSOSettings{GroupRoles: map[string][]string{"admins": {"ops"}, "staff": {"staff"}}}}
	if err := store.CreateTenant(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	dir := directory(s)
	dir.TenantID = tenant.ID
	if err := store.(ldapsync.Store).PutLDAPDirectory(ctx, &dir, false); err != nil {
		t.Fatal(err)
	}
	return s, tenant, &ldapsync.Syncer{Store: store.(ldapsync.Store), Metrics: ldapsync.NewMetrics()}
}

func mustSync(t *testing.T, sy *ldapsync.Syncer, tenant lanyard.Tenant, opt ldapsync.Options) lanyard.LDAPSyncRun {
	t.Helper()
	run, err := sy.Sync(context.Background(), tenant, opt)
	if err != nil {
		t.Fatalf("sync %+v: %v (report %q)", opt, err, run.Report)
	}
	return run
}

func user(t *testing.T, store lanyard.Store, tenant lanyard.Tenant, login string) lanyard.User {
	t.Helper()
	u, err := store.UserByLogin(context.Background(), tenant.ID, login)
	if err != nil {
		t.Fatalf("account %s: %v", login, err)
	}
	return u
}

func counts(r lanyard.LDAPSyncRun) string {
	return fmt.Sprintf("seen=%d created=%d updated=%d reactivated=%d deactivated=%d", r.Seen, r.Created, r.Updated, r.Reactivated, r.Deactivated)
}

// TestSync follows a directory through its life on both engines: a dry
// run, the first sync, a sync with nothing changed, incremental changes
// (a new mail, a disabled account whose sessions end), a removal, the
// safety stop and its confirmation, and the directory going down.
func TestSync(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		s, tenant, sy := setup(t, store)

		// A dry run lists what would be created and writes no account.
		run := mustSync(t, sy, tenant, ldapsync.Options{DryRun: true, Actor: "test"})
		if got, want := counts(run), "seen=4 created=3 updated=0 reactivated=0 deactivated=0"; got != want {
			t.Fatalf("dry run: %s, want %s; report %q", got, want, run.Report)
		}
		if n, _ := store.CountUsers(ctx, lanyard.UserFilter{TenantID: tenant.ID}); n != 0 {
			t.Fatalf("dry run created %d accounts", n)
		}
		if !slices.Contains(run.Report, "create alice ("+slapdtest.DN("alice")+")") {
			t.Fatalf("dry run report %q does not list alice", run.Report)
		}

		// First sync: three accounts (carol is disabled, not created),
		// owned by the directory, with the roles of their groups, nested
		// ones included (dave is in engineers, inside staff).
		run = mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
		if got, want := counts(run), "seen=4 created=3 updated=0 reactivated=0 deactivated=0"; got != want {
			t.Fatalf("first sync: %s, want %s", got, want)
		}
		alice := user(t, store, tenant, "alice")
		if alice.Source != lanyard.SourceLDAP || alice.Email != "alice@example.org" || alice.FirstName != "Alice" || alice.LastName != "Archer" || alice.Status != lanyard.StatusActive {
			t.Fatalf("alice = %+v", alice)
		}
		if !alice.HasRole("ops") || alice.HasRole("staff") {
			t.Fatalf("alice's roles %v, want ops", alice.Roles)
		}
		if dave := user(t, store, tenant, "dave"); !dave.HasRole("staff") {
			t.Fatalf("dave's roles %v, want staff (engineers is nested in staff)", dave.Roles)
		}
		if _, err := store.UserByLogin(ctx, tenant.ID, "carol"); !errors.Is(err, lanyard.ErrNotFound) {
			t.Fatalf("carol (disabled) was created: %v", err)
		}

		// Nothing changed: nothing written.
		before := user(t, store, tenant, "alice").UpdatedAt
		run = mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
		if got, want := counts(run), "seen=4 created=0 updated=0 reactivated=0 deactivated=0"; got != want {
			t.Fatalf("no-change sync: %s, want %s", got, want)
		}
		if after := user(t, store, tenant, "alice").UpdatedAt; !after.Equal(before) {
			t.Fatalf("no-change sync rewrote alice (%v → %v)", before, after)
		}

		// Bob has a session and a copy of it on an application host.
		bob := user(t, store, tenant, "bob")
		now := time.Now()
		parent := lanyard.Session{Hash: []byte("bob-session-hash-0123456789abcdef"), TenantID: tenant.ID, UserID: bob.ID, Kind: lanyard.SessionSSO,
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsExpiresAt: now.Add(time.Hour)}
		child := parent
		child.Hash, child.Origin, child.ParentHash = []byte("bob-copy-hash-0123456789abcdef00"), "https://app.example", parent.Hash
		for _, sess := range []*lanyard.Session{&parent, &child} {
			if err := store.CreateSession(ctx, sess); err != nil {
				t.Fatal(err)
			}
		}

		// Incremental: alice's mail changes, bob is disabled (1 of 3 active
		// accounts: the tenant allows half). The marker is modifyTimestamp,
		// to the second.
		store.(ldapsync.Store).PutLDAPDirectory(ctx, withMax(t, store, tenant, 50), false)
		time.Sleep(1100 * time.Millisecond)
		s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: modify\nreplace: mail\nmail: alice.archer@example.org\n\ndn: %s\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n\n",
			slapdtest.DN("alice"), slapdtest.DN("bob")))
		run = mustSync(t, sy, tenant, ldapsync.Options{Kind: lanyard.SyncIncremental, Actor: "test"})
		if run.Kind != lanyard.SyncIncremental || run.Updated != 1 || run.Deactivated != 1 {
			t.Fatalf("incremental sync: %s kind %s; report %q", counts(run), run.Kind, run.Report)
		}
		if got := user(t, store, tenant, "alice").Email; got != "alice.archer@example.org" {
			t.Fatalf("alice's email %q after the incremental sync", got)
		}
		if got := user(t, store, tenant, "bob").Status; got != lanyard.StatusInactive {
			t.Fatalf("bob (disabled) is %s", got)
		}
		// The next incremental reads only the entries changed at or after
		// the marker (alice and bob, in the marker's second), not all four.
		run = mustSync(t, sy, tenant, ldapsync.Options{Kind: lanyard.SyncIncremental, Actor: "test"})
		if got, want := counts(run), "seen=2 created=0 updated=0 reactivated=0 deactivated=0"; got != want {
			t.Fatalf("second incremental sync: %s, want %s", got, want)
		}
		for _, h := range [][]byte{parent.Hash, child.Hash} {
			if _, err := store.Session(ctx, h, now); !errors.Is(err, lanyard.ErrNotFound) {
				t.Fatalf("session %s of the disabled bob still there: %v", h, err)
			}
		}

		// dave leaves the directory: deactivated.
		s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: delete\n\n", slapdtest.DN("dave")))
		run = mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
		if run.Deactivated != 1 || user(t, store, tenant, "dave").Status != lanyard.StatusInactive {
			t.Fatalf("removal: %s; dave %s", counts(run), user(t, store, tenant, "dave").Status)
		}

		// The safety stop at the default 10%: ten people join, three leave.
		store.(ldapsync.Store).PutLDAPDirectory(ctx, withMax(t, store, tenant, 0), false)
		var ldif strings.Builder
		for i := range 10 {
			ldif.WriteString(slapdtest.PersonLDIF(slapdtest.Person{UID: fmt.Sprintf("e%d", i), Given: "E", Surname: fmt.Sprint(i)}))
		}
		s.Add(t, ldif.String())
		mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
		s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: delete\n\ndn: %s\nchangetype: delete\n\ndn: %s\nchangetype: delete\n\n", slapdtest.DN("e1"), slapdtest.DN("e2"), slapdtest.DN("e3")))
		run, err := sy.Sync(ctx, tenant, ldapsync.Options{Actor: "test"})
		if err == nil || run.Status != lanyard.SyncStopped || run.Deactivated != 3 || !strings.Contains(run.Message, "changed nothing") {
			t.Fatalf("safety stop: err %v, status %s, %s, message %q", err, run.Status, counts(run), run.Message)
		}
		if got := user(t, store, tenant, "e1").Status; got != lanyard.StatusActive {
			t.Fatalf("e1 is %s after a stopped sync", got)
		}
		state, _ := store.(ldapsync.Store).LDAPSyncState(ctx, tenant.ID)
		if state.PendingRunID != run.ID || state.LastStatus != lanyard.SyncStopped {
			t.Fatalf("state after the stop: %+v (run %d)", state, run.ID)
		}
		events, _ := store.AuditEvents(ctx, lanyard.AuditFilter{TenantID: tenant.ID, Action: "ldap.sync.stopped"})
		if len(events) != 1 {
			t.Fatalf("audit events of the stop: %+v", events)
		}
		// A confirmation covers the stopped run's deactivations, no more:
		// one more person leaves meanwhile, and it stops again.
		s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: delete\n\n", slapdtest.DN("e4")))
		run, err = sy.Sync(ctx, tenant, ldapsync.Options{Actor: "test", Confirm: true})
		if err == nil || run.Status != lanyard.SyncStopped || run.Deactivated != 4 || !strings.Contains(run.Message, "more than the 3 of the stopped run") {
			t.Fatalf("confirmation of more than was stopped: err %v, %s, %q", err, counts(run), run.Message)
		}
		run = mustSync(t, sy, tenant, ldapsync.Options{Actor: "test", Confirm: true})
		if run.Deactivated != 4 || user(t, store, tenant, "e1").Status != lanyard.StatusInactive {
			t.Fatalf("confirmed sync: %s", counts(run))
		}
		if state, _ := store.(ldapsync.Store).LDAPSyncState(ctx, tenant.ID); state.PendingRunID != 0 {
			t.Fatalf("still pending after the confirmation: %+v", state)
		}

		// The directory goes down: the sync fails and changes nothing.
		s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: delete\n\n", slapdtest.DN("alice")))
		s.Stop()
		run, err = sy.Sync(ctx, tenant, ldapsync.Options{Actor: "test"})
		if err == nil || run.Status != lanyard.SyncFailed || !strings.Contains(run.Message, "no account was changed") {
			t.Fatalf("directory down: err %v, run %+v", err, run)
		}
		if got := user(t, store, tenant, "alice").Status; got != lanyard.StatusActive {
			t.Fatalf("alice is %s after a failed sync", got)
		}
		runs, _ := store.(ldapsync.Store).LDAPSyncRuns(ctx, tenant.ID, 100)
		if len(runs) < 8 || runs[0].Status != lanyard.SyncFailed {
			t.Fatalf("history: %d runs, newest %+v", len(runs), runs[0])
		}
		s.Resume(t)
		run = mustSync(t, sy, tenant, ldapsync.Options{Actor: "test", Confirm: true})
		if run.Deactivated != 1 {
			t.Fatalf("after the directory is back: %s", counts(run))
		}
	})
}

func withMax(t *testing.T, store lanyard.Store, tenant lanyard.Tenant, pct int) *lanyard.LDAPDirectory {
	t.Helper()
	d, err := store.(ldapsync.Store).LDAPDirectory(context.Background(), tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	d.MaxDeactivatePercent = pct
	return &d
}

// A sync of a tenant whose lease another node holds does not run; once
// the lease has expired (that node died mid-run), it does.
func TestSyncLeaseAcrossNodes(t *testing.T) {
	store := testdb.SQLite(t)
	_, tenant, sy := setup(t, store)
	ctx := context.Background()
	now := time.Now()
	if ok, err := store.(ldapsync.Store).ClaimLDAPSync(ctx, tenant.ID, "other-node", now, now.Add(time.Hour)); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	if _, err := sy.Sync(ctx, tenant, ldapsync.Options{Actor: "test"}); !errors.Is(err, ldapsync.ErrBusy) {
		t.Fatalf("sync while another node holds the lease: %v", err)
	}
	if runs, _ := store.(ldapsync.Store).LDAPSyncRuns(ctx, tenant.ID, 10); len(runs) != 0 {
		t.Fatalf("a run was recorded: %+v", runs)
	}
	sy.Now = func() time.Time { return now.Add(2 * time.Hour) }
	mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
	// Released at the end: another node may run now.
	if ok, err := store.(ldapsync.Store).ClaimLDAPSync(ctx, tenant.ID, "other-node", now.Add(2*time.Hour), now.Add(3*time.Hour)); !ok || err != nil {
		t.Fatalf("the lease was not released: %v %v", ok, err)
	}
}

// Two entries with one login make one account: the second is skipped and
// reported, on the first sync (both to create) and on later ones.
func TestDuplicateLogins(t *testing.T) {
	store := testdb.SQLite(t)
	s, tenant, sy := setup(t, store)
	more := func(ou string) string {
		return fmt.Sprintf("dn: ou=%s,ou=people,%s\nobjectClass: organizationalUnit\nou: %s\n\n", ou, slapdtest.BaseDN, ou)
	}
	entry := func(uid, ou, mail string) string {
		return fmt.Sprintf("dn: uid=%s,ou=%s,ou=people,%s\nobjectClass: inetOrgPerson\nuid: %s\ncn: %s\nsn: %s\nmail: %s\n\n", uid, ou, slapdtest.BaseDN, uid, uid, uid, mail)
	}
	s.Add(t, more("a")+more("b")+entry("ALICE", "a", "other@example.org")+entry("zed", "a", "zed@example.org")+entry("Zed", "b", "zed2@example.org"))
	for i := range 2 {
		run := mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
		skipped := 0
		for _, line := range run.Report {
			if strings.HasPrefix(line, "skipped ") && strings.Contains(line, "already taken by another entry") {
				skipped++
			}
		}
		wantCreated := 4
		if i == 1 {
			wantCreated = 0
		}
		if run.Created != wantCreated || run.Updated != 0 || skipped != 2 {
			t.Fatalf("sync %d: %s, %d skipped; report %q", i+1, counts(run), skipped, run.Report)
		}
	}
}

// Incremental syncs by Active Directory's uSNChanged read the entries whose
// number is at or above the highest applied, compared as numbers (9 < 10).
func TestIncrementalByUSNChanged(t *testing.T) {
	store := testdb.SQLite(t)
	s, tenant, sy := setup(t, store)
	ctx := context.Background()
	usn := func(uid string, n int, mail string) string {
		return fmt.Sprintf("dn: %s\nchangetype: modify\nreplace: uSNChanged\nuSNChanged: %d\n-\nreplace: mail\nmail: %s\n\n", slapdtest.DN(uid), n, mail)
	}
	s.Modify(t, usn("alice", 7, "alice@example.org")+usn("bob", 8, "bob@example.org")+usn("carol", 9, "carol@example.org")+usn("dave", 9, "dave@example.org"))
	ls := store.(ldapsync.Store)
	d, _ := ls.LDAPDirectory(ctx, tenant.ID)
	d.Incremental = lanyard.IncrementalUSNChanged
	if err := ls.PutLDAPDirectory(ctx, &d, false); err != nil {
		t.Fatal(err)
	}
	mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
	if st, _ := ls.LDAPSyncState(ctx, tenant.ID); st.Mark != "9" {
		t.Fatalf("marker %q after the full sync, want 9", st.Mark)
	}
	s.Modify(t, usn("alice", 10, "alice.new@example.org"))
	run := mustSync(t, sy, tenant, ldapsync.Options{Kind: lanyard.SyncIncremental, Actor: "test"})
	// alice (10), and carol and dave (9, the marker's own number).
	if run.Kind != lanyard.SyncIncremental || run.Seen != 3 || run.Updated != 1 {
		t.Fatalf("incremental by uSNChanged: %s (kind %s); report %q", counts(run), run.Kind, run.Report)
	}
	if st, _ := ls.LDAPSyncState(ctx, tenant.ID); st.Mark != "10" {
		t.Fatalf("marker %q after the incremental sync, want 10", st.Mark)
	}
	if got := user(t, store, tenant, "alice").Email; got != "alice.new@example.org" {
		t.Fatalf("alice's email %q", got)
	}
}

// The sync takes over an account it did not create only as the tenant's
// ownership rule allows: never an administrator's account given by hand,
// never one SCIM keeps, and one made by SAML JIT or the administration only
// when the tenant names LDAP the owner of its accounts. A skipped account
// is left as it was, and the report says why.
func TestSyncTakesOverOnlyWhatItMay(t *testing.T) {
	store := testdb.SQLite(t)
	ctx := context.Background()
	_, tenant, sy := setup(t, store)
	mk := func(login string, source lanyard.UserSource, roles ...lanyard.RoleGrant) {
		u := lanyard.User{TenantID: tenant.ID, Login: login, Email: login + "@before.example", Source: source,
			Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, WebAccess: true, Roles: roles}
		if err := store.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
	}
	mk("alice", lanyard.SourceLocal, lanyard.RoleGrant{Role: lanyard.RoleTenantAdmin, Source: lanyard.RoleManual})
	mk("bob", lanyard.SourceSCIM)
	mk("dave", lanyard.SourceIdP)
	skipped := func(run lanyard.LDAPSyncRun, login string) bool {
		for _, line := range run.Report {
			if strings.HasPrefix(line, "skipped "+login+" ") {
				return true
			}
		}
		return false
	}
	kept := func(login string, source lanyard.UserSource) {
		t.Helper()
		if u := user(t, store, tenant, login); u.Source != source || u.Email != login+"@before.example" {
			t.Fatalf("%s was changed: source %s, email %s", login, u.Source, u.Email)
		}
	}

	run := mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
	for _, login := range []string{"alice", "bob", "dave"} {
		if !skipped(run, login) {
			t.Errorf("no account_owner: %s not skipped; report %q", login, run.Report)
		}
	}
	kept("alice", lanyard.SourceLocal)
	kept("bob", lanyard.SourceSCIM)
	kept("dave", lanyard.SourceIdP)

	tenant, err := store.UpdateTenant(ctx, tenant.ID, func(t *lanyard.Tenant) error {
		t.SSO.AccountOwner = lanyard.SourceLDAP
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	run = mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
	if skipped(run, "dave") {
		t.Fatalf("account_owner=ldap: dave still skipped; report %q", run.Report)
	}
	if u := user(t, store, tenant, "dave"); u.Source != lanyard.SourceLDAP || u.Email != "dave@example.org" {
		t.Fatalf("account_owner=ldap: dave not taken over: %+v", u)
	}
	if !skipped(run, "alice") || !skipped(run, "bob") {
		t.Fatalf("account_owner=ldap: the administrator's or the SCIM account was taken over; report %q", run.Report)
	}
	kept("alice", lanyard.SourceLocal)
	kept("bob", lanyard.SourceSCIM)
}
