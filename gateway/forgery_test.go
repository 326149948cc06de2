package gateway_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
)

// The applications of these tests: the portal (role "staff", which ada
// holds) and its admin area /portal/admin (role "admin", which she does
// not), each a PHP application of its own. Through every proxy, ada must
// never reach the admin application, nor the admin area of the portal
// application under any reading of the path; no header she sends reaches
// an application as HTTP_X_LANYARD_*; no application gets Lanyard's
// cookies nor sets them in her browser.
const adminArea = "/portal/admin"

// pathVariants are spellings of a path in the admin area, and of paths
// beside it, in every way some server reads differently.
func pathVariants() []string {
	seps := []string{"/", "//", "%2f", "%2F", "\\", "%5c", "%5C", "%252f", "%252F", "%c0%af", "%e0%80%af", "%ef%bc%8f", "/./", "/%2e/"}
	dots := []string{"..", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%252e%252e", "%c0%ae%c0%ae", "..;", "%2e%2e;", "%ef%bc%8e%ef%bc%8e", "...", "..%00", "..%20"}
	var out []string
	for _, s := range seps {
		for _, d := range dots {
			out = append(out, "/portal/x"+s+d+s+"admin/secret.txt")
		}
		out = append(out, "/portal"+s+"admin/secret.txt")
	}
	out = append(out,
		"/portal/admin/secret.txt", "/portal/admin", "/portal/admin/",
		"/PORTAL/ADMIN/secret.txt", "/Portal/Admin/secret.txt", "/portal/ADMIN/", "/portal/Admin", "/portal/%41dmin/secret.txt",
		"/portal/%61dmin/secret.txt", "/portal/%61%64%6d%69%6e/", "/portal/admin./secret.txt", "/portal/admin%2e/secret.txt",
		"/portal/admin%20/secret.txt", "/portal/admin.%20/", "/portal/admin::$INDEX_ALLOCATION/secret.txt",
		"/portal/ADMINI~1/secret.txt", "/portal/admin;x=1/secret.txt", "/portal;x=1/admin/secret.txt",
		"/portal/..;/portal/admin/", "/portal/admin%00/secret.txt", "/portal/admin%0a/", "/portal/admin%0d%0a/",
		"/portal/adm%69n/secret.txt", "/portal/adm%2569n/secret.txt", "/portal/admin%252f", "/portal/%2e/admin/",
		"/x/../portal/admin/", "/../portal/admin/", "/portal/x/../../portal/admin/", "//portal//admin//secret.txt",
		"/portal/admin%ef%bc%8e/", "/portal/%e2%84%aaadmin", // the Kelvin sign folds to k: another name, not the area
		"/portal/adm%c4%b1n/secret.txt", "/portal/adm%C4%B0n/secret.txt", "/portal/ADM%C4%B0N/", // dotless ı and dotted İ
		"/portal/adm\u0131n/secret.txt", "/portal/adm\u0130n/secret.txt", // the same, raw UTF-8
		// Beside the area: these must reach the portal.
		"/portal/", "/portal/report.pdf", "/portal/admins-list", "/portal/x/../report.pdf", "/portal//report.pdf",
	)
	return out
}

// forgedHeaders are header lines an application would read as
// HTTP_X_LANYARD_USER or _ROLES, each sent in a request of its own: the
// spellings, separators, duplicates and folded lines.
func forgedHeaders() [][]string {
	var out [][]string
	for _, name := range []string{
		"X-Lanyard-User", "x-lanyard-user", "X-LANYARD-USER", "X_Lanyard_User", "x_lanyard_user", "X.Lanyard.User",
		"x.lanyard.user", "X-Lanyard.User", "X_Lanyard-User", "X~Lanyard~User", "X!Lanyard!User", "X*Lanyard*User",
		"X|Lanyard|User", "X Lanyard User", "X[Lanyard_User", "X[Lanyard[User", "X-Lanyard-Roles", "X.Lanyard.Roles",
		"X_Lanyard_Roles", "X-Lanyard-Admin", "X_LANYARD_TENANT", "X-Lanyard-Jwt", "X-Lanyard-Login", "X-Lanyard-App-Cookie",
	} {
		out = append(out, []string{name + ": mallory"})
	}
	out = append(out,
		[]string{"X-Lanyard-User: mallory", "X-Lanyard-User: mallory"},
		[]string{"X_Lanyard_User: mallory", "X.Lanyard.User: mallory", "X-Lanyard-User: mallory"},
		[]string{"X-Lanyard-Roles: staff", "X-Lanyard-Roles: admin,mallory"},
		[]string{"X-Other: a", " X-Lanyard-User: mallory"},     // folded onto another header
		[]string{"X-Lanyard-User: ada", "\tmallory"},           // folded value
		[]string{"X-Lanyard-User : mallory"},                   // space before the colon
		[]string{"X-Lanyard-User:mallory"},                     // no space
		[]string{"X-Lanyard-User: mallory", "X-Lanyard-User:"}, // empty second
		[]string{"Connection: X-Lanyard-User"},                 // Lanyard's own header named hop-by-hop
		[]string{"Connection: x-lanyard-roles, X-Lanyard-Jwt"}, // several
		[]string{"Connection: keep-alive, X-Lanyard-Tenant"},   // among others
		[]string{"Connection: X_Lanyard_User", "Connection: X-Lanyard-Email"},
	)
	return out
}

// sessionCookies are Cookie header lines carrying the session SID (and
// other cookies) in various spellings and spacings.
func sessionCookies(sid string) [][]string {
	return [][]string{
		{"Cookie: lanyard_session=" + sid},
		{"Cookie: theme=dark; lanyard_session=" + sid},
		{"Cookie: lanyard_session=" + sid + "; theme=dark"},
		{"Cookie: theme=dark;lanyard_session=" + sid + ";lang=en"},
		{"Cookie:   lanyard_session=" + sid + "  ;   theme=dark  "},
		{"Cookie: theme=dark", "Cookie: lanyard_session=" + sid},
		{"Cookie: lanyard_session=" + sid, "Cookie: theme=dark; lanyard_csrf=c"},
		{"Cookie: theme=dark; lanyard_session=" + sid + "; lanyard_csrf=c; lanyard_sso_binding=b; __Host-lanyard_session=" + sid + "; __Secure-lanyard_session=" + sid},
		{"Cookie: lanyard_session=" + sid + "; Lanyard_Session=" + sid + "; LANYARD_SESSION=" + sid + "; theme=dark"},
		{"Cookie: lanyard_session=" + sid + "; lanyard.session=" + sid + "; theme=dark"},
	}
}

// forgeryTarget is a proxy under test with its applications.
type forgeryTarget struct {
	e      *lanyardEnv
	addr   string // the proxy's listen address
	portal *phpApp
	admin  *phpApp
	host   string // Host header
	// setCookies: the proxy keeps an application's Set-Cookie of
	// Lanyard's names from the browser (the built-in proxy; nginx and
	// Caddy 2.6 cannot drop Set-Cookie headers one by one).
	setCookies bool
}

// checkForgery runs every variant through the proxy with ada's session
// and checks what the applications received.
func checkForgery(t *testing.T, ft forgeryTarget) {
	b := newBrowser()
	resp := ft.e.signIn(b, ft.e.base+"/portal/start")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after the login the portal answered %d", resp.StatusCode)
	}
	sid := sessionID(t, b, ft.e.base)
	host := "Host: " + ft.host
	cookie := "Cookie: lanyard_session=" + sid

	// Class 1: the path.
	t.Run("paths", func(t *testing.T) {
		statuses := map[int]int{}
		for _, p := range pathVariants() {
			before := len(ft.portal.requests(t))
			status, _ := rawRequest(t, ft.addr, "GET", p, host, cookie, "Accept: application/json")
			statuses[status]++
			if status >= 500 || status == 0 {
				t.Errorf("%q: answered %d", p, status)
			}
			reqs := ft.portal.requests(t)
			if status == http.StatusOK && len(reqs) == before {
				t.Errorf("%q: 200 but the portal received nothing", p)
			}
			for _, r := range reqs[before:] {
				if crosses(r.uri(), adminArea) {
					t.Errorf("%q: the portal received %q, which some server reads in %s (readings %q)", p, r.uri(), adminArea, readings(r.uri()))
				}
			}
			if n := len(ft.admin.requests(t)); n > 0 {
				t.Fatalf("%q: the admin application received %d requests from a user without the role: %q", p, n, ft.admin.requests(t)[0].uri())
			}
		}
		t.Logf("%d path variants: answers %v", len(pathVariants()), statuses)
		// The plain cases answer as they should.
		for p, want := range map[string]int{"/portal/admin/secret.txt": 403, "/PORTAL/ADMIN/secret.txt": 403, "/portal/report.pdf": 200,
			"/portal/x/../admin/secret.txt": 403, "/portal/x/..%2fadmin/secret.txt": 400} {
			if status, _ := rawRequest(t, ft.addr, "GET", p, host, cookie, "Accept: application/json"); status != want && !(want == 403 && status == 400) {
				t.Errorf("%q: %d, want %d", p, status, want)
			}
		}
	})

	// Class 2: identity headers under other spellings.
	t.Run("headers", func(t *testing.T) {
		statuses := map[int]int{}
		defer func() { t.Logf("%d forged header sets: answers %v", len(forgedHeaders()), statuses) }()
		for _, lines := range forgedHeaders() {
			before := len(ft.portal.requests(t))
			status, _ := rawRequest(t, ft.addr, "GET", "/portal/hello", append([]string{host, cookie}, lines...)...)
			statuses[status]++
			reqs := ft.portal.requests(t)
			if len(reqs) == before {
				if status == http.StatusOK {
					t.Errorf("%q: 200 without reaching the portal", lines)
				}
				continue // refused (400 or 403): nothing arrived
			}
			got := reqs[len(reqs)-1]
			for k, v := range got.vars("HTTP_") {
				// A folded line joins the value of the header before it
				// (HTTP_X_OTHER="a X-Lanyard-User: mallory"): harmless.
				if strings.Contains(k, "LANYARD") && strings.Contains(v, "mallory") {
					t.Errorf("%q: the portal read %s=%q", lines, k, v)
				}
			}
			lanyardVars := got.vars("HTTP_X_LANYARD_")
			for k, want := range map[string]string{"HTTP_X_LANYARD_USER": "ada", "HTTP_X_LANYARD_ROLES": "staff", "HTTP_X_LANYARD_TENANT": "acme", "HTTP_X_LANYARD_EMAIL": "ada@example.com"} {
				if lanyardVars[k] != want {
					t.Errorf("%q: the portal read %s=%q, want %q (all: %v)", lines, k, lanyardVars[k], want, lanyardVars)
				}
			}
			if lanyardVars["HTTP_X_LANYARD_JWT"] == "" {
				t.Errorf("%q: the portal got no X-Lanyard-JWT", lines)
			}
			for k := range lanyardVars {
				switch k {
				case "HTTP_X_LANYARD_USER", "HTTP_X_LANYARD_USER_ID", "HTTP_X_LANYARD_EMAIL", "HTTP_X_LANYARD_NAME", "HTTP_X_LANYARD_ROLES",
					"HTTP_X_LANYARD_GROUPS", "HTTP_X_LANYARD_TENANT", "HTTP_X_LANYARD_JWT":
				default:
					t.Errorf("%q: the portal read %s, which Lanyard does not set", lines, k)
				}
			}
		}
	})

	// Class 5: Lanyard's cookies, both ways.
	t.Run("cookies", func(t *testing.T) {
		for _, lines := range sessionCookies(sid) {
			before := len(ft.portal.requests(t))
			status, hdr := rawRequest(t, ft.addr, "GET", "/portal/hello?set_cookie=lanyard_session", append([]string{host}, lines...)...)
			if status != http.StatusOK {
				t.Errorf("%q: %d, want 200", lines, status)
				continue
			}
			reqs := ft.portal.requests(t)
			if len(reqs) == before {
				t.Fatalf("%q: the portal received nothing", lines)
			}
			got := reqs[len(reqs)-1]
			for k, v := range got.Server {
				if strings.Contains(fmt.Sprint(v), sid) {
					t.Errorf("%q: the portal read the session ID in $_SERVER[%s] = %q", lines, k, v)
				}
			}
			for k, v := range got.Cookie {
				if strings.Contains(strings.ToLower(k), "lanyard") || strings.Contains(fmt.Sprint(v), sid) {
					t.Errorf("%q: the portal read the cookie %s=%v", lines, k, v)
				}
			}
			// (PHP's server joins several Cookie lines with ", ": the raw
			// header is what counts.)
			if strings.Contains(strings.Join(lines, ""), "theme=dark") && !strings.Contains(fmt.Sprint(got.Server["HTTP_COOKIE"]), "theme=dark") {
				t.Errorf("%q: the application's own cookie did not arrive intact: $_COOKIE=%v, HTTP_COOKIE=%q", lines, got.Cookie, got.Server["HTTP_COOKIE"])
			}
			if ft.setCookies {
				checkSetCookies(t, fmt.Sprint(lines), hdr)
			}
		}
		if !ft.setCookies {
			return
		}
		// Every spelling of Lanyard's cookie names the application sets.
		for _, name := range []string{"lanyard_session", "Lanyard_Session", "LANYARD_SESSION", "__Host-lanyard_session", "__Secure-lanyard_session",
			"__host-LANYARD_SESSION", "lanyard_csrf", "lanyard.session", "lanyard_sso_binding"} {
			status, hdr := rawRequest(t, ft.addr, "GET", "/portal/hello?set_cookie="+name, host, cookie)
			if status != http.StatusOK {
				t.Errorf("set_cookie=%s: %d", name, status)
			}
			checkSetCookies(t, name, hdr)
		}
	})
}

