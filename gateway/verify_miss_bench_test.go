package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/identity/verify"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// fixedTenants answers the tenant from memory, as the configuration
// registry does once it has read it.
type fixedTenants lanyard.Tenant

func (f fixedTenants) TenantByID(_ context.Context, id int64) (lanyard.Tenant, error) {
	if id != f.ID {
		return lanyard.Tenant{}, lanyard.ErrNotFound
	}
	return lanyard.Tenant(f), nil
}

// BenchmarkVerifyMiss measures the forward-auth check of a session that is
// not in the cache, on SQLite, wired as "lanyard serve" wires it: one read
// of the session with its account, the tenant from memory, the activity
// handed to the background writer (the sessions were last seen two
// minutes ago) and a new identity token. Every iteration presents another
// session. Its allocations are the miss's share of the garbage collector.
func BenchmarkVerifyMiss(b *testing.B) {
	ctx := context.Background()
	store := testdb.SQLite(b)
	tenant, user := benchAccount(b, store)
	earlier := session.NewManager(store, session.Options{Now: func() time.Time { return time.Now().Add(-2 * time.Minute) }})
	ids := make([]string, b.N)
	for i := range ids {
		id, _, err := earlier.Open(ctx, tenant, user, lanyard.SessionSSO, session.Meta{})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	keys := identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: "https://sso.example.com"})
	if err := keys.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	cache := session.NewCache(session.NewManager(store, session.Options{}), store, session.CacheOptions{Tenants: fixedTenants(tenant),
		// The writer's batches are background work: none runs meanwhile.
		Activity: session.ActivityOptions{FlushInterval: time.Hour}})
	b.Cleanup(func() { cache.Close(ctx) })
	base, _ := url.Parse("https://sso.example.com")
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	handler := gw.Verify()
	reqs := make([]*http.Request, b.N)
	for i, id := range ids {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/auth/verify?aud=wiki", nil)
		reqs[i].AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: id})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, reqs[i])
		if rec.Code != http.StatusOK || rec.Header().Get(gateway.HeaderJWT) == "" {
			b.Fatalf("status %d, token %q", rec.Code, rec.Header().Get(gateway.HeaderJWT))
		}
	}
	b.StopTimer()
	if n := cache.Activity().PendingCount(); n != b.N {
		b.Fatalf("activity of %d sessions waits, want %d: the sessions were meant to be due for it", n, b.N)
	}
}

// benchAccount creates the tenant acme and its user ada, holding the role
// staff, for the benchmarks.
func benchAccount(b testing.TB, store lanyard.Store) (lanyard.Tenant, lanyard.User) {
	ctx := context.Background()
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
	if err := store.CreateTenant(ctx, &tenant); err != nil {
		b.Fatal(err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "ada", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		WebAccess: true, Roles: []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleIdP}}}
	user.Normalize()
	if err := store.CreateUser(ctx, &user); err != nil {
		b.Fatal(err)
	}
	return tenant, user
}

