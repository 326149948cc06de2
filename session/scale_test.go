package session_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/sqlcount"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// countedSQLite returns a migrated SQLite store whose every statement is
// counted at the driver, under the store, with a tenant and an active user.
func countedSQLite(t *testing.T) (*sqlstore.DB, *sqlcount.Counter, lanyard.Tenant, lanyard.User) {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lanyard.db")
	plain, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := plain.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
	if err := plain.CreateTenant(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "ada", LoginMethod: lanyard.LoginPassword, WebAccess: true,
		Roles: []lanyard.RoleGrant{{Role: "staff"}, {Role: "wiki"}}}
	user.Normalize()
	if err := plain.CreateUser(ctx, &user); err != nil {
		t.Fatal(err)
	}
	plain.Close()

	counter := &sqlcount.Counter{}
	return testdb.CountedSQLite(t, path, counter), counter, tenant, user
}

// memoryTenants answers tenants from a map, as the configuration registry
// does once it has read them.
type memoryTenants map[int64]lanyard.Tenant

func (m memoryTenants) TenantByID(_ context.Context, id int64) (lanyard.Tenant, error) {
	if t, ok := m[id]; ok {
		return t, nil
	}
	return lanyard.Tenant{}, lanyard.ErrNotFound
}

// A session check that misses the cache reads the database once (the
// session joined with its account), writes nothing, and leaves the
// activity to the background writer, whose timer writes it.
func TestCacheMissIsOneReadAndActivityIsWrittenByTheFlusher(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counter, tenant, user := countedSQLite(t)
	start := time.Now()
	clock := func() time.Time { return start }
	mgr := session.NewManager(db, session.Options{Now: func() time.Time { return clock() }})
	// Sessions opened an hour ago, last seen then: a check now is activity
	// to record.
	past := session.NewManager(db, session.Options{Now: func() time.Time { return start.Add(-time.Hour) }})
	// More than a statement's worth of rows before statements took the
	// whole batch (16 on SQLite).
	const sessions = 40
	ids := make([]string, sessions)
	for i := range ids {
		id, _, err := past.Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = id
	}
	cache := session.NewCache(mgr, db, session.CacheOptions{
		Tenants:  memoryTenants{tenant.ID: tenant},
		Activity: session.ActivityOptions{FlushInterval: 200 * time.Millisecond},
	})

	before := counter.Counts()
	for _, id := range ids {
		snap, err := cache.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.User.ID != user.ID || !snap.User.HasRole("wiki") || snap.Tenant.Slug != "acme" {
			t.Fatalf("snapshot: user %d roles %v tenant %q", snap.User.ID, snap.User.Roles, snap.Tenant.Slug)
		}
		if !snap.Session.LastSeenAt.Equal(start) {
			t.Fatalf("snapshot last seen %v, want now %v", snap.Session.LastSeenAt, start)
		}
	}
	got := counter.Counts()
	// The flusher may run meanwhile (its timer is short): its statements
	// (a transaction of activity updates) are not the request path's.
	var requestPath []string
	for _, q := range counter.Log()[before.Statements:got.Statements] {
		if !flusherStatement(q) {
			requestPath = append(requestPath, q)
		}
	}
	const maxRoundTrips = 1
	if len(requestPath) > sessions*maxRoundTrips {
		t.Errorf("%d misses made %d statements, want at most %d each:\n%s", sessions, len(requestPath), maxRoundTrips, strings.Join(requestPath, "\n"))
	}
	for _, q := range requestPath {
		if !strings.HasPrefix(strings.TrimSpace(q), "SELECT") {
			t.Errorf("a miss wrote on the request path: %s", q)
		}
	}

	// The flusher's timer writes the activity, in one transaction.
	for _, id := range ids {
		s := waitLastSeen(t, db, lanyard.HashSessionID(id), start)
		if want := start.Add(lanyard.DefaultSessionIdle); !s.IdleExpiresAt.Equal(want) {
			t.Fatalf("stored idle expiry %v, want %v", s.IdleExpiresAt, want)
		}
	}
	var commits, updates int64
	for _, q := range counter.Log()[before.Statements:] {
		switch {
		case q == "COMMIT":
			commits++
		case flusherStatement(q) && strings.HasPrefix(q, "UPDATE"):
			updates++
		}
	}
	// One transaction per timer run: one, or two if the timer ran while
	// the lookups went on.
	if commits == 0 || commits > 2 {
		t.Errorf("the flusher committed %d transactions for %d sessions, want 1 (or 2)", commits, sessions)
	}
	// And one statement per transaction, whatever the batch's size.
	if updates != commits {
		t.Errorf("the flusher wrote %d batches in %d statements, want one statement per batch", commits, updates)
	}
}

// failingActivity fails the first writes, then passes them to the store.
type failingActivity struct {
	session.ActivityStore
	failures int
	calls    chan int
}

