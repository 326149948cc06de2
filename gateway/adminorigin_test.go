package gateway_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// TestAdminOrigin: the administration never shares an origin with a
// proxied application. Without an admin host, no route may be served on
// Lanyard's host; with one, the admin UI and API answer there only, and
// nothing is proxied there.
func TestAdminOrigin(t *testing.T) {
	store := testdb.SQLite(t)
	base, _ := url.Parse("https://sso.example.com")
	mgr := session.NewManager(store, session.Options{})
	cache := session.NewCache(mgr, store, session.CacheOptions{})
	route := func(host, prefix string) lanyard.ProxyRoute {
		return lanyard.ProxyRoute{Name: "app", Host: host, PathPrefix: prefix, Upstream: "http://127.0.0.1:1", Tenant: "acme"}
	}

	// Refused routes, and the message that says what to do.
	for _, tc := range []struct {
		adminHost string
		route     lanyard.ProxyRoute
		refused   bool
	}{
		{"", route("", "/portal/"), true},
		{"", route("", "/"), true},
		{"", route("sso.example.com", "/portal/"), true},
		{"", route("SSO.Example.com", "/"), true},
		{"", route("app.example.com", "/"), false},
		{"admin.example.com", route("", "/portal/"), false},
		{"admin.example.com", route("sso.example.com", "/portal/"), false},
		{"admin.example.com", route("admin.example.com", "/x/"), true},
		{"admin.example.com", route("Admin.Example.com", "/"), true},
		{"admin.example.com:8443", route("admin.example.com", "/"), true},
	} {
		_, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, AdminHost: tc.adminHost, StaticRoutes: []lanyard.ProxyRoute{tc.route}})
		if tc.refused && (err == nil || !strings.Contains(err.Error(), "admin_base_url")) {
			t.Errorf("admin host %q, route %s%s: %v; want a refusal naming admin_base_url", tc.adminHost, tc.route.Host, tc.route.PathPrefix, err)
		}
		if !tc.refused && err != nil {
			t.Errorf("admin host %q, route %s%s: %v; want it served", tc.adminHost, tc.route.Host, tc.route.PathPrefix, err)
		}
	}
	if _, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, AdminHost: "SSO.example.com"}); err == nil {
		t.Error("the admin host is the base URL's host: want a refusal")
	}

	// The gate, with a catch-all route on every other host.
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "application") }))
	defer upstream.Close()
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, AdminHost: "admin.example.com",
		StaticRoutes: []lanyard.ProxyRoute{{Name: "all", PathPrefix: "/", Upstream: upstream.URL, Tenant: "acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	h := gw.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "lanyard") }))
	for _, tc := range []struct {
		host, path string
		code       int
		body       string
	}{
		{"admin.example.com", "/admin/", 200, "lanyard"},
		{"ADMIN.example.com", "/api/v1/tokens", 200, "lanyard"},
		{"admin.example.com", "/portal/", 200, "lanyard"}, // never proxied there
		{"admin.example.com", "/", 200, "lanyard"},
		{"sso.example.com", "/admin/", 404, ""},
		{"sso.example.com", "/admin", 404, ""},
		{"sso.example.com", "/admin/tokens/new", 404, ""},
		{"sso.example.com", "/api/v1/tokens", 404, ""},
		{"sso.example.com", "/api", 404, ""},
		{"app.example.com", "/admin/", 404, ""},
		{"admin.example.com:8443", "/admin/", 404, ""},
		{"admin.example.com.evil.example", "/api/v1/tokens", 404, ""},
		{"evil-admin.example.com", "/admin/", 404, ""},
		{"sso.example.com", "/administrator", 302, ""}, // the route: sign in first
	} {
		req := httptest.NewRequest(http.MethodGet, "https://"+tc.host+tc.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code || (tc.body != "" && rec.Body.String() != tc.body) {
			t.Errorf("%s%s: %d %q; want %d %q", tc.host, tc.path, rec.Code, rec.Body.String(), tc.code, tc.body)
		}
	}
}
