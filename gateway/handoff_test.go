package gateway_test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// TestProxyOtherHost serves an application on a host other than Lanyard's
// (a host route): the sign-in made on Lanyard's host is handed off to the
// application's host, and the browser lands on the URL it asked for.
func TestProxyOtherHost(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		a := startApp(t)
		e := newLanyardEnv(t, store, 0, lanyard.ProxyRoute{Name: "app", Host: otherHost, Upstream: a.srv.URL, Tenant: "acme"})
		e.app = a
		_, port, _ := net.SplitHostPort(e.addr)
		appURL := "http://" + otherHost + ":" + port + "/reports/q3?page=2"
		b := newBrowser()

		resp := b.get(t, appURL)
		if want := "http://" + otherHost + ":" + port + "/auth/start?tenant=acme&to=%2Freports%2Fq3%3Fpage%3D2"; resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Fatalf("unauthenticated: %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		form, err := e.idp.Login(b.follow, appURL, "ada", "ada-pass")
		if err != nil {
			t.Fatal(err)
		}
		// The IdP's form posts to the ACS on Lanyard's host; from there the
		// browser follows the hand-off back to the application's host.
		var hops []string
		b.follow.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			hops = append(hops, req.URL.String())
			return nil
		}
		final, err := b.follow.PostForm(form.Action, form.Fields)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, final.Body)
		final.Body.Close()
		if final.StatusCode != http.StatusOK || final.Request.URL.String() != appURL {
			t.Fatalf("after the login: %d at %s, want 200 at %s (hops %q)", final.StatusCode, final.Request.URL, appURL, hops)
		}
		if got := a.last(t); got.Path != "/reports/q3?page=2" {
			t.Fatalf("the application got %q", got.Path)
		}
		e.checkIdentity(a.last(t))
		var code string
		for _, h := range hops {
			if u, _ := url.Parse(h); u.Path == "/auth/session" {
				code = h
			}
		}
		if code == "" {
			t.Fatalf("no hand-off through /auth/session: %q", hops)
		}

		// Signing out on the application's host ends its session at once
		// and goes on to Lanyard's sign-out.
		if resp := b.get(t, "http://"+otherHost+":"+port+"/auth/logout"); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /auth/logout on the application's host: %d, want the confirmation form", resp.StatusCode)
		}
		req, _ := http.NewRequest(http.MethodPost, "http://"+otherHost+":"+port+"/auth/logout", nil)
		req.Header.Set("Origin", "http://"+otherHost+":"+port)
		if resp, err := b.noFollow.Do(req); err != nil || resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != e.base+"/logout" {
			t.Fatalf("sign-out on the application's host: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if resp := b.get(t, appURL); resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/auth/start") {
			t.Fatalf("after sign-out on the application's host: %d to %q, want the login", resp.StatusCode, resp.Header.Get("Location"))
		}

		// The code works once.
		if resp := b.get(t, code); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("hand-off code used twice: %d, want 400", resp.StatusCode)
		}
		// The hand-off goes only to the hosts of routes (or trusted ones).
		evil := e.base + "/auth/handoff?" + url.Values{"tenant": {"acme"}, "to": {"https://evil.example.com/steal"}}.Encode()
		if resp := b.get(t, evil); resp.StatusCode != http.StatusBadRequest || strings.Contains(resp.Header.Get("Location"), "evil") {
			t.Errorf("hand-off to an untrusted host: %d to %q, want 400", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

// TestAllowsOrigin: session.js may be used across origins only by pages of
// a route's host or a trusted host, on the scheme of Lanyard's base URL.
func TestAllowsOrigin(t *testing.T) {
	store := testdb.SQLite(t)
	base, _ := url.Parse("https://sso.example.com")
	mgr := session.NewManager(store, session.Options{})
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{}),
		TrustedHosts: []string{"app.example.com", "ops.example.com:8443"},
		StaticRoutes: []lanyard.ProxyRoute{{Name: "wiki", Host: "wiki.example.com", Upstream: "http://127.0.0.1:1", Tenant: "acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	for origin, want := range map[string]bool{
		"https://app.example.com":              true,
		"https://app.example.com:8443":         false, // origins are compared whole: another port
		"https://app.example.com:443":          true,  // the default port, explicit
		"https://APP.Example.COM":              true,  // case
		"HTTPS://app.example.com":              true,
		"https://app.example.com.":             false, // trailing dot: another origin to browsers
		"https://app.example.com:":             false,
		"https://app.example.com:0443":         false,
		"https://app.example.com:+443":         false,
		"https://app.example.com:99999":        false,
		"https://evilapp.example.com":          false, // prefix trick
		"https://app.example.com.evil.example": false, // suffix trick
		"https://example.com":                  false,
		"https://sub.app.example.com":          false,
		"https://app.example.com@evil.example": false, // userinfo
		"https://evil.example@app.example.com": false,
		"https://app.exa%6dple.com":            false,
		"https://äpp.example.com":              false, // IDN: browsers send punycode
		"https://xn--pp-qla.example.com":       false,
		"https://app.example.com\\":            false,
		"https://app.example.com\t":            false,
		" https://app.example.com":             false,
		"https://[::1]":                        false,
		"http://wiki.example.com":              false, // a route's host, on another scheme
		"https://wiki.example.com:8443":        false, // a route's host, on another port
		"https://ops.example.com":              false,
		"http://ops.example.com:8443":          false,
		"https://wiki.example.com":             true, // a route's host
		"https://ops.example.com:8443":         true,
		"https://ops.example.com:9443":         false,
		"http://app.example.com":               false, // not the base URL's scheme
		"https://sso.example.com":              false, // Lanyard itself is not cross-origin
		"https://evil.example.com":             false,
		"https://app.example.com.evil":         false,
		"https://app.example.com/":             false, // not an origin
		"https://app.example.com/x":            false,
		"https://user@app.example.com":         false,
		"https://APP.example.com?x":            false,
		"https://sso.example.com:443":          false,
		"null":                                 false,
		"":                                     false,
		"app.example.com":                      false,
		"javascript://app.example.com":         false,
		"https://app.example.com#frag":         false,
	} {
		if got := gw.AllowsOrigin(origin); got != want {
			t.Errorf("AllowsOrigin(%q) = %v, want %v", origin, got, want)
		}
	}
}
