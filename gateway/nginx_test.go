package gateway_test

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
)

// nginxServer is the server block of nginx in front of the application:
// every request is checked with Lanyard's /auth/verify (auth_request); the
// identity headers of the answer replace whatever the client sent; a 401
// sends the browser to the login URL Lanyard named; Lanyard's own SSO
// endpoints and key set pass through to Lanyard. The README's
// configuration, with its defences, is docs/examples/nginx.conf
// (TestNginxForgery).
func nginxServer(lanyardAddr, appAddr string) string {
	return fmt.Sprintf(`
		location = /_lanyard_verify {
			internal;
			proxy_pass http://%[1]s/auth/verify?tenant=acme;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			proxy_set_header Host $http_host;
			proxy_set_header X-Original-URI $request_uri;
		}
		location = /_lanyard_verify_admin {
			internal;
			proxy_pass http://%[1]s/auth/verify?tenant=acme&roles=admin;
			proxy_pass_request_body off;
			proxy_set_header Content-Length "";
			proxy_set_header Host $http_host;
			proxy_set_header X-Original-URI $request_uri;
		}
		location @lanyard_login {
			return 302 $lanyard_login;
		}
		location /t/ {
			proxy_pass http://%[1]s;
			proxy_set_header Host $http_host;
		}
		location = /.well-known/jwks.json {
			proxy_pass http://%[1]s;
			proxy_set_header Host $http_host;
		}
		location /admin-only/ {
			auth_request /_lanyard_verify_admin;
			auth_request_set $lanyard_login $upstream_http_x_lanyard_login;
			error_page 401 = @lanyard_login;
			proxy_pass http://%[2]s;
		}
		location / {
			auth_request /_lanyard_verify;
			auth_request_set $lanyard_login $upstream_http_x_lanyard_login;
			auth_request_set $lanyard_user $upstream_http_x_lanyard_user;
			auth_request_set $lanyard_user_id $upstream_http_x_lanyard_user_id;
			auth_request_set $lanyard_email $upstream_http_x_lanyard_email;
			auth_request_set $lanyard_name $upstream_http_x_lanyard_name;
			auth_request_set $lanyard_roles $upstream_http_x_lanyard_roles;
			auth_request_set $lanyard_groups $upstream_http_x_lanyard_groups;
			auth_request_set $lanyard_tenant $upstream_http_x_lanyard_tenant;
			auth_request_set $lanyard_jwt $upstream_http_x_lanyard_jwt;
			error_page 401 = @lanyard_login;
			proxy_set_header X-Lanyard-User $lanyard_user;
			proxy_set_header X-Lanyard-User-Id $lanyard_user_id;
			proxy_set_header X-Lanyard-Email $lanyard_email;
			proxy_set_header X-Lanyard-Name $lanyard_name;
			proxy_set_header X-Lanyard-Roles $lanyard_roles;
			proxy_set_header X-Lanyard-Groups $lanyard_groups;
			proxy_set_header X-Lanyard-Tenant $lanyard_tenant;
			proxy_set_header X-Lanyard-JWT $lanyard_jwt;
			proxy_pass http://%[2]s;
		}
`, lanyardAddr, appAddr)
}

// TestNginxForwardAuth puts Debian's nginx (auth_request) in front of the
// application: an unauthenticated browser goes through SSO at
// SimpleSAMLphp and comes back to the URL it asked for; the application
// then sees Lanyard's identity headers and a verifiable token, never the
// client's forged ones; a role the user lacks is refused; a session ended
// elsewhere is refused within the cache's TTL.
func TestNginxForwardAuth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		port := freePort(t)
		e := newLanyardEnv(t, store, port)
		startNginx(t, port, nginxServer(e.addr, e.app.srv.Listener.Addr().String()))
		b := newBrowser()

		appURL := e.base + "/reports/q3?format=pdf&page=2"
		resp := e.signIn(b, appURL)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after the login the application answered %d", resp.StatusCode)
		}
		if got := e.app.last(t); got.Path != "/reports/q3?format=pdf&page=2" {
			t.Fatalf("the application got %q, want the original URL", got.Path)
		}
		e.checkIdentity(e.app.last(t))

		// The client forges identity headers: nginx passes them to the
		// check, which refuses the request; nginx drops the underscore
		// spelling by itself.
		n := e.app.count()
		resp = b.get(t, e.base+"/hello", "X-Lanyard-User", "mallory", "X-Lanyard-Roles", "admin", "X_Lanyard_User", "mallory",
			"X-Lanyard-Groups", "admins", "X-Lanyard-Tenant", "other")
		if resp.StatusCode != http.StatusForbidden || e.app.count() != n {
			t.Errorf("forged identity headers: %d, want 403 with nothing reaching the application", resp.StatusCode)
		}
		resp = b.get(t, e.base+"/hello", "X_Lanyard_User", "mallory")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("underscore spelling: %d, want 200 (nginx drops the header)", resp.StatusCode)
		}
		got := e.app.last(t)
		e.checkIdentity(got)
		for _, vs := range got.Header {
			for _, v := range vs {
				if strings.Contains(v, "mallory") {
					t.Errorf("a forged identity value reached the application: %q", v)
				}
			}
		}

		// This configuration lacks the example's refusal of ambiguous
		// paths: nginx matches "/" on its own reading of these, and
		// Lanyard, seeing the path in X-Original-URI, refuses them.
		n = e.app.count()
		for _, p := range []string{"/x/..%2fadmin-only/y", "/admin-only;x/y", "/x/..;/admin-only/y", "/x%5c..%5cadmin-only/y",
			"/admin-only%252fy", "/admin-only./y", "/x/%c0%ae%c0%ae/admin-only/y"} {
			if status, _ := rawRequest(t, "127.0.0.1:"+strconv.Itoa(port), "GET", p, "Host: localhost:"+strconv.Itoa(port),
				"Cookie: "+gateway.SessionCookie+"="+sessionID(t, b, e.base)); status != http.StatusForbidden && status != http.StatusBadRequest {
				t.Errorf("%s through nginx without the path map: %d, want 403 from Lanyard (or 400 from nginx)", p, status)
			}
		}
		if e.app.count() != n {
			t.Error("an ambiguous path reached the application")
		}

		// A location that requires the admin role: 403, nothing reaches
		// the application.
		if resp := b.get(t, e.base+"/admin-only/x"); resp.StatusCode != http.StatusForbidden {
			t.Errorf("/admin-only/ without the admin role: %d, want 403", resp.StatusCode)
		}
		if e.app.count() != n {
			t.Error("a request refused for its role reached the application")
		}

		// Another node ends the session: within the cache's TTL it stops
		// working here too, and the browser is sent to the login again.
		e.revoke(sessionID(t, b, e.base))
		time.Sleep(cacheTTL + 200*time.Millisecond)
		n = e.app.count()
		resp = b.get(t, e.base+"/hello")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.base+"/t/acme/saml/login?return_to=%2Fhello") {
			t.Fatalf("after revocation: %d to %q, want 302 to the login", resp.StatusCode, resp.Header.Get("Location"))
		}
		if e.app.count() != n {
			t.Error("a request with a revoked session reached the application")
		}
	})
}
