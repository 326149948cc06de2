package gateway_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// handoffEnv is a gateway of https://sso.example.com with the trusted
// application https://app.example.com (and https://ops.example.com:8443).
type handoffEnv struct {
	t     *testing.T
	store lanyard.Store
	e     *verifyEnv
	h     http.Handler
	// upstreamCookies are the Cookie headers the application of the route
	// "wiki" (https://wiki.example.com) received.
	upstreamCookies chan string
}

func newHandoffEnv(t *testing.T, store lanyard.Store) *handoffEnv {
	e := newVerifyEnv(t, store)
	base, _ := url.Parse("https://sso.example.com")
	mgr := session.NewManager(store, session.Options{})
	cookies := make(chan string, 10)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies <- strings.Join(r.Header.Values("Cookie"), "; ")
	}))
	t.Cleanup(upstream.Close)
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{}),
		Store: store, TrustedHosts: []string{"app.example.com", "https://ops.example.com:8443"},
		StaticRoutes: []lanyard.ProxyRoute{{Name: "wiki", Host: "wiki.example.com", Upstream: upstream.URL, Tenant: "acme"}}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/verify", gw.Verify())
	return &handoffEnv{t: t, store: store, e: e, h: gw.Wrap(mux), upstreamCookies: cookies}
}

// do sends a request to url as the browser would reach it (the scheme in
// X-Forwarded-Proto), with cookies.
func (h *handoffEnv) do(method, rawURL string, cookies []*http.Cookie, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, rawURL, nil)
	u, _ := url.Parse(rawURL)
	req.Header.Set("X-Forwarded-Proto", u.Scheme)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return rec
}

// start runs /auth/start on origin and returns the nonce cookie and the
// hand-off URL on Lanyard's host (the return path of the login).
func (h *handoffEnv) start(origin string) (*http.Cookie, string) {
	h.t.Helper()
	rec := h.do(http.MethodGet, origin+"/auth/start?tenant=acme&to=%2Fp%3Fq%3D1", nil)
	loc, _ := url.Parse(rec.Header().Get("Location"))
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusFound || loc.Host != "sso.example.com" || len(cookies) != 1 {
		h.t.Fatalf("start on %s: %d to %q, cookies %v", origin, rec.Code, loc, cookies)
	}
	c := cookies[0]
	if c.Name != "__Host-lanyard_handoff" || !c.Secure || !c.HttpOnly || c.Path != "/" || c.Domain != "" {
		h.t.Fatalf("nonce cookie %+v: want __Host-, Secure, HttpOnly, Path=/, no Domain", c)
	}
	return c, "https://sso.example.com" + loc.Query().Get("return_to")
}

// handoff runs the hand-off on Lanyard's host with ada's session and
// returns where it sends the browser.
func (h *handoffEnv) handoff(rawURL string) *httptest.ResponseRecorder {
	return h.do(http.MethodGet, rawURL, []*http.Cookie{{Name: "__Host-lanyard_session", Value: h.e.session}})
}

