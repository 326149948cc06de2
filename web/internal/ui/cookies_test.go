package ui

import (
	"net/http"
	"net/url"
	"testing"
)

// TestSSOBindingCookieOverPlainHTTP: on a plain-http host other than
// loopback, browsers refuse Secure cookies, so the binding cookie falls
// back to no SameSite attribute (see bindingCookiePolicy).
func TestSSOBindingCookieOverPlainHTTP(t *testing.T) {
	for _, tc := range []struct {
		base     string
		secure   bool
		sameSite http.SameSite
	}{
		{"https://sso.example.com", true, http.SameSiteNoneMode},
		{"http://localhost:8080", true, http.SameSiteNoneMode},
		{"http://127.0.0.1:8080", true, http.SameSiteNoneMode},
		{"http://[::1]:8080", true, http.SameSiteNoneMode},
		{"http://sso.internal:8080", false, http.SameSite(0)},
	} {
		u, _ := url.Parse(tc.base)
		p := newBindingCookiePolicy(u)
		if p.secure != tc.secure || p.sameSite != tc.sameSite || p.fallback == tc.secure {
			t.Errorf("%s: %+v", tc.base, p)
		}
	}
}
