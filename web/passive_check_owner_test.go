package web

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/session"
)

// TestPassiveCheckOfAnotherSession: another user of the tenant who saw a
// session's hash signs in with a return path naming it as a passive check
// (any mode, any key but the session's own): the session lives on.
func TestPassiveCheckOfAnotherSession(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{
		idpUser("alice", "alice@example.com", "Alice", "Liddell", nil),
		idpUser("bob", "bob@example.com", "Bob", "Builder", nil),
	})
	e.addTenant("acme", tenantOptions{settings: []string{"jit=true"}})
	alice := newBrowser()
	if a := alice.post(t, e.spLogin(alice, "acme", "/", "alice")); a.status != http.StatusSeeOther || a.session == "" {
		t.Fatalf("alice's login: %d: %s", a.status, a.body)
	}
	ctx := context.Background()
	hash := lanyard.HashSessionID(e.sessionCookie(alice))
	aliceSession, err := e.store.Session(ctx, hash, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	bobKey := func() string {
		bob := newBrowser()
		if a := bob.post(t, e.spLogin(bob, "acme", "/", "bob")); a.session == "" {
			t.Fatalf("bob's login: %d", a.status)
		}
		s, err := e.store.Session(ctx, lanyard.HashSessionID(e.sessionCookie(bob)), e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		return session.CheckKey(s)
	}()
	hexHash := hex.EncodeToString(hash)
	for _, q := range []url.Values{
		{"mode": {"popup"}, "s": {hexHash}},
		{"mode": {"frame"}, "s": {hexHash}},
		{"s": {hexHash}},
		{"mode": {"popup"}, "s": {strings.ToUpper(hexHash)}},
		{"mode": {"popup"}, "s": {hexHash}, "k": {""}},
		{"mode": {"popup"}, "s": {hexHash}, "k": {"x"}},
		{"mode": {"popup"}, "s": {hexHash}, "k": {bobKey}},                               // the attacker's own key
		{"mode": {"popup"}, "s": {hexHash}, "k": {session.CSRFToken(lanyard.Session{})}}, // a key of an empty secret
		{"mode": {"popup"}, "s": {hexHash}, "k": {session.CheckKey(lanyard.Session{})}},
		{"mode": {"popup"}, "s": {hexHash, "00"}, "k": {bobKey}},
	} {
		bob := newBrowser()
		bob.post(t, e.spLogin(bob, "acme", "/lanyard/checked?"+q.Encode(), "bob"))
		if _, err := e.store.Session(ctx, hash, e.clock.Now()); err != nil {
			t.Fatalf("bob's sign-in with the return path /lanyard/checked?%s ended alice's session: %v", q.Encode(), err)
		}
	}
	// Alice's own check still works: the key is hers.
	if !session.ValidCheckKey(aliceSession, session.CheckKey(aliceSession)) {
		t.Fatal("alice's own key is refused")
	}
}