// TestHandoffBinding: the code of a hand-off opens a session only in the
// browser that started it, on the exact origin it was made for; the copy
// is good on that origin alone and ends with its original.
func TestHandoffBinding(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		h := newHandoffEnv(t, store)
		nonce, handoffURL := h.start("https://app.example.com")
		attackerNonce, _ := h.start("https://app.example.com")

		// Each redemption variant gets a fresh code; only the right
		// browser on the right origin gets a session.
		codeFor := func() *url.URL {
			t.Helper()
			rec := h.handoff(handoffURL)
			loc, _ := url.Parse(rec.Header().Get("Location"))
			if rec.Code != http.StatusFound || loc.Scheme != "https" || loc.Host != "app.example.com" || loc.Path != "/auth/session" {
				t.Fatalf("hand-off: %d to %q", rec.Code, loc)
			}
			return loc
		}
		renamed := func(c *http.Cookie, name string) *http.Cookie { return &http.Cookie{Name: name, Value: c.Value} }
		onHost := func(u *url.URL, scheme, host string) string {
			v := *u
			v.Scheme, v.Host = scheme, host
			return v.String()
		}
		for _, tc := range []struct {
			name    string
			url     func(*url.URL) string
			cookies []*http.Cookie
		}{
			{"no nonce cookie (a link from an attacker)", (*url.URL).String, nil},
			{"the attacker's own nonce", (*url.URL).String, []*http.Cookie{attackerNonce}},
			{"the nonce without the __Host- prefix over https", (*url.URL).String, []*http.Cookie{renamed(nonce, "lanyard_handoff")}},
			{"an empty nonce", (*url.URL).String, []*http.Cookie{{Name: "__Host-lanyard_handoff", Value: ""}}},
			{"plain http (a downgrade)", func(u *url.URL) string { return onHost(u, "http", "app.example.com") }, []*http.Cookie{nonce}},
			{"another port", func(u *url.URL) string { return onHost(u, "https", "app.example.com:8443") }, []*http.Cookie{nonce}},
			{"another trusted application", func(u *url.URL) string { return onHost(u, "https", "ops.example.com:8443") }, []*http.Cookie{nonce}},
			{"Lanyard's own host", func(u *url.URL) string { return onHost(u, "https", "sso.example.com") }, []*http.Cookie{nonce}},
			{"an untrusted host", func(u *url.URL) string { return onHost(u, "https", "evil.example.com") }, []*http.Cookie{nonce}},
			{"a suffix trick", func(u *url.URL) string { return onHost(u, "https", "app.example.com.evil.example") }, []*http.Cookie{nonce}},
		} {
			code := codeFor()
			rec := h.do(http.MethodGet, tc.url(code), tc.cookies)
			if rec.Code != http.StatusBadRequest || len(rec.Result().Cookies()) != 0 {
				t.Errorf("%s: %d, cookies %v; want 400 and no session", tc.name, rec.Code, rec.Result().Cookies())
			}
		}

		// The right browser on the right origin.
		code := codeFor()
		rec := h.do(http.MethodGet, code.String(), []*http.Cookie{nonce})
		var copyCookie *http.Cookie
		for _, c := range rec.Result().Cookies() {
			if c.Name == "__Host-lanyard_session" {
				copyCookie = c
			}
		}
		if rec.Code != http.StatusFound || rec.Header().Get("Location") != "/p?q=1" || copyCookie == nil || !copyCookie.Secure || copyCookie.Path != "/" || copyCookie.Domain != "" {
			t.Fatalf("redemption: %d to %q, cookies %v", rec.Code, rec.Header().Get("Location"), rec.Result().Cookies())
		}
		if rec := h.do(http.MethodGet, code.String(), []*http.Cookie{nonce}); rec.Code != http.StatusBadRequest {
			t.Errorf("the code taken twice: %d, want 400", rec.Code)
		}

		// The copy is good on its origin only.
		verifyOn := func(proto, host string) int {
			return h.do(http.MethodGet, "https://sso.example.com/auth/verify?tenant=acme", []*http.Cookie{copyCookie},
				"X-Forwarded-Proto", proto, "X-Forwarded-Host", host).Code
		}
		if got := verifyOn("https", "app.example.com"); got != http.StatusOK {
			t.Fatalf("the copy on its own origin: %d, want 200", got)
		}
		for _, o := range [][2]string{{"https", "ops.example.com:8443"}, {"https", "app.example.com:8443"}, {"http", "app.example.com"}, {"https", "sso.example.com"}} {
			if got := verifyOn(o[0], o[1]); got != http.StatusUnauthorized {
				t.Errorf("the copy of app.example.com on %s://%s: %d, want 401", o[0], o[1], got)
			}
		}
		// Nor does it open a hand-off of its own on Lanyard's host.
		if rec := h.do(http.MethodGet, handoffURL, []*http.Cookie{{Name: "__Host-lanyard_session", Value: copyCookie.Value}}); strings.Contains(rec.Header().Get("Location"), "/auth/session") {
			t.Errorf("the copy started a hand-off: %d to %q", rec.Code, rec.Header().Get("Location"))
		}

		// Signing out on Lanyard (the original ends) ends the copy.
		if err := store.DeleteSession(context.Background(), lanyard.HashSessionID(h.e.session)); err != nil {
			t.Fatal(err)
		}
		if _, err := store.Session(context.Background(), lanyard.HashSessionID(copyCookie.Value), time.Now()); err == nil {
			t.Error("the copy outlived its original")
		}
	})
}

