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

// verifyBench is the forward-auth check wired as "lanyard serve" wires
// it, on SQLite, with sessions of one account opened for the benchmarks.
type verifyBench struct {
	store   lanyard.Store
	tenant  lanyard.Tenant
	user    lanyard.User
	keys    *identity.KeyRing
	cache   *session.Cache
	handler http.Handler
	ids     []string
}

// newVerifyBench opens n sessions, as if opened at openedAt (nil: now),
// and a gateway whose session cache keeps a snapshot for ttl. The
// activity's batches are background work: none runs meanwhile.
func newVerifyBench(b *testing.B, n int, openedAt func() time.Time, ttl time.Duration) *verifyBench {
	ctx := context.Background()
	v := &verifyBench{store: testdb.SQLite(b)}
	v.tenant, v.user = benchAccount(b, v.store)
	v.ids = v.open(b, n, openedAt)
	v.keys = identity.NewKeyRing(v.store, identity.KeyRingOptions{Issuer: "https://sso.example.com"})
	if err := v.keys.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	v.cache = session.NewCache(session.NewManager(v.store, session.Options{}), v.store, session.CacheOptions{TTL: ttl,
		Tenants: fixedTenants(v.tenant), Activity: session.ActivityOptions{FlushInterval: time.Hour}})
	b.Cleanup(func() { v.cache.Close(ctx) })
	base, _ := url.Parse("https://sso.example.com")
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: v.cache, Keys: v.keys})
	if err != nil {
		b.Fatal(err)
	}
	v.handler = gw.Verify()
	return v
}

// open opens n more sessions of the account, as if opened at openedAt
// (nil: now), and returns their IDs.
func (v *verifyBench) open(b *testing.B, n int, openedAt func() time.Time) []string {
	opener := session.NewManager(v.store, session.Options{Now: openedAt})
	ids := make([]string, n)
	for i := range ids {
		id, _, err := opener.Open(context.Background(), v.tenant, v.user, lanyard.SessionSSO, session.Meta{})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = id
	}
	return ids
}

// requests returns a check request for each of the sessions of ids.
func (v *verifyBench) requests(ids []string) []*http.Request {
	reqs := make([]*http.Request, len(ids))
	for i, id := range ids {
		reqs[i] = httptest.NewRequest(http.MethodGet, "/auth/verify?aud=wiki", nil)
		reqs[i].AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: id})
	}
	return reqs
}

// check asks r, wants a 200 with a token and returns the token.
func (v *verifyBench) check(b *testing.B, r *http.Request) string {
	rec := httptest.NewRecorder()
	v.handler.ServeHTTP(rec, r)
	token := rec.Header().Get(gateway.HeaderJWT)
	if rec.Code != http.StatusOK || token == "" {
		b.Fatalf("status %d, token %q", rec.Code, token)
	}
	return token
}

// BenchmarkVerifyMiss measures the forward-auth check of a session that is
// not in the cache, on SQLite, wired as "lanyard serve" wires it: one read
// of the session with its account, the tenant from memory, the activity
// handed to the background writer (the sessions were last seen two
// minutes ago) and a new identity token. Every iteration presents another
// session. Its allocations are the miss's share of the garbage collector.
func BenchmarkVerifyMiss(b *testing.B) {
	v := newVerifyBench(b, b.N, func() time.Time { return time.Now().Add(-2 * time.Minute) }, session.DefaultCacheTTL)
	reqs := v.requests(v.ids)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		v.check(b, reqs[i])
	}
	b.StopTimer()
	if n := v.cache.Activity().PendingCount(); n != b.N {
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

// returningSessions is how many sessions the returning checks go round:
// their kept tokens (about 1 KB each) fit DefaultTokenKeepBytes, whatever
// b.N is, so that no token is pushed out and signed again.
const returningSessions = 4096

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
			n := b.N
			if returning {
				n = min(b.N, returningSessions)
			}
			// A snapshot outlives its read by a nanosecond: every check
			// reads the store.
			v := newVerifyBench(b, n, nil, time.Nanosecond)
			reqs := v.requests(v.ids)
			first := make([]string, len(reqs))
			if returning {
				for i, r := range reqs {
					first[i] = v.check(b, r)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				v.check(b, reqs[i%len(reqs)])
			}
			b.StopTimer()
			// What was measured is what the name says: the tokens
			// handed out at the start are handed out again.
			if returning {
				for i, r := range reqs {
					if v.check(b, r) != first[i] {
						b.Fatalf("session %d of %d got a new token: its kept one was not reused", i, len(reqs))
					}
				}
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
	// ids[0] is the hot session; "read" goes round all of them.
	v := newVerifyBench(b, 20_000, nil, time.Hour)
	b.Run("miss", func(b *testing.B) {
		// Sessions of its own, never checked: each run of the
		// benchmark opens as many as it asks.
		reqs := v.requests(v.open(b, b.N, nil))
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			v.check(b, reqs[i])
		}
	})
	b.Run("hot", func(b *testing.B) {
		r := v.requests(v.ids[:1])[0]
		v.check(b, r)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			v.check(b, r)
		}
	})
	b.Run("sign", func(b *testing.B) {
		u := v.user
		claims := identity.Claims{Audience: verify.Audience{"wiki"}, Subject: u.Login, UserID: u.ID, Tenant: v.tenant.Slug,
			Email: u.Email, Name: u.FullName(), GivenName: u.FirstName, FamilyName: u.LastName, Roles: u.RoleNames(),
			SessionExpiry: time.Now().Add(time.Hour).Unix()}
		b.ReportAllocs()
		for range b.N {
			if _, err := v.keys.Sign(claims); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		holders, ok := v.store.(session.HolderStore)
		if !ok {
			b.Fatal("the store reads no session with its account")
		}
		hashes := make([][]byte, len(v.ids))
		for i, id := range v.ids {
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
