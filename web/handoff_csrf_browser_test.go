package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

// TestHandoffLoginCSRFInChromium: an attacker signed in to Lanyard gets a
// hand-off link for their own account and makes a victim's browser open
// it. The victim is not signed in as the attacker on the application's
// host: neither a victim already signed in there (whose session stays
// hers) nor one who is not.
func TestHandoffLoginCSRFInChromium(t *testing.T) {
	browser := newChromium(t)
	ctx := context.Background()
	store := testdb.Open(t, "sqlite").(*sqlstore.DB)
	tenant := lanyard.Tenant{Slug: lanyard.DefaultTenantSlug, DisplayName: "Default"}
	if err := store.CreateTenant(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	baseURL := "http://sso.lanyard.localhost:" + port
	appURL := "http://app.lanyard.localhost:" + port
	base, _ := url.Parse(baseURL)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><head><title>App</title></head><body><h1 id="who">%s</h1></body></html>`, r.Header.Get(gateway.HeaderUser))
	}))
	defer app.Close()
	mgr := session.NewManager(store, session.Options{})
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{TTL: time.Millisecond}), Store: store,
		StaticRoutes: []lanyard.ProxyRoute{{Name: "app", Host: "app.lanyard.localhost", Upstream: app.URL, Tenant: tenant.Slug}}})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	server := New(Config{BaseURL: base, Store: store, Admin: admin.New(store, admin.Options{BaseURL: base}), Gateway: gw, Logger: logger})
	srv.Config.Handler = gw.Wrap(server)
	srv.Start()
	defer srv.Close()
	server.SetReady()
	e := &env{t: t, store: store, tenant: tenant}
	alice, mallory := e.addUser("alice", "alice-password-1"), e.addUser("mallory", "mallory-password-1")
	open := func(u lanyard.User) string {
		id, _, err := mgr.Open(ctx, tenant, u, lanyard.SessionPassword, session.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}

	// The attacker's link: a hand-off of the attacker's session, started
	// in the attacker's own browser (the nonce is the attacker's).
	attackerLink := func() string {
		jar, _ := cookiejar.New(nil)
		sso, _ := url.Parse(baseURL)
		jar.SetCookies(sso, []*http.Cookie{{Name: "lanyard_session", Value: open(mallory)}})
		// The names under .localhost are Chromium's; Go dials the listener.
		dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
		}
		c := &http.Client{Jar: jar, Transport: &http.Transport{DialContext: dial},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(u string) *url.URL {
			resp, err := c.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			return resp.Request.URL.ResolveReference(loc)
		}
		login := get(appURL + "/auth/start?tenant=default&to=%2F")
		code := get(baseURL + login.Query().Get("return_to"))
		if code.Path != "/auth/session" {
			t.Fatalf("the attacker got no code: %s", code)
		}
		return code.String()
	}

	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}
	who := func() string {
		b.do("open the application", chromedp.Navigate(appURL+"/"))
		b.waitJS("the page is loaded", `document.readyState === "complete"`, 10*time.Second)
		return eval[string](b, `location.host === "app.lanyard.localhost:`+port+`" && document.getElementById("who") ? document.getElementById("who").textContent : "not signed in"`)
	}

	// 1. A victim not signed in on the application's host.
	link := attackerLink()
	b.do("open the attacker's link", chromedp.Navigate(link))
	b.waitJS("the page is loaded", `document.readyState === "complete"`, 10*time.Second)
	body := eval[string](b, "document.body.innerText")
	b.shot("handoff-csrf-refused.png")
	if !strings.Contains(body, "not started in this browser") {
		t.Errorf("the attacker's link in a fresh browser: %q; want the refusal", body)
	}
	if got := who(); got == "mallory" {
		t.Fatal("the victim's browser was signed in as the attacker (login CSRF)")
	}

	// 2. The victim signs in on the application's host through the
	// hand-off, in this browser.
	b.do("open Lanyard", chromedp.Navigate(baseURL+"/"))
	eval[any](b, `document.cookie = "lanyard_session=`+open(alice)+`; path=/"`)
	b.do("open the application", chromedp.Navigate(appURL+"/"))
	b.waitJS("sent to the login", `location.host === "sso.lanyard.localhost:`+port+`"`, 10*time.Second)
	loginURL, _ := url.Parse(b.location())
	b.do("the login, already signed in, goes on to the hand-off", chromedp.Navigate(baseURL+loginURL.Query().Get("return_to")))
	b.waitJS("back on the application", `location.host === "app.lanyard.localhost:`+port+`" && document.readyState === "complete"`, 10*time.Second)
	if got := who(); got != "alice" {
		t.Fatalf("after her own hand-off the application sees %q, want alice", got)
	}

	// 3. The attacker's link in the victim's signed-in browser: refused,
	// even with a nonce of the victim's own pending in it.
	for _, withPendingNonce := range []bool{false, true} {
		if withPendingNonce {
			b.do("start a sign-in on the application's host", chromedp.Navigate(appURL+"/auth/start?tenant=default&to=%2F"))
		}
		b.do("open the attacker's link", chromedp.Navigate(attackerLink()))
		b.waitJS("the page is loaded", `document.readyState === "complete"`, 10*time.Second)
		if got := who(); got != "alice" {
			t.Errorf("after the attacker's link (pending nonce %v) the application sees %q, want alice", withPendingNonce, got)
		}
	}
}