// TestLogoutNotCrossSite: GET /auth/logout on an application's host only
// shows a form; the POST ends the session only when it comes from a page
// of that very origin.
func TestLogoutNotCrossSite(t *testing.T) {
	h := newHandoffEnv(t, testdb.SQLite(t))
	nonce, handoffURL := h.start("https://app.example.com")
	copyCookie := func() *http.Cookie {
		t.Helper()
		loc, _ := url.Parse(h.handoff(handoffURL).Header().Get("Location"))
		for _, c := range h.do(http.MethodGet, loc.String(), []*http.Cookie{nonce}).Result().Cookies() {
			if c.Name == "__Host-lanyard_session" {
				return c
			}
		}
		t.Fatal("no session copy")
		return nil
	}
	live := func(c *http.Cookie) bool {
		return h.do(http.MethodGet, "https://sso.example.com/auth/verify?tenant=acme", []*http.Cookie{c},
			"X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com").Code == http.StatusOK
	}
	c := copyCookie()
	if rec := h.do(http.MethodGet, "https://app.example.com/auth/logout", []*http.Cookie{c}); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `method="post"`) || !live(c) {
		t.Fatalf("GET /auth/logout: %d, session live %v; want a form and the session kept", rec.Code, live(c))
	}
	for _, headers := range [][]string{
		{"Origin", "https://evil.example.com"},
		{"Origin", "null"},
		{"Origin", "http://app.example.com"},
		{"Origin", "https://app.example.com:8443"},
		{"Origin", "https://app.example.com.evil.example"},
		{"Origin", "https://evilapp.example.com"},
		{"Origin", "https://ops.example.com:8443"},
		{"Origin", "https://sso.example.com"},
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example.com"},
		{"Sec-Fetch-Site", "same-site", "Origin", "https://ops.example.com:8443"},
		{"Sec-Fetch-Site", "cross-site"},
	} {
		if rec := h.do(http.MethodPost, "https://app.example.com/auth/logout", []*http.Cookie{c}, headers...); rec.Code != http.StatusForbidden || !live(c) {
			t.Errorf("POST /auth/logout with %q: %d, session live %v; want 403 and the session kept", headers, rec.Code, live(c))
		}
	}
	for _, method := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		if rec := h.do(method, "https://app.example.com/auth/logout", []*http.Cookie{c}); rec.Code != http.StatusMethodNotAllowed || !live(c) {
			t.Errorf("%s /auth/logout: %d; want 405 and the session kept", method, rec.Code)
		}
	}
	for _, headers := range [][]string{
		{"Origin", "https://app.example.com"},
		{"Origin", "https://APP.example.com:443"},
		{"Sec-Fetch-Site", "same-origin", "Origin", "https://app.example.com"},
	} {
		c := copyCookie()
		rec := h.do(http.MethodPost, "https://app.example.com/auth/logout", []*http.Cookie{c}, headers...)
		if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "https://sso.example.com/logout" || live(c) {
			t.Errorf("POST /auth/logout with %q: %d to %q, session live %v; want 303 to Lanyard's sign-out and the session ended", headers, rec.Code, rec.Header().Get("Location"), live(c))
		}
	}
}

// TestRouteHostCopy: on a route's host (same scheme and port as Lanyard),
// the copy opens the application, and the application never receives the
// session cookie under either name.
func TestRouteHostCopy(t *testing.T) {
	h := newHandoffEnv(t, testdb.SQLite(t))
	nonce, handoffURL := h.start("https://wiki.example.com")
	loc, _ := url.Parse(h.handoff(handoffURL).Header().Get("Location"))
	if loc.Scheme != "https" || loc.Host != "wiki.example.com" {
		t.Fatalf("hand-off to %q, want https://wiki.example.com", loc)
	}
	var copyCookie *http.Cookie
	for _, c := range h.do(http.MethodGet, loc.String(), []*http.Cookie{nonce}).Result().Cookies() {
		if c.Name == "__Host-lanyard_session" {
			copyCookie = c
		}
	}
	if copyCookie == nil {
		t.Fatal("no session copy on the route's host")
	}
	rec := h.do(http.MethodGet, "https://wiki.example.com/page", []*http.Cookie{copyCookie, {Name: "lanyard_session", Value: "x"}, {Name: "theme", Value: "dark"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("the route with the copy: %d", rec.Code)
	}
	if got := <-h.upstreamCookies; got != "theme=dark" {
		t.Errorf("the application received the cookies %q, want only its own theme=dark", got)
	}
	// The copy of wiki.example.com opens neither app.example.com nor
	// another port of wiki.example.com.
	for _, o := range []string{"https://app.example.com/page", "https://wiki.example.com:8443/page"} {
		if rec := h.do(http.MethodGet, o, []*http.Cookie{copyCookie}, "Accept", "application/json"); rec.Code == http.StatusOK {
			t.Errorf("the copy of wiki.example.com opened %s", o)
		}
	}
}
