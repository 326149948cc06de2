package session_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// countingStore counts the reads and writes that reach the database.
type countingStore struct {
	lanyard.Store
	reads, writes atomic.Int64
	slow          time.Duration // added to every session read
}

func (s *countingStore) Session(ctx context.Context, hash []byte, now time.Time) (lanyard.Session, error) {
	s.reads.Add(1)
	time.Sleep(s.slow)
	return s.Store.Session(ctx, hash, now)
}

func (s *countingStore) User(ctx context.Context, id int64) (lanyard.User, error) {
	s.reads.Add(1)
	return s.Store.User(ctx, id)
}

func (s *countingStore) TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error) {
	s.reads.Add(1)
	return s.Store.TenantByID(ctx, id)
}

func (s *countingStore) UpdateSession(ctx context.Context, hash []byte, fn func(*lanyard.Session) error) (lanyard.Session, error) {
	s.writes.Add(1)
	return s.Store.UpdateSession(ctx, hash, fn)
}

func (s *countingStore) DeleteSession(ctx context.Context, hash []byte) error {
	s.writes.Add(1)
	return s.Store.DeleteSession(ctx, hash)
}

func newCacheFixture(t *testing.T, engine string) (*fixture, *countingStore, *session.Cache) {
	t.Helper()
	f := newFixture(t, engine, lanyard.SSOSettings{})
	if _, err := f.store.UpdateUser(context.Background(), f.user.ID, func(u *lanyard.User) error {
		u.WebAccess = true
		u.Roles = []lanyard.RoleGrant{{Role: "staff"}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	cs := &countingStore{Store: f.store}
	mgr := session.NewManager(cs, session.Options{Now: f.clock.Now})
	f.mgr = mgr
	return f, cs, session.NewCache(mgr, cs, session.CacheOptions{TTL: 2 * time.Second, Now: f.clock.Now})
}

func TestCacheHitsReadNothing(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f, cs, cache := newCacheFixture(t, engine)
		id, _ := f.open(t)
		snap, err := cache.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if snap.User.Login != "ada" || snap.Tenant.Slug != "acme" || !snap.User.HasRole("staff") {
			t.Fatalf("snapshot: user %q tenant %q roles %v", snap.User.Login, snap.Tenant.Slug, snap.User.Roles)
		}
		reads, writes := cs.reads.Load(), cs.writes.Load()
		for range 1000 {
			if _, err := cache.Lookup(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		if cs.reads.Load() != reads || cs.writes.Load() != writes {
			t.Fatalf("1000 cached lookups cost %d reads and %d writes, want none", cs.reads.Load()-reads, cs.writes.Load()-writes)
		}
		// Past the TTL the snapshot is read again, still without a write
		// (the activity is written at most once a minute).
		f.clock.Advance(3 * time.Second)
		if _, err := cache.Lookup(ctx, id); err != nil {
			t.Fatal(err)
		}
		if cs.reads.Load() == reads {
			t.Fatal("no read after the TTL")
		}
		if cs.writes.Load() != writes {
			t.Fatalf("%d writes after the TTL, want none within the touch interval", cs.writes.Load()-writes)
		}
	})
}

// TestCacheRevocationBound ends a session behind the cache's back (as
// another node does): it keeps working at most the TTL, then stops.
func TestCacheRevocationBound(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f, _, cache := newCacheFixture(t, engine)
		id, s := f.open(t)
		if _, err := cache.Lookup(ctx, id); err != nil {
			t.Fatal(err)
		}
		if err := f.store.DeleteSession(ctx, s.Hash); err != nil { // another node
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
		if _, err := cache.Lookup(ctx, id); err != nil {
			t.Fatalf("within the TTL the cached snapshot still answers: %v", err)
		}
		f.clock.Advance(1500 * time.Millisecond)
		if _, err := cache.Lookup(ctx, id); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("after the TTL: got %v, want ErrNoSession", err)
		}

		// Forget makes an end on this node take effect at once.
		id2, _ := f.open(t)
		if _, err := cache.Lookup(ctx, id2); err != nil {
			t.Fatal(err)
		}
		if err := f.mgr.End(ctx, id2); err != nil {
			t.Fatal(err)
		}
		cache.Forget(id2)
		if _, err := cache.Lookup(ctx, id2); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("after End and Forget: got %v, want ErrNoSession", err)
		}
	})
}

func TestCacheInactiveAccountEndsSession(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		f, _, cache := newCacheFixture(t, engine)
		id, s := f.open(t)
		if _, err := f.store.UpdateUser(ctx, f.user.ID, func(u *lanyard.User) error { u.Status = lanyard.StatusInactive; return nil }); err != nil {
			t.Fatal(err)
		}
		if _, err := cache.Lookup(ctx, id); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("inactive account: got %v, want ErrNoSession", err)
		}
		if _, err := f.store.Session(ctx, s.Hash, f.clock.Now()); !errors.Is(err, lanyard.ErrNotFound) {
			t.Fatalf("the session of an inactive account is still in the store: %v", err)
		}
		if _, err := cache.Lookup(ctx, "not-a-session-id"); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("malformed ID: got %v", err)
		}
	})
}

// TestCacheCoalescesMisses sends 50 concurrent lookups of an uncached
// session: they share one read of the session.
func TestCacheCoalescesMisses(t *testing.T) {
	f, cs, cache := newCacheFixture(t, "sqlite")
	id, _ := f.open(t)
	cs.slow = 50 * time.Millisecond
	before := cs.reads.Load()
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := cache.Lookup(context.Background(), id); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := cs.reads.Load() - before; n != 3 { // session, user, tenant
		t.Fatalf("50 concurrent misses made %d reads, want 3 (one of each)", n)
	}
}

// BenchmarkCacheLookup measures the cached session check that every
// proxied or forward-auth request makes, on all cores.
func BenchmarkCacheLookup(b *testing.B) {
	ctx := context.Background()
	db := testdb.SQLite(b)
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
	if err := db.CreateTenant(ctx, &tenant); err != nil {
		b.Fatal(err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "ada", WebAccess: true}
	user.Normalize()
	if err := db.CreateUser(ctx, &user); err != nil {
		b.Fatal(err)
	}
	mgr := session.NewManager(db, session.Options{})
	id, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	cache := session.NewCache(mgr, db, session.CacheOptions{TTL: time.Hour})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := cache.Lookup(ctx, id); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
