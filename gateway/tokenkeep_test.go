package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/identity/verify"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// keepEnv is a gateway whose session cache forgets within milliseconds,
// as it does in production within seconds, so that the tests let the
// cache's and the identities' own timers run.
type keepEnv struct {
	store   lanyard.Store
	gw      *gateway.Gateway
	handler http.Handler
	keys    *identity.KeyRing
	mgr     *session.Manager
	cache   *session.Cache
	tenant  lanyard.Tenant
	user    lanyard.User
}

func newKeepEnv(t *testing.T, store lanyard.Store, tokenTTL time.Duration, keepBytes int64) *keepEnv {
	return newKeepEnvTouching(t, store, tokenTTL, keepBytes, 0)
}

// newKeepEnvTouching is newKeepEnv whose session check records a
// session's activity when it was last recorded touch ago or more (0: the
// default, a minute).
func newKeepEnvTouching(t *testing.T, store lanyard.Store, tokenTTL time.Duration, keepBytes int64, touch time.Duration) *keepEnv {
	t.Helper()
	ctx := context.Background()
	tenant, user := benchAccount(t, store)
	keys := identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: "https://sso.example.com", TokenTTL: tokenTTL})
	if err := keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	mgr := session.NewManager(store, session.Options{TouchInterval: touch})
	cache := session.NewCache(mgr, store, session.CacheOptions{TTL: 20 * time.Millisecond,
		Activity: session.ActivityOptions{FlushInterval: 10 * time.Millisecond}})
	t.Cleanup(func() { cache.Close(ctx) })
	base, _ := url.Parse("https://sso.example.com")
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, Keys: keys, TokenKeepBytes: keepBytes})
	if err != nil {
		t.Fatal(err)
	}
	return &keepEnv{store: store, gw: gw, handler: gw.Verify(), keys: keys, mgr: mgr, cache: cache, tenant: tenant, user: user}
}

func (e *keepEnv) open(t *testing.T) string {
	t.Helper()
	id, _, err := e.mgr.Open(context.Background(), e.tenant, e.user, lanyard.SessionSSO, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// token asks /auth/verify for the session and returns its X-Lanyard-JWT.
func (e *keepEnv) token(t *testing.T, sessionID, audience string) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/auth/verify?aud="+audience, nil)
	req.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: sessionID})
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	tok := rec.Header().Get(gateway.HeaderJWT)
	if rec.Code != http.StatusOK || tok == "" {
		t.Fatalf("verify: status %d, token %q: %s", rec.Code, tok, rec.Body)
	}
	return tok
}

