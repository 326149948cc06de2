package relay

import "testing"

type trusted map[string]bool

func (t trusted) AllowsOrigin(o string) bool { return t[o] }

// TestValidate: Lanyard's own origin, written any way a browser may send
// it, is Lanyard's pages; an application's origin must be trusted whole.
func TestValidate(t *testing.T) {
	o := Origins{Self: "https://sso.example.com", Trusted: trusted{"https://app.example.com": true}}
	for _, tc := range []struct {
		origin, want string
		ok           bool
	}{
		{"", "", true},
		{"https://sso.example.com", "", true},
		{"https://sso.example.com:443", "", true},
		{"https://app.example.com", "https://app.example.com", true},
		{"http://sso.example.com", "", false},
		{"https://sso.example.com:8443", "", false},
		{"https://sso.example.com.", "", false},
		{"https://sso.example.com.evil.example", "", false},
		{"https://app.example.com:8443", "", false},
		{"null", "", false},
	} {
		got, ok := o.Validate(tc.origin)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Validate(%q) = %q, %v; want %q, %v", tc.origin, got, ok, tc.want, tc.ok)
		}
	}
}