// checkSetCookies: the browser gets the application's cookie, never one
// of Lanyard's names from the application.
func checkSetCookies(t *testing.T, what string, hdr http.Header) {
	t.Helper()
	own := false
	for _, sc := range hdr["Set-Cookie"] {
		if strings.Contains(sc, "planted") {
			t.Errorf("%s: the application set %q in the browser", what, sc)
		}
		own = own || strings.HasPrefix(sc, "app_pref=kept")
	}
	if !own {
		t.Errorf("%s: the application's own Set-Cookie did not arrive: %q", what, hdr["Set-Cookie"])
	}
}

// TestProxyForgery: the built-in proxy, routes /portal (staff) and
// /portal/admin (admin) to two PHP applications.
func TestProxyForgery(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		portal, admin := startPHP(t), startPHP(t)
		e := newLanyardEnv(t, store, 0,
			lanyard.ProxyRoute{Name: "portal", PathPrefix: "/portal", Upstream: "http://" + portal.addr, Tenant: "acme", Roles: []string{"staff"}},
			lanyard.ProxyRoute{Name: "portal-admin", PathPrefix: adminArea, Upstream: "http://" + admin.addr, Tenant: "acme", Roles: []string{"admin"}},
		)
		checkForgery(t, forgeryTarget{e: e, addr: e.addr, portal: portal, admin: admin, host: strings.TrimPrefix(e.base, "http://"), setCookies: true})
	})
}

