package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// TestOIDCSessionEndsAccess: the OpenID Connect session is the Lanyard
// session. However it ends (here an administrator's deactivation, and
// expiry), the access and refresh tokens stop working at once, and the
// background round of RunOIDC sends the client that registered for it a
// back-channel logout token.
func TestOIDCSessionEndsAccess(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		opts.oidcLogoutInterval = 50 * time.Millisecond
		o := newOIDCEnv(t, opts)
		var (
			mu      sync.Mutex
			logouts []string
		)
		rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			logouts = append(logouts, r.PostFormValue("logout_token"))
			mu.Unlock()
		}))
		t.Cleanup(rp.Close)
		if _, err := o.store.UpdateOIDCClient(t.Context(), o.tenant.ID, "app", func(c *lanyard.OIDCClient) error {
			c.BackChannelLogoutURI = rp.URL + "/bc"
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); o.server.RunOIDC(ctx) }()
		t.Cleanup(func() { cancel(); <-done })

		waitLogouts := func(want int) []string {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for {
				mu.Lock()
				got := append([]string(nil), logouts...)
				mu.Unlock()
				if len(got) >= want || time.Now().After(deadline) {
					return got
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		refused := func(why string, m map[string]any) {
			t.Helper()
			if got := o.userinfo("default", m["access_token"]); got != http.StatusUnauthorized {
				t.Errorf("%s: userinfo %d, want 401", why, got)
			}
			status, r, _ := o.token("default", "app", o.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}})
			if status != http.StatusBadRequest || r["error"] != "invalid_grant" {
				t.Errorf("%s: refresh %d %v, want invalid_grant", why, status, r)
			}
		}

		// 1. An administrator deactivates the account.
		status, m := o.exchange("default", o.code("default", o.authParams()))
		if status != http.StatusOK {
			t.Fatal(status, m)
		}
		sid := idTokenClaims(t, m["id_token"])["sid"]
		if len(waitLogouts(0)) != 0 {
			t.Fatal("a logout token before any session ended")
		}
		if _, _, err := o.admin.SetUser(t.Context(), "test", "default", "alice", []string{"status=inactive"}); err != nil {
			t.Fatal(err)
		}
		refused("deactivated", m)
		got := waitLogouts(1)
		if len(got) != 1 || idTokenClaims(t, got[0])["sid"] != sid {
			t.Fatalf("logout tokens after the deactivation: %d, want 1 for sid %v", len(got), sid)
		}
		lt := idTokenClaims(t, got[0])
		if lt["aud"] != "app" || lt["iss"] != o.http.URL+"/t/default" || lt["nonce"] != nil || lt["events"] == nil {
			t.Errorf("logout token claims: %v", lt)
		}

		// 2. The session expires (idle): no one ended it, yet the client hears.
		if _, _, err := o.admin.SetUser(t.Context(), "test", "default", "alice", []string{"status=active"}); err != nil {
			t.Fatal(err)
		}
		o.signIn(o.browser)
		status, m = o.exchange("default", o.code("default", o.authParams()))
		if status != http.StatusOK {
			t.Fatal(status, m)
		}
		o.clock.Advance(24 * time.Hour)
		refused("expired", m)
		if got := waitLogouts(2); len(got) != 2 {
			t.Errorf("logout tokens after the expiry: %d, want 2", len(got))
		}
		time.Sleep(200 * time.Millisecond) // a few more rounds: nothing is sent twice
		mu.Lock()
		if len(logouts) != 2 {
			t.Errorf("logout tokens later: %d, want still 2", len(logouts))
		}
		mu.Unlock()
	})
}
