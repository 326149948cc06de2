package gateway

import (
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// TrustedOrigin parses an entry of Config.TrustedHosts: a whole origin
// (https://app.example.com:8443), or a host with an optional port, which
// takes the scheme of Lanyard's base URL. A trusted origin is never plain
// http when Lanyard is https: a sign-in handed off to it would lose its
// Secure cookie, and any network attacker could read or forge its pages.
func TrustedOrigin(entry, baseScheme string) (string, error) {
	entry = strings.TrimSpace(entry)
	raw := entry
	if !strings.Contains(entry, "://") {
		raw = baseScheme + "://" + entry
	}
	o, ok := lanyard.CanonicalOrigin(raw)
	if !ok {
		return "", fmt.Errorf("trusted host %q: want a host (app.example.com, app.example.com:8443) or an origin (https://app.example.com:8443), ASCII only (punycode for international names), no path", entry)
	}
	if baseScheme == "https" && strings.HasPrefix(o, "http://") {
		return "", fmt.Errorf("trusted host %q: plain http while Lanyard is on https; a sign-in handed off there would travel unprotected", entry)
	}
	return o, nil
}