// exampleConfig returns the file under docs/examples with the addresses
// of the test put in place of the example's.
func exampleConfig(t *testing.T, name string, replace ...string) string {
	t.Helper()
	data, err := os.ReadFile("../docs/examples/" + name)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("docs/examples/%s does not contain %q", name, replace[i])
		}
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	return s
}

// TestNginxForgery: docs/examples/nginx.conf, as the README shows it, with
// Debian's nginx; and again with nginx passing header names with "_" and
// other characters (underscores_in_headers on, ignore_invalid_headers
// off), which /auth/verify then refuses.
func TestNginxForgery(t *testing.T) {
	for _, variant := range []struct{ name, extra string }{
		{"as the README", ""},
		{"underscores_in_headers on", "underscores_in_headers on;\n    ignore_invalid_headers off;"},
	} {
		t.Run(variant.name, func(t *testing.T) {
			testdb.Each(t, func(t *testing.T, store lanyard.Store) {
				portal, admin := startPHP(t), startPHP(t)
				port := freePort(t)
				e := newLanyardEnv(t, store, port)
				conf := exampleConfig(t, "nginx.conf", "127.0.0.1:8080", e.addr, "127.0.0.1:3000", portal.addr, "127.0.0.1:3001", admin.addr,
					"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", port), "server_name app.example.com;", "server_name localhost;\n    "+variant.extra)
				startNginxHTTP(t, port, conf)
				checkForgery(t, forgeryTarget{e: e, addr: fmt.Sprintf("127.0.0.1:%d", port), portal: portal, admin: admin, host: fmt.Sprintf("localhost:%d", port)})
			})
		})
	}
}

// TestCaddyForgery: docs/examples/Caddyfile, as the README shows it, with
// Debian's Caddy.
func TestCaddyForgery(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		portal, admin := startPHP(t), startPHP(t)
		port := freePort(t)
		e := newLanyardEnv(t, store, port)
		conf := "{\n\tadmin off\n\tauto_https off\n\tdefault_bind 127.0.0.1\n}\n" + exampleConfig(t, "Caddyfile",
			"127.0.0.1:8080", e.addr, "127.0.0.1:3000", portal.addr, "127.0.0.1:3001", admin.addr,
			"app.example.com {", fmt.Sprintf("http://localhost:%d {", port))
		startCaddy(t, port, conf)
		checkForgery(t, forgeryTarget{e: e, addr: fmt.Sprintf("127.0.0.1:%d", port), portal: portal, admin: admin, host: fmt.Sprintf("localhost:%d", port)})
	})
}

var _ = gateway.SessionCookie
