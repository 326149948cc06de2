package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestAdminGate: with admin_base_url, the admin UI and API answer on the
// admin host only, and the admin host proxies nothing.
func TestAdminGate(t *testing.T) {
	lanyardHandler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("lanyard")) })
	proxied := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("proxied")) })
	h := adminGate("sso-admin.example.com", lanyardHandler, proxied)
	for _, tc := range []struct {
		host, path, want string
		code             int
	}{
		{"sso-admin.example.com", "/admin/", "lanyard", 200},
		{"SSO-Admin.example.com", "/api/v1/tenants", "lanyard", 200},
		{"sso-admin.example.com", "/portal/", "lanyard", 200}, // never proxied there
		{"sso.example.com", "/admin/", "", 404},
		{"sso.example.com", "/admin", "", 404},
		{"sso.example.com", "/admin/tokens", "", 404},
		{"sso.example.com", "/api/v1/tokens", "", 404},
		{"sso.example.com", "/api/", "", 404},
		{"sso.example.com", "/api", "", 404},
		{"app.example.com", "/admin/", "", 404},
		{"sso-admin.example.com:8443", "/admin/", "", 404}, // another origin
		{"sso-admin.example.com.evil.example", "/admin/", "", 404},
		{"sso.example.com", "/portal/", "proxied", 200},
		{"sso.example.com", "/administrator", "proxied", 200},
	} {
		req := httptest.NewRequest(http.MethodGet, "http://"+tc.host+tc.path, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != tc.code || (tc.want != "" && rec.Body.String() != tc.want) {
			t.Errorf("%s%s: %d %q, want %d %q", tc.host, tc.path, rec.Code, rec.Body.String(), tc.code, tc.want)
		}
	}
}
