package sso

import (
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/relay"
)

type trustedOrigins map[string]bool

func (t trustedOrigins) AllowsOrigin(o string) bool { return t[o] }

// TestPassiveReturnRechecksTheOrigin: the origin of the page running a
// check travels with the pending request (its return path), and is checked
// again when the answer comes: an origin no longer trusted then hears
// nothing.
func TestPassiveReturnRechecksTheOrigin(t *testing.T) {
	const app, evil = "https://app.example.com", "https://evil.example.com"
	d := &Deps{Origins: relay.Origins{Self: "https://sso.example.com", Trusted: trustedOrigins{app: true}}}
	hash := make([]byte, 32)
	check, ok := d.passiveReturn(passiveReturnPath(checkInFrame, lanyard.Session{Hash: hash}, app))
	if !ok || check.origin != app || check.mode != checkInFrame {
		t.Errorf("return path of a trusted origin parsed as %+v %v", check, ok)
	}
	if check, ok := d.passiveReturn(passiveReturnPath(checkInPopup, lanyard.Session{Hash: hash}, evil)); !ok || check.origin != "" {
		t.Errorf("an origin no longer trusted is kept: %+v", check)
	}
}
