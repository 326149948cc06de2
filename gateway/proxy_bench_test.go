package gateway_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// BenchmarkProxy is one proxied request with a hot session, in process:
// the route match and path checks, the session check (a cache hit), the
// identity headers and X-Lanyard-JWT, the header and cookie stripping and
// httputil.ReverseProxy. "canned" answers from a RoundTripper that costs
// nothing, so it measures Lanyard's own work; "loopback" goes to a real
// upstream over TCP with the gateway's transport, and "loopback-http.Transport"
// the same with net/http's transport alone (NewTransport), the anchor of
// the direct path (upstreamTransport). Run it with
//
//	go test -run '^$' -bench BenchmarkProxy -benchmem ./gateway
func BenchmarkProxy(b *testing.B) {
	for _, mode := range []string{"canned", "loopback", "loopback-http.Transport"} {
		b.Run(mode, func(b *testing.B) {
			var transport http.RoundTripper = cannedTransport{}
			upstream := "http://127.0.0.1:1"
			if mode != "canned" {
				body := []byte("hello, world\n")
				app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "text/plain")
					w.Write(body)
				}))
				b.Cleanup(app.Close)
				upstream = app.URL
				transport = nil // the gateway's own
				if mode == "loopback-http.Transport" {
					transport = gateway.NewTransport()
				}
			}
			h, cookie := newProxyBenchEnv(b, upstream, transport)
			req := httptest.NewRequest(http.MethodGet, "https://sso.example.com/bench/hello?x=1", nil)
			for name, v := range map[string]string{
				"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
				"Accept-Encoding": "gzip, deflate, br",
				"Accept-Language": "en-GB,en;q=0.5",
				"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
				"Cookie":          "theme=dark; __Host-" + gateway.SessionCookie + "=" + cookie + "; lang=en",
				"Referer":         "https://sso.example.com/bench/",
			} {
				req.Header.Set(name, v)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := &discardWriter{h: http.Header{}}
				for pb.Next() {
					r := req.Clone(req.Context()) // the proxy edits the request's headers, as the server's own would be
					clear(w.h)
					w.code = 0
					h.ServeHTTP(w, r)
					if w.code != http.StatusOK {
						b.Errorf("status %d", w.code)
						return
					}
				}
			})
		})
	}
}

// newProxyBenchEnv returns the gateway's handler with the route /bench/ to
// upstream, and the session ID of a user holding its role.
func newProxyBenchEnv(b *testing.B, upstream string, transport http.RoundTripper) (http.Handler, string) {
	ctx := context.Background()
	store := testdb.SQLite(b)
	tenant, user := benchAccount(b, store)
	mgr := session.NewManager(store, session.Options{})
	id, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionSSO, session.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	keys := identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: "https://sso.example.com"})
	if err := keys.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	base, _ := url.Parse("https://sso.example.com")
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{TTL: time.Hour}), Keys: keys,
		AdminHost: "admin.example.com", Transport: transport,
		StaticRoutes: []lanyard.ProxyRoute{{Name: "bench", PathPrefix: "/bench/", Upstream: upstream, Tenant: "acme", Roles: []string{"staff"}}}})
	if err != nil {
		b.Fatal(err)
	}
	return gw.Wrap(http.NotFoundHandler()), id
}

// cannedTransport answers every request with 200 and a 13-byte body.
type cannedTransport struct{}

func (cannedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"text/plain"}, "Content-Length": {"13"}, "Date": {"Thu, 03 Dec 2026 05:53:09 GMT"}},
		Body:          io.NopCloser(strings.NewReader("hello, world\n")),
		ContentLength: 13, Request: r}, nil
}

// discardWriter is a ResponseWriter that keeps the status and drops the
// body, reused across requests.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}
