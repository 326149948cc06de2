package sso

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// blockingSnapshots holds every request in the tenant lookup, the first
// step of the ACS and SLO handlers, until release is closed.
type blockingSnapshots struct {
	entered atomic.Int32
	release chan struct{}
}

func (b *blockingSnapshots) Snapshot(ctx context.Context, slug string) (*tenantcfg.Snapshot, error) {
	b.entered.Add(1)
	<-b.release
	return nil, lanyard.ErrNotFound
}

type nopAudit struct{ lanyard.AuditStore }

func (nopAudit) AppendAudit(ctx context.Context, e *lanyard.AuditEvent) error { return nil }

type countLogins struct {
	mu      sync.Mutex
	reasons []string
}

func (c *countLogins) LoginAttempt(method, outcome, reason string) {
	c.mu.Lock()
	c.reasons = append(c.reasons, reason)
	c.mu.Unlock()
}

// TestConcurrentRequestsPerClient: beyond maxConcurrentPerClient requests
// in progress, a client is answered 429 with Retry-After at once; other
// clients are not affected, and finished requests free their slots.
func TestConcurrentRequestsPerClient(t *testing.T) {
	cases := []struct {
		name, method, path string
	}{
		{"ACS", http.MethodPost, "/t/acme/saml/acs"},
		{"ACS, artifact binding (redirect)", http.MethodGet, "/t/acme/saml/acs?SAMLart=AAQAAA&RelayState=x"},
		{"ACS, artifact binding (POST)", http.MethodPost, "/t/acme/saml/acs?artifact"},
		{"SLO redirect binding", http.MethodGet, "/t/acme/saml/slo?SAMLRequest=x"},
		{"SLO POST binding", http.MethodPost, "/t/acme/saml/slo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snaps := &blockingSnapshots{release: make(chan struct{})}
			metrics := &countLogins{}
			kit := ui.New(ui.Options{Audit: nopAudit{},
				ClientAddress: func(r *http.Request) string { return r.Header.Get("X-Test-Client") }})
			mux := http.NewServeMux()
			Routes(mux, Deps{Kit: kit, Tenants: snaps, Metrics: metrics,
				Ready: func(h http.Handler) http.Handler { return h }, IsReady: func() bool { return true }})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			released := false
			defer func() {
				if !released {
					close(snaps.release)
				}
			}()

			send := func(client string) *http.Response {
				var body *strings.Reader
				if c.method == http.MethodPost && strings.HasSuffix(c.path, "?artifact") {
					body = strings.NewReader(url.Values{"SAMLart": {"AAQAAA"}}.Encode())
				} else if c.method == http.MethodPost {
					body = strings.NewReader(url.Values{"SAMLResponse": {"eA=="}}.Encode())
				} else {
					body = strings.NewReader("")
				}
				req, _ := http.NewRequest(c.method, srv.URL+c.path, body)
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Test-Client", client)
				// A request wrongly let through waits in the lookup: the
				// timeout turns that into a failure.
				resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
				if err != nil {
					t.Error(err)
					return nil
				}
				resp.Body.Close()
				return resp
			}
			waitEntered := func(n int32) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for snaps.entered.Load() < n {
					if time.Now().After(deadline) {
						t.Fatalf("%d requests in progress, want %d", snaps.entered.Load(), n)
					}
					time.Sleep(time.Millisecond)
				}
			}

			var wg sync.WaitGroup
			statuses := make(chan int, maxConcurrentPerClient+1)
			for i := 0; i < maxConcurrentPerClient; i++ {
				wg.Go(func() {
					if resp := send("192.0.2.1:1000"); resp != nil {
						statuses <- resp.StatusCode
					}
				})
			}
			waitEntered(maxConcurrentPerClient)

			// Same client (another port): refused at once.
			resp := send("192.0.2.1:2000")
			if resp == nil || resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("request beyond the limit: %v", resp)
			}
			// Another client goes through.
			wg.Go(func() {
				if resp := send("198.51.100.7"); resp != nil {
					statuses <- resp.StatusCode
				}
			})
			waitEntered(maxConcurrentPerClient + 1)

			close(snaps.release)
			released = true
			wg.Wait()
			close(statuses)
			for s := range statuses {
				if s == http.StatusTooManyRequests {
					t.Errorf("a request within the limit was answered %d", s)
				}
			}
			// The slots are free again.
			if resp := send("192.0.2.1:3000"); resp == nil || resp.StatusCode == http.StatusTooManyRequests {
				t.Errorf("after the requests ended: %v", resp)
			}
			if c.name == "ACS" {
				metrics.mu.Lock()
				defer metrics.mu.Unlock()
				n := 0
				for _, r := range metrics.reasons {
					if r == reasonTooManyConcurrent {
						n++
					}
				}
				if n != 1 {
					t.Errorf("%d refusals counted as %s, want 1 (%v)", n, reasonTooManyConcurrent, metrics.reasons)
				}
			}
		})
	}
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:1234":          "192.0.2.1",
		"192.0.2.1":               "192.0.2.1",
		"[2001:db8:1:2:3::4]:443": "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff::1":    "2001:db8:1:2::/64",
		"[::ffff:192.0.2.1]:80":   "192.0.2.1",
		"not an address":          "not an address",
	} {
		if got := clientGroup(in); got != want {
			t.Errorf("clientGroup(%q) = %q, want %q", in, got, want)
		}
	}
}
