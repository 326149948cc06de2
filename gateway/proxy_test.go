package gateway_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
)

// TestProxy puts Lanyard's own reverse proxy in front of the application:
// SSO through SimpleSAMLphp and back to the same URL, identity headers
// set and forged ones removed, the session cookie kept from the
// application, roles, streamed uploads, a WebSocket echo, keep-alive
// connections upstream, routes added at run time, and revocation.
func TestProxy(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		a := startApp(t)
		upstream := a.srv.URL
		e := newLanyardEnv(t, store, 0,
			lanyard.ProxyRoute{Name: "app", PathPrefix: "/app/", StripPrefix: true, Upstream: upstream, Tenant: "acme"},
			lanyard.ProxyRoute{Name: "ops", PathPrefix: "/ops/", Upstream: upstream, Tenant: "acme", Roles: []string{"admin"}},
		)
		e.app = a
		b := newBrowser()

		// Lanyard's own pages are not proxied.
		if resp := b.get(t, e.base+"/healthz"); resp.StatusCode != http.StatusOK {
			t.Fatalf("/healthz: %d", resp.StatusCode)
		}
		// Scripts get 401 with the login URL, not a redirect.
		resp, err := http.Post(e.base+"/app/upload", "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get(gateway.HeaderLogin) == "" {
			t.Fatalf("unauthenticated POST: %d (login %q), want 401 with X-Lanyard-Login", resp.StatusCode, resp.Header.Get(gateway.HeaderLogin))
		}
		if a.count() != 0 {
			t.Fatal("an unauthenticated request reached the application")
		}

		resp = e.signIn(b, e.base+"/app/docs/page?id=7&view=full")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after the login: %d", resp.StatusCode)
		}
		if got := a.last(t); got.Path != "/docs/page?id=7&view=full" {
			t.Fatalf("the application got %q, want the path without the route's prefix", got.Path)
		}
		e.checkIdentity(a.last(t))

		// Forged identity headers, in any spelling, never pass; the
		// application's own cookies do, Lanyard's session cookie does not.
		base, _ := url.Parse(e.base)
		b.noFollow.Jar.SetCookies(base, []*http.Cookie{{Name: "theme", Value: "dark", Path: "/"}})
		b.get(t, e.base+"/app/x", "X-Lanyard-User", "mallory", "x-lanyard-roles", "admin", "X_Lanyard_User", "mallory",
			"X-Lanyard-Forged", "1", "x_lanyard_tenant", "other")
		got := a.last(t)
		e.checkIdentity(got)
		for name, vs := range got.Header {
			for _, v := range vs {
				if strings.Contains(v, "mallory") || v == "other" {
					t.Errorf("a forged identity header reached the application: %s: %q", name, v)
				}
			}
		}
		cookie := got.Header.Get("Cookie")
		if !strings.Contains(cookie, "theme=dark") || strings.Contains(cookie, gateway.SessionCookie) {
			t.Errorf("application got Cookie %q, want theme=dark without %s", cookie, gateway.SessionCookie)
		}
		if got.Header.Get("X-Forwarded-Host") == "" || got.Header.Get("X-Forwarded-For") == "" {
			t.Errorf("no X-Forwarded-Host/For upstream: %v", got.Header)
		}

		// A route that requires a role the user lacks.
		if resp := b.get(t, e.base+"/ops/x"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("/ops/ without the admin role: %d, want 403", resp.StatusCode)
		}

		// Bodies stream through: an 8 MiB upload.
		big := bytes.Repeat([]byte("0123456789abcdef"), 512<<10)
		resp, err = b.noFollow.Post(e.base+"/app/upload", "application/octet-stream", bytes.NewReader(big))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != "8388608" {
			t.Fatalf("8 MiB upload: %d %q", resp.StatusCode, body)
		}

		// A WebSocket passes, with the identity; without a session it is
		// refused before the application.
		id := sessionID(t, b, e.base)
		answer, status := websocketEcho(t, e.base+"/app/ws", gateway.SessionCookie+"="+id, "hello")
		if status != http.StatusSwitchingProtocols || answer != "echo: hello" {
			t.Fatalf("WebSocket echo through the proxy: status %d, answer %q", status, answer)
		}
		if ws := a.last(t); ws.Header.Get("X-Lanyard-User") != "ada" {
			t.Errorf("WebSocket upgrade reached the application as %q, want ada", ws.Header.Values("X-Lanyard-User"))
		}
		if _, status := websocketEcho(t, e.base+"/app/ws", "", "hello"); status != http.StatusUnauthorized {
			t.Errorf("WebSocket without a session: status %d, want 401", status)
		}

		// Connections to the application are kept alive.
		before := a.connections()
		for range 50 {
			resp := b.get(t, e.base+"/app/keepalive")
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		if n := a.connections() - before; n > 1 {
			t.Errorf("50 sequential requests opened %d new connections to the application, want at most 1", n)
		}

		// The routes' answers are in Lanyard's metrics.
		resp = b.get(t, e.base+"/metrics")
		metricsText, _ := io.ReadAll(resp.Body)
		for _, want := range []string{`lanyard_proxy_requests_total{code="200",route="app"}`, `lanyard_proxy_requests_total{code="101",route="app"}`,
			`lanyard_proxy_requests_total{code="403",route="ops"}`, `lanyard_proxy_requests_total{code="401",route="app"}`,
			`lanyard_proxy_request_duration_seconds_count{route="app"}`} {
			if !strings.Contains(string(metricsText), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}

		// A route added at run time (as 'lanyard route add' does) is served
		// at the next reload.
		r := lanyard.ProxyRoute{Name: "wiki", PathPrefix: "/wiki", Upstream: upstream, Tenant: "acme", BearerToken: true}
		if err := store.PutProxyRoute(ctx, &r); err != nil {
			t.Fatal(err)
		}
		if err := e.gw.LoadRoutes(ctx); err != nil {
			t.Fatal(err)
		}
		if resp := b.get(t, e.base+"/wiki/Main"); resp.StatusCode != http.StatusOK {
			t.Fatalf("stored route: %d", resp.StatusCode)
		}
		if got := a.last(t); got.Path != "/wiki/Main" || got.Header.Get("Authorization") != "Bearer "+got.Header.Get(gateway.HeaderJWT) {
			t.Errorf("stored route with bearer token: path %q, Authorization %q", got.Path, got.Header.Get("Authorization"))
		}

		// Another node ends the session: refused here within the TTL.
		e.revoke(id)
		time.Sleep(cacheTTL + 200*time.Millisecond)
		n := a.count()
		resp = b.get(t, e.base+"/app/after")
		if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/t/acme/saml/login?return_to=%2Fapp%2Fafter") {
			t.Fatalf("after revocation: %d to %q, want 302 to the login", resp.StatusCode, resp.Header.Get("Location"))
		}
		if a.count() != n {
			t.Error("a request with a revoked session reached the application")
		}
	})
}