func (f *failingActivity) RecordSessionActivity(ctx context.Context, a []lanyard.SessionActivity) error {
	f.calls <- len(a)
	if f.failures > 0 {
		f.failures--
		return errors.New("database unavailable")
	}
	return f.ActivityStore.RecordSessionActivity(ctx, a)
}

// A batch that fails is written again by the next timer; activity recorded
// after Close is written at once, and Close writes what waits.
func TestActivityRetriesAFailedBatchAndFlushesOnClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, tenant, user := countedSQLite(t)
	past := session.NewManager(db, session.Options{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	_, s, err := past.Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	store := &failingActivity{ActivityStore: db, failures: 2, calls: make(chan int, 10)}
	a := session.NewActivity(store, session.ActivityOptions{FlushInterval: 20 * time.Millisecond})
	now := time.Now().UTC().Truncate(time.Microsecond)
	seen := s
	seen.LastSeenAt, seen.IdleExpiresAt = now, now.Add(time.Hour)
	if err := a.Record(ctx, seen, s.ExpiresAt()); err != nil {
		t.Fatal(err)
	}
	for range 3 { // two failures, then the write
		select {
		case <-store.calls:
		case <-time.After(10 * time.Second):
			t.Fatal("the flusher did not retry the failed batch")
		}
	}
	got := waitLastSeen(t, db, s.Hash, now)

	// Close writes what waits, without waiting for the timer.
	slow := session.NewActivity(db, session.ActivityOptions{FlushInterval: time.Hour})
	later := seen
	later.LastSeenAt, later.IdleExpiresAt = now.Add(time.Minute), now.Add(2*time.Hour)
	if err := slow.Record(ctx, later, got.ExpiresAt()); err != nil {
		t.Fatal(err)
	}
	if err := slow.Close(ctx); err != nil {
		t.Fatal(err)
	}
	got, err = db.Session(ctx, s.Hash, now)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeenAt.Equal(later.LastSeenAt) {
		t.Fatalf("after Close: last seen %v, want %v", got.LastSeenAt, later.LastSeenAt)
	}
}

// storeDown is a store whose batched activity writes fail.
type storeDown struct{ *sqlstore.DB }

func (storeDown) RecordSessionActivity(context.Context, []lanyard.SessionActivity) error {
	return errors.New("database unavailable")
}

// A session whose stored expiry has passed, but whose activity waits in
// memory (its write failed), is still alive on this node; one with no such
// activity is not.
func TestCacheHonoursActivityNotYetWritten(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _, tenant, user := countedSQLite(t)
	tenant, err := db.UpdateTenant(ctx, tenant.ID, func(tt *lanyard.Tenant) error {
		tt.SSO.SessionIdle = lanyard.Duration(time.Minute)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().UTC()
	var now atomic.Int64
	now.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()).UTC() }
	mgr := session.NewManager(db, session.Options{Now: clock, TouchInterval: 10 * time.Second})
	active, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	idle, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	cache := session.NewCache(mgr, storeDown{db}, session.CacheOptions{TTL: time.Millisecond, Now: clock,
		Tenants: memoryTenants{tenant.ID: tenant}, Activity: session.ActivityOptions{FlushInterval: time.Hour}})
	now.Store(start.Add(30 * time.Second).UnixNano())
	if _, err := cache.Lookup(ctx, active); err != nil {
		t.Fatal(err)
	}
	now.Store(start.Add(61 * time.Second).UnixNano()) // both stored expiries have passed
	snap, err := cache.Lookup(ctx, active)
	if err != nil {
		t.Fatalf("active session, its activity not yet written: %v", err)
	}
	// Seen again now (past the touch interval): a minute from now.
	if want := start.Add(121 * time.Second); !snap.Session.IdleExpiresAt.Equal(want) {
		t.Errorf("idle expiry %v, want %v", snap.Session.IdleExpiresAt, want)
	}
	if _, err := cache.Lookup(ctx, idle); !errors.Is(err, session.ErrNoSession) {
		t.Fatalf("idle session: %v, want ErrNoSession", err)
	}
}

// waitLastSeen waits for the stored session to be seen at want, and
// returns it.
func waitLastSeen(t *testing.T, db *sqlstore.DB, hash []byte, want time.Time) lanyard.Session {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := db.Session(context.Background(), hash, want)
		if err != nil {
			t.Fatal(err)
		}
		if s.LastSeenAt.Equal(want) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("stored last seen %v, want %v (written by the flusher)", s.LastSeenAt, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A flood of distinct sessions, each read once, through a full cache does
// not push out the sessions in use: they stay cached (no read) while the
// flood's entries make room for each other.
func TestFullCacheKeepsHotSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counter, tenant, user := countedSQLite(t)
	mgr := session.NewManager(db, session.Options{})
	open := func() string {
		id, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	const capacity = 40
	cache := session.NewCache(mgr, db, session.CacheOptions{TTL: time.Hour, MaxEntries: capacity, Tenants: memoryTenants{tenant.ID: tenant}})
	hot := []string{open(), open(), open()}
	for _, id := range hot {
		for range 2 { // a miss, then a hit: in use
			if _, err := cache.Lookup(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	cold := make([]string, 5*capacity)
	for i := range cold {
		cold[i] = open()
	}
	for i, id := range cold {
		if _, err := cache.Lookup(ctx, id); err != nil {
			t.Fatal(err)
		}
		if got := cache.Stats().Entries; got > capacity {
			t.Fatalf("%d entries, over the bound of %d", got, capacity)
		}
		if i%10 != 0 {
			continue
		}
		before := counter.Counts().Statements
		for _, h := range hot {
			if _, err := cache.Lookup(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
		if n := counter.Counts().Statements - before; n != 0 {
			t.Fatalf("after %d distinct sessions: the hot sessions cost %d reads, want 0 (evicted)", i+1, n)
		}
	}
}

// flusherStatement tells the statements of the activity writer.
func flusherStatement(q string) bool {
	switch q {
	case "BEGIN", "COMMIT", "ROLLBACK":
		return true
	}
	return strings.HasPrefix(strings.TrimSpace(q), "UPDATE sessions SET last_seen_at = a.seen")
}

// The store reads a session with its account in one query and writes
// activity in batches that never move a session backwards, on both
// engines.
func TestStoreSessionHolderAndBatchedActivity(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f := newFixture(t, engine, lanyard.SSOSettings{})
		if _, err := f.store.UpdateUser(ctx, f.user.ID, func(u *lanyard.User) error {
			u.Roles = []lanyard.RoleGrant{{Role: "b"}, {Role: "a"}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var sessions []lanyard.Session
		for range 3 {
			_, s := f.open(t)
			sessions = append(sessions, s)
		}
		s, u, err := f.store.SessionHolder(ctx, sessions[0].Hash)
		if err != nil {
			t.Fatal(err)
		}
		if u.ID != f.user.ID || len(u.Roles) != 2 || u.Roles[0].Role != "a" || s.UserID != f.user.ID || string(s.CSRFSecret) != string(sessions[0].CSRFSecret) {
			t.Fatalf("holder: session of user %d, user %d with roles %v", s.UserID, u.ID, u.Roles)
		}
		if _, _, err := f.store.SessionHolder(ctx, make([]byte, 32)); !errors.Is(err, lanyard.ErrNotFound) {
			t.Fatalf("holder of no session: %v, want ErrNotFound", err)
		}
		now := sessions[0].LastSeenAt
		later, earlier := now.Add(5*time.Minute), now.Add(-5*time.Minute)
		var batch []lanyard.SessionActivity
		for i := range 4200 { // more than one statement's worth (4096), most for no session
			batch = append(batch, lanyard.SessionActivity{Hash: lanyard.HashSessionID(fmt.Sprint(i)), LastSeenAt: later, IdleExpiresAt: later.Add(time.Hour)})
		}
		batch = append(batch,
			lanyard.SessionActivity{Hash: sessions[0].Hash, LastSeenAt: later, IdleExpiresAt: later.Add(time.Hour)},
			lanyard.SessionActivity{Hash: sessions[1].Hash, LastSeenAt: earlier, IdleExpiresAt: earlier.Add(time.Hour)},
			// Past the absolute expiry: the session ends at the absolute one.
			lanyard.SessionActivity{Hash: sessions[2].Hash, LastSeenAt: later, IdleExpiresAt: sessions[2].AbsExpiresAt.Add(time.Hour)})
		if err := f.store.RecordSessionActivity(ctx, batch); err != nil {
			t.Fatal(err)
		}
		got0, err := f.store.Session(ctx, sessions[0].Hash, now)
		if err != nil {
			t.Fatal(err)
		}
		if !got0.LastSeenAt.Equal(later) || !got0.IdleExpiresAt.Equal(later.Add(time.Hour)) {
			t.Errorf("recorded: last seen %v idle expiry %v, want %v and %v", got0.LastSeenAt, got0.IdleExpiresAt, later, later.Add(time.Hour))
		}
		got1, err := f.store.Session(ctx, sessions[1].Hash, now)
		if err != nil {
			t.Fatal(err)
		}
		if !got1.LastSeenAt.Equal(sessions[1].LastSeenAt) || !got1.IdleExpiresAt.Equal(sessions[1].IdleExpiresAt) {
			t.Errorf("older activity moved the session back: last seen %v, want %v", got1.LastSeenAt, sessions[1].LastSeenAt)
		}
		if _, err := f.store.Session(ctx, sessions[2].Hash, sessions[2].AbsExpiresAt); !errors.Is(err, lanyard.ErrNotFound) {
			t.Errorf("a session past its absolute expiry is still found: %v", err)
		}
	})
}
