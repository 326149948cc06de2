package gateway_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
)

// caddyAppHost is Caddy in front of an application on a host of its own
// (not Lanyard's): forward_auth as in caddyfile, and /auth/ (the start of
// the hand-off, its end, the sign-out) passed to Lanyard.
func caddyAppHost(port int, lanyardAddr, appAddr string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
}
http://%[4]s:%[1]d {
	bind 127.0.0.1
	handle /auth/* {
		reverse_proxy %[2]s
	}
	handle {
		forward_auth %[2]s {
			uri /auth/verify?tenant=acme&redirect=true
			copy_headers X-Lanyard-User X-Lanyard-User-Id X-Lanyard-Email X-Lanyard-Name X-Lanyard-Roles X-Lanyard-Groups X-Lanyard-Tenant X-Lanyard-Jwt
		}
		reverse_proxy %[3]s
	}
}
`, port, lanyardAddr, appAddr, otherHost)
}

// TestCaddyHandoff: behind Debian's Caddy on an application host of its
// own, the sign-in is handed off from Lanyard's host bound to the browser
// that started it; the code opens nothing in another browser (login
// CSRF); the token names the application's origin; sign-out is a POST of
// the application's own origin.
func TestCaddyHandoff(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		port := freePort(t)
		appOrigin := fmt.Sprintf("http://%s:%d", otherHost, port)
		e := newLanyardEnvTrusting(t, store, 0, []string{appOrigin})
		e.audience = appOrigin
		startCaddy(t, port, caddyAppHost(port, e.addr, e.app.srv.Listener.Addr().String()))
		handoffThroughProxy(t, e, appOrigin)
	})
}

// handoffThroughProxy signs ada in to the application at appOrigin (a
// proxy in front of it asks /auth/verify and passes /auth/ to Lanyard):
// the code of the hand-off opens nothing in another browser (login CSRF)
// and signs in the browser that started it; the token names the
// application's origin; sign-out is a POST of the application's own
// origin.
func handoffThroughProxy(t *testing.T, e *lanyardEnv, appOrigin string) {
	t.Helper()
	appURL := appOrigin + "/reports/q3?page=2"

	// Sign in, stopping before the code is taken.
	b := newBrowser()
	form, err := e.idp.Login(b.follow, appURL, "ada", "ada-pass")
	if err != nil {
		t.Fatal(err)
	}
	var code string
	b.follow.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/auth/session" {
			code = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}
	resp, err := b.follow.PostForm(form.Action, form.Fields)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.HasPrefix(code, appOrigin+"/auth/session?") {
		t.Fatalf("no hand-off to %s/auth/session: %q", appOrigin, code)
	}

	// The code in another browser (an attacker's link): refused.
	other := newBrowser()
	if resp := other.get(t, code); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("the code in another browser: %d, want 400", resp.StatusCode)
	}
	if resp := other.get(t, appURL); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), appOrigin+"/auth/start?") {
		t.Fatalf("the other browser after the code: %d to %q, want the sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}

	// In the browser that started it: signed in, on the original URL.
	b.follow.CheckRedirect = nil
	final, err := b.follow.Get(code)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, final.Body)
	final.Body.Close()
	if final.StatusCode != http.StatusOK || final.Request.URL.String() != appURL {
		t.Fatalf("the code in its browser: %d at %s, want 200 at %s", final.StatusCode, final.Request.URL, appURL)
	}
	e.checkIdentity(e.app.last(t))

	// Sign-out: GET shows a form; a POST from another origin is
	// refused; one from the application's page ends the session.
	if resp := b.get(t, appOrigin+"/auth/logout"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/logout: %d, want the form", resp.StatusCode)
	}
	post := func(origin string) int {
		req, _ := http.NewRequest(http.MethodPost, appOrigin+"/auth/logout", nil)
		req.Header.Set("Origin", origin)
		resp, err := b.noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, evil := range []string{"http://evil.example", "null", strings.Replace(appOrigin, "http:", "https:", 1), appOrigin + "1", appOrigin + ".evil.example"} {
		if got := post(evil); got != http.StatusForbidden {
			t.Errorf("POST /auth/logout from %s: %d, want 403", evil, got)
		}
	}
	if resp := b.get(t, appURL); resp.StatusCode != http.StatusOK {
		t.Fatalf("a refused sign-out ended the session: %d", resp.StatusCode)
	}
	if got := post(appOrigin); got != http.StatusSeeOther {
		t.Fatalf("POST /auth/logout from the application: %d, want 303", got)
	}
	if resp := b.get(t, appURL); resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), appOrigin+"/auth/start?") {
		t.Errorf("after sign-out: %d to %q, want the sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
}
