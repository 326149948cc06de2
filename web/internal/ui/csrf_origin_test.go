package ui

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// TestCheckOriginWhole: a form post is accepted only from Lanyard's own
// origin (the request's host on the base URL's scheme, or the base URL's
// origin), compared whole, whether or not the browser sends
// Sec-Fetch-Site.
func TestCheckOriginWhole(t *testing.T) {
	base, _ := url.Parse("https://sso.example.com")
	k := New(Options{BaseURL: base, AdminHost: "admin.example.com"})
	for _, tc := range []struct {
		host, origin, fetchSite string
		ok                      bool
	}{
		{"sso.example.com", "https://sso.example.com", "", true},
		{"sso.example.com", "https://sso.example.com:443", "", false}, // browsers never send these
		{"sso.example.com", "https://SSO.example.com", "", false},
		{"sso.example.com", "", "", true}, // not a browser: no cookies of a victim
		{"sso.example.com", "https://sso.example.com", "same-origin", true},
		{"admin.example.com", "https://admin.example.com", "", true},   // the admin host, its own origin
		{"sso.example.com", "http://sso.example.com", "", false},       // a plain-http page of the same host
		{"sso.example.com", "https://sso.example.com:8443", "", false}, // another port
		{"sso.example.com:8443", "https://sso.example.com", "", true},  // the base URL's origin behind a proxy
		{"sso.example.com", "https://sso.example.com.evil.example", "", false},
		{"sso.example.com", "https://evilsso.example.com", "", false},
		{"sso.example.com", "https://app.example.com", "", false},
		{"sso.example.com", "https://sso.example.com.", "", false},
		{"sso.example.com", "null", "", false},
		{"sso.example.com", "https://user@sso.example.com", "", false},
		{"sso.example.com", "https://evil.example", "cross-site", false},
		{"sso.example.com", "https://app.example.com", "same-site", false},
		{"admin.example.com", "https://sso.example.com", "same-site", false}, // an application's page on the base host
		{"admin.example.com", "https://sso.example.com", "", false},
		{"admin.example.com", "https://admin.example.com", "same-origin", true},
		{"sso.example.com", "https://sso.example.com", "same-site", true}, // the base URL's origin, trusted off the admin host
		{"sso.example.com", "http://sso.example.com", "same-site", false},
	} {
		req := httptest.NewRequest(http.MethodPost, "https://"+tc.host+"/admin/tokens", nil)
		req.Host = tc.host
		if tc.origin != "" {
			req.Header.Set("Origin", tc.origin)
		}
		if tc.fetchSite != "" {
			req.Header.Set("Sec-Fetch-Site", tc.fetchSite)
		}
		if err := k.CheckOrigin(req); (err == nil) != tc.ok {
			t.Errorf("POST to %s from %q (Sec-Fetch-Site %q): %v; want ok %v", tc.host, tc.origin, tc.fetchSite, err, tc.ok)
		}
	}
}
