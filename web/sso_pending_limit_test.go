package web

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/web/sso"
)

// TestPendingAuthnRequestsBounded fetches the SP-initiated login start in a
// loop from several client addresses: each address starts at most
// PerClient requests within the window, all of them together keep at most
// Total live, refusals (429) store nothing, and both limits reopen as the
// requests expire.
func TestPendingAuthnRequestsBounded(t *testing.T) {
	lim := sso.PendingLimits{PerClient: 4, Total: 10, Window: 10 * time.Minute}
	eachEngine(t, func(t *testing.T, opts envOptions) {
		opts.pending = lim
		e := newEnv(t, opts)
		e.ssoTenant("acme")
		ctx := context.Background()
		start := func(c *http.Client) int {
			t.Helper()
			return e.get(c, "/t/acme/saml/login?return_to=/x").StatusCode
		}
		live := func() int {
			t.Helper()
			n, err := e.store.CountPendingRequests(ctx, e.clock.Now(), 1000)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, tc := range []struct {
			addr          string
			tries, admits int
		}{
			{"127.0.0.11", 7, 4}, // its own limit
			{"127.0.0.12", 4, 4},
			{"127.0.0.13", 4, 2}, // the total is reached
			{"127.0.0.14", 2, 0},
		} {
			c := e.clientFrom(tc.addr)
			admitted := 0
			for i := range tc.tries {
				switch status := start(c); status {
				case http.StatusOK:
					admitted++
				case http.StatusTooManyRequests:
				default:
					t.Fatalf("%s, try %d: status %d", tc.addr, i+1, status)
				}
			}
			if admitted != tc.admits {
				t.Errorf("%s: %d of %d login starts admitted, want %d", tc.addr, admitted, tc.tries, tc.admits)
			}
		}
		if n := live(); n != lim.Total {
			t.Errorf("%d live AuthnRequests, want the total limit %d", n, lim.Total)
		}
		// The requests expire (the janitor purges them): both limits
		// reopen.
		e.clock.Advance(lim.Window + time.Second)
		if _, err := e.store.PurgePendingRequests(ctx, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		if status := start(e.clientFrom("127.0.0.11")); status != http.StatusOK {
			t.Errorf("after the window: status %d", status)
		}
	})
}
