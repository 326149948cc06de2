package gateway_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// TestHeldUntilReady: a gateway created held answers 503 "starting" on its
// routes and hand-off paths, passes Lanyard's own paths through, and
// serves normally after SetReady.
func TestHeldUntilReady(t *testing.T) {
	store := testdb.SQLite(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the upstream was reached while the gateway is held: %s", r.URL)
	}))
	defer upstream.Close()
	base, _ := url.Parse("https://sso.example.com")
	mgr := session.NewManager(store, session.Options{})
	gw, err := gateway.New(gateway.Config{
		BaseURL:      base,
		Sessions:     session.NewCache(mgr, store, session.CacheOptions{}),
		Store:        store,
		AdminHost:    "admin.example.com",
		StaticRoutes: []lanyard.ProxyRoute{{Name: "app", PathPrefix: "/app/", Upstream: upstream.URL, Tenant: lanyard.DefaultTenantSlug}},
		Held:         true,
	})
	if err != nil {
		t.Fatal(err)
	}
	lanyardHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := gw.Wrap(lanyardHandler)
	get := func(path string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "https://sso.example.com"+path, nil)
		req.Header.Set("Accept", "text/html")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	for _, path := range []string{"/app/page", "/auth/handoff?tenant=default&to=https://app.example.com/", "/auth/session", "/auth/logout"} {
		rec := get(path)
		if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
			t.Errorf("held: GET %s answered %d (Retry-After %q), want 503 with Retry-After", path, rec.Code, rec.Header().Get("Retry-After"))
		}
	}
	if rec := get("/healthz"); rec.Code != http.StatusTeapot {
		t.Errorf("held: Lanyard's own path answered %d, want it passed to Lanyard", rec.Code)
	}

	gw.SetReady()
	if rec := get("/app/page"); rec.Code != http.StatusFound {
		t.Errorf("ready, no session: GET /app/page answered %d, want 302 to the login", rec.Code)
	}
}