// BenchmarkVerifyReturning measures the forward-auth check of sessions
// read from the store at each check (their snapshot is gone, as for a
// user whose requests are more than the cache's 2 seconds apart), against
// sessions never seen before: "returning" sessions were checked once
// before, and their token, kept for reuse, is handed out again; "new"
// ones each need a signature. No activity is due for either.
func BenchmarkVerifyReturning(b *testing.B) {
	for _, returning := range []bool{false, true} {
		name := "new"
		if returning {
			name = "returning"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			store := testdb.SQLite(b)
			tenant, user := benchAccount(b, store)
			mgr := session.NewManager(store, session.Options{})
			ids := make([]string, b.N)
			for i := range ids {
				id, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionSSO, session.Meta{})
				if err != nil {
					b.Fatal(err)
				}
				ids[i] = id
			}
			keys := identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: "https://sso.example.com"})
			if err := keys.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
			// A snapshot outlives its read by a nanosecond: every check
			// reads the store.
			cache := session.NewCache(mgr, store, session.CacheOptions{TTL: time.Nanosecond, Tenants: fixedTenants(tenant),
				Activity: session.ActivityOptions{FlushInterval: time.Hour}})
			b.Cleanup(func() { cache.Close(ctx) })
			base, _ := url.Parse("https://sso.example.com")
			gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, Keys: keys})
			if err != nil {
				b.Fatal(err)
			}
			handler := gw.Verify()
			reqs := make([]*http.Request, b.N)
			for i, id := range ids {
				reqs[i] = httptest.NewRequest(http.MethodGet, "/auth/verify?aud=wiki", nil)
				reqs[i].AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: id})
			}
			check := func(i int) string {
				rec := httptest.NewRecorder()
				handler.ServeHTTP(rec, reqs[i])
				if rec.Code != http.StatusOK || rec.Header().Get(gateway.HeaderJWT) == "" {
					b.Fatalf("status %d, token %q", rec.Code, rec.Header().Get(gateway.HeaderJWT))
				}
				return rec.Header().Get(gateway.HeaderJWT)
			}
			if returning {
				for i := range b.N {
					check(i)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				check(i)
			}
		})
	}
}

// BenchmarkVerifyMissFloor measures a miss of the session check next to
// the parts it cannot do without, each alone on the same store: a check
// answered from the cache ("hot"), one ES256 signature of the identity
// token ("sign") and the read of a session with its account ("read").
// A miss (a session never seen, no activity due) costs at least their sum.
func BenchmarkVerifyMissFloor(b *testing.B) {
	ctx := context.Background()
	store := testdb.SQLite(b)
	tenant, user := benchAccount(b, store)
	mgr := session.NewManager(store, session.Options{})
	const sessions = 20_000
	ids := make([]string, sessions)
	for i := range ids {
		id, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionSSO, session.Meta{})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	keys := identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: "https://sso.example.com"})
	if err := keys.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	cache := session.NewCache(mgr, store, session.CacheOptions{TTL: time.Hour, Tenants: fixedTenants(tenant),
		Activity: session.ActivityOptions{FlushInterval: time.Hour}})
	b.Cleanup(func() { cache.Close(ctx) })
	base, _ := url.Parse("https://sso.example.com")
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	handler := gw.Verify()
	request := func(id string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/auth/verify?aud=wiki", nil)
		r.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: id})
		return r
	}
	check := func(b *testing.B, r *http.Request) {
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK || rec.Header().Get(gateway.HeaderJWT) == "" {
			b.Fatalf("status %d", rec.Code)
		}
	}
	next := 1 // ids[0] is the hot session; each miss takes the next one
	b.Run("miss", func(b *testing.B) {
		if next+b.N > sessions {
			b.Skipf("%d sessions seeded, %d asked", sessions, b.N)
		}
		reqs := make([]*http.Request, b.N)
		for i := range reqs {
			reqs[i] = request(ids[next+i])
		}
		next += b.N
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			check(b, reqs[i])
		}
	})
	b.Run("hot", func(b *testing.B) {
		r := request(ids[0])
		check(b, r)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			check(b, r)
		}
	})
	b.Run("sign", func(b *testing.B) {
		claims := identity.Claims{Audience: verify.Audience{"wiki"}, Subject: user.Login, UserID: user.ID, Tenant: tenant.Slug,
			Email: user.Email, Name: user.FullName(), GivenName: user.FirstName, FamilyName: user.LastName, Roles: user.RoleNames(),
			SessionExpiry: time.Now().Add(time.Hour).Unix()}
		b.ReportAllocs()
		for range b.N {
			if _, err := keys.Sign(claims); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		holders, ok := store.(session.HolderStore)
		if !ok {
			b.Fatal("the store reads no session with its account")
		}
		hashes := make([][]byte, len(ids))
		for i, id := range ids {
			hashes[i] = lanyard.HashSessionID(id)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			if _, _, err := holders.SessionHolder(ctx, hashes[i%len(hashes)]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
