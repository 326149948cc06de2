package session_test

import (
	"context"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// fillCache opens n sessions and looks each up through cache.
func fillCache(t *testing.T, f *fixture, cache *session.Cache, n int) {
	t.Helper()
	for range n {
		id, _ := f.open(t)
		if _, err := cache.Lookup(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCacheEvictsExpiredEntries: once the traffic stops, the sweep timer
// (every TTL, as in production) drops the expired entries and the bytes
// they held fall to zero, with no lookup to trigger it.
func TestCacheEvictsExpiredEntries(t *testing.T) {
	f, cs, _ := newCacheFixture(t, "sqlite")
	const ttl = 50 * time.Millisecond
	cache := session.NewCache(f.mgr, cs, session.CacheOptions{TTL: ttl, Now: f.clock.Now})
	const n = 300
	fillCache(t, f, cache, n)
	full := cache.Stats()
	if full.Entries != n {
		t.Fatalf("after %d lookups: %d entries, want %d", n, full.Entries, n)
	}
	if per := full.Bytes / int64(n); per < 500 || per > 20_000 {
		t.Errorf("estimated %d bytes per entry, want a plausible size (0.5–20 KB)", per)
	}
	// Within the TTL nothing goes.
	time.Sleep(3 * ttl)
	if got := cache.Stats(); got.Entries != n {
		t.Fatalf("before the entries expired: %d entries, want %d", got.Entries, n)
	}
	// The clock moves past the TTL; no lookup follows.
	f.clock.Advance(2 * ttl)
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := cache.Stats()
		if got.Entries == 0 && got.Bytes == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("5s after the entries expired: %d entries, %d bytes, want none (were %d bytes)", got.Entries, got.Bytes, full.Bytes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCacheBoundedInBytes: the cache never holds more than MaxBytes, and
// keeps answering once full.
func TestCacheBoundedInBytes(t *testing.T) {
	f, cs, _ := newCacheFixture(t, "sqlite")
	probe := session.NewCache(f.mgr, cs, session.CacheOptions{TTL: time.Hour, Now: f.clock.Now})
	fillCache(t, f, probe, 1)
	per := probe.Stats().Bytes
	for _, limit := range []int64{per, 3 * per, 10*per + 1, 40 * per} {
		cache := session.NewCache(f.mgr, cs, session.CacheOptions{TTL: time.Hour, MaxBytes: limit, Now: f.clock.Now})
		for range 60 {
			fillCache(t, f, cache, 1)
			if got := cache.Stats(); got.Bytes > limit || got.Entries == 0 {
				t.Fatalf("MaxBytes %d: %d bytes in %d entries", limit, got.Bytes, got.Entries)
			}
		}
	}
}

// heapBytes returns the bytes of live heap objects after a full GC.
func heapBytes() uint64 {
	runtime.GC()
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkCacheIdleMemory fills the cache with 20,000 sessions (one
// lookup each, as forward-auth does), then lets the traffic stop: it
// reports the live heap before the fill, when full, and after twice the
// TTL of idleness, and the cache's own estimate when full.
//
//	go test -run '^$' -bench CacheIdleMemory -benchtime 1x ./session/
func BenchmarkCacheIdleMemory(b *testing.B) {
	ctx := context.Background()
	db := testdb.SQLite(b)
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
	if err := db.CreateTenant(ctx, &tenant); err != nil {
		b.Fatal(err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "ada", Email: "ada@acme.example", FirstName: "Ada", LastName: "Lovelace",
		WebAccess: true, Roles: []lanyard.RoleGrant{{Role: "staff"}, {Role: "admin"}}}
	user.Normalize()
	if err := db.CreateUser(ctx, &user); err != nil {
		b.Fatal(err)
	}
	mgr := session.NewManager(db, session.Options{})
	const n = 20_000
	ids := make([]string, n)
	for i := range ids {
		id, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{ClientIP: "192.0.2.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) bench"})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	// Long enough that no entry expires while the cache fills.
	const ttl = 5 * time.Second
	for range b.N {
		cache := session.NewCache(mgr, db, session.CacheOptions{TTL: ttl})
		before := heapBytes()
		for _, id := range ids {
			if _, err := cache.Lookup(ctx, id); err != nil {
				b.Fatal(err)
			}
		}
		full := heapBytes()
		stats := cache.Stats()
		time.Sleep(3 * ttl) // idle: expiry, then one sweep
		idle := heapBytes()
		if got := cache.Stats(); got.Entries != 0 {
			b.Fatalf("after %v idle: %d entries left", 3*ttl, got.Entries)
		}
		b.ReportMetric(float64(before)/1e6, "MB-heap-before")
		b.ReportMetric(float64(full)/1e6, "MB-heap-full")
		b.ReportMetric(float64(idle)/1e6, "MB-heap-idle")
		b.ReportMetric(float64(stats.Bytes)/float64(stats.Entries), "B-estimated/entry")
		b.ReportMetric(float64(full-before)/float64(n), "B-heap/entry")
		runtime.KeepAlive(cache)
	}
}