// claims checks tok as the application wiki would, and returns what it
// states.
func (e *keepEnv) claims(t *testing.T, tok string) verify.Claims {
	t.Helper()
	c, err := verify.Check(tok, e.keys.PublicKeys(), time.Now(), verify.Expect{Issuer: "https://sso.example.com", Audience: "wiki", Tenant: "acme", Leeway: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// forgotten waits until the gateway's timers have dropped every identity
// derived from a snapshot: the next check reads the store.
func (e *keepEnv) forgotten(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.gw.IdentityCount() > 0 || e.gw.SessionCacheStats().Entries > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s the gateway still holds %d identities and %d snapshots", e.gw.IdentityCount(), e.gw.SessionCacheStats().Entries)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTokenOutlivesTheSnapshot: a user's next request after the session
// cache has forgotten the session reads the store again, and gets the
// token signed for the same identity before, without a new signature,
// while the token has more than half its lifetime left; once the account
// changes, the token states the change.
func TestTokenOutlivesTheSnapshot(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		e := newKeepEnv(t, store, 0, 0)
		id := e.open(t)
		wiki, blog := e.token(t, id, "wiki"), e.token(t, id, "blog")
		if n, b := e.gw.TokenKeepStats(); n != 1 || b <= int64(len(wiki)+len(blog)) {
			t.Fatalf("kept tokens of %d sessions in %d bytes, want 1 session holding both tokens", n, b)
		}
		for range 3 {
			e.forgotten(t)
			if e.token(t, id, "wiki") != wiki || e.token(t, id, "blog") != blog {
				t.Fatal("a session read again from the store, stating the same identity, got a new token")
			}
		}

		// Another session of the same account gets tokens of its own.
		if e.token(t, e.open(t), "wiki") == wiki {
			t.Fatal("two sessions share a token")
		}

		// A role granted meanwhile: the next token states it.
		if _, err := store.UpdateUser(context.Background(), e.user.ID, func(u *lanyard.User) error {
			u.Roles = append(u.Roles, lanyard.RoleGrant{Role: "ops", Source: lanyard.RoleManual})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		e.forgotten(t)
		changed := e.token(t, id, "wiki")
		if changed == wiki {
			t.Fatal("the account's roles changed, and its session got the token that states the old ones")
		}
		claims := e.claims(t, changed)
		if !slices.Contains(claims.Roles, "ops") {
			t.Fatalf("roles %v in the new token, want ops among them", claims.Roles)
		}
		e.forgotten(t)
		if e.token(t, id, "wiki") != changed {
			t.Fatal("the token stating the new roles was not kept")
		}
	})
}

// TestTokenKeepBounded: a flood of sessions, each checked once, never
// takes the kept tokens over their bound, and what stays is reusable.
func TestTokenKeepBounded(t *testing.T) {
	const limit = 16 << 10
	e := newKeepEnv(t, testdb.SQLite(t), 0, limit)
	first := e.open(t)
	tok := e.token(t, first, "wiki")
	held := 0
	for range 200 {
		e.token(t, e.open(t), "wiki")
		n, b := e.gw.TokenKeepStats()
		if b > limit {
			t.Fatalf("kept tokens take %d bytes, over the bound of %d", b, limit)
		}
		held = max(held, n)
	}
	if held < 10 {
		t.Fatalf("at most %d sessions' tokens held within %d bytes: the bound counts too much per token", held, limit)
	}
	// The flood pushed the first session's token out: it is signed again.
	e.forgotten(t)
	if e.token(t, first, "wiki") == tok {
		t.Fatal("a token survived a flood of 200 sessions in a keep of 16 KB")
	}

	// Concurrent checks of sessions coming and going, for several
	// applications, keep within the bound too (and run under -race).
	ids := make([]string, 40)
	for i := range ids {
		ids[i] = e.open(t)
	}
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				req := httptest.NewRequest(http.MethodGet, "/auth/verify?aud=app"+strconv.Itoa(i%3), nil)
				req.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: ids[(c*7+i)%len(ids)]})
				rec := httptest.NewRecorder()
				e.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Header().Get(gateway.HeaderJWT) == "" {
					t.Errorf("verify: status %d", rec.Code)
					return
				}
				if _, b := e.gw.TokenKeepStats(); b > limit {
					t.Errorf("kept tokens take %d bytes, over the bound of %d", b, limit)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestTokenKeepEmptiesOnItsOwn: the keep's timer drops tokens once they
// are past their reuse window (half their lifetime), with no request
// coming, and a check after that signs anew.
func TestTokenKeepEmptiesOnItsOwn(t *testing.T) {
	e := newKeepEnv(t, testdb.SQLite(t), 2*time.Second, 0)
	id := e.open(t)
	tok := e.token(t, id, "wiki")
	for range 5 {
		e.token(t, e.open(t), "wiki")
	}
	if n, _ := e.gw.TokenKeepStats(); n != 6 {
		t.Fatalf("tokens of %d sessions kept, want 6", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, b := e.gw.TokenKeepStats()
		if n == 0 && b == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the tokens' reuse window of 1 s, %d sessions' tokens (%d bytes) are still kept", n, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if e.token(t, id, "wiki") == tok {
		t.Fatal("a token past half its lifetime was handed out again")
	}
}

// TestTokenKeptWhileActivityExtendsTheSession: a session's activity moves
// its end later at each check here (it is recorded every 50 ms); its token
// states an earlier end, which the session outlives, and is kept. A token
// never states a later end than its session's: when the end comes nearer,
// the token is signed anew.
func TestTokenKeptWhileActivityExtendsTheSession(t *testing.T) {
	e := newKeepEnvTouching(t, testdb.SQLite(t), 0, 0, 50*time.Millisecond)
	ctx := context.Background()
	id := e.open(t)
	tok := e.token(t, id, "wiki")
	first, err := e.cache.Lookup(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	end := first.Session.ExpiresAt()
	for range 3 {
		e.forgotten(t)
		time.Sleep(60 * time.Millisecond)
		if got := e.token(t, id, "wiki"); got != tok { // reads the store and records the activity
			t.Fatal("a session extended by its activity got a new token")
		}
		now, err := e.cache.Lookup(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !now.Session.ExpiresAt().After(end) {
			t.Fatalf("the session's end stayed at %v: the test did not extend the session", end)
		}
		end = now.Session.ExpiresAt()
	}

	// The tenant shortens its idle time: the next activity brings the
	// session's end nearer than the token states, so it is signed anew.
	if _, err := e.store.UpdateTenant(ctx, e.tenant.ID, func(tn *lanyard.Tenant) error {
		tn.SSO.SessionIdle = lanyard.Duration(time.Hour)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	e.forgotten(t)
	time.Sleep(60 * time.Millisecond)
	nearer := e.token(t, id, "wiki")
	if nearer == tok {
		t.Fatal("the session's end came nearer, and its session got the token that states the later end")
	}
	claims := e.claims(t, nearer)
	if limit := time.Now().Add(time.Hour).Unix(); claims.SessionExpiry > limit {
		t.Fatalf("the new token states a session end %v, after the shortened idle time allows (%v)", time.Unix(claims.SessionExpiry, 0), time.Unix(limit, 0))
	}
}
