package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// The tests in this file leave pages alone in Chromium and let the real
// clock run: nothing calls into session.js. The tenants re-check every few
// seconds (below what an administrator may set, so the store is written
// directly).
const (
	checkEvery = 5 * time.Second
	// leftAlone is how long a page is left alone to count its checks.
	leftAlone = 16 * time.Second
	// requestsPerCheck bounds the requests one check costs Lanyard: the
	// state before, the check URL, the ACS, the relay script, the state
	// after, and some slack.
	requestsPerCheck = 6
)

// maxRequests is the most requests a page left alone for d may make to
// Lanyard with a check every checkEvery.
func maxRequests(d time.Duration) int64 {
	return int64(d/checkEvery+1) * requestsPerCheck
}

// tuneTenant writes tenant settings straight to the store (bypassing the
// administrator's limits) and waits until the server's view has them.
func (e *ssoEnv) tuneTenant(t *testing.T, tenant lanyard.Tenant, fn func(*lanyard.SSOSettings)) {
	t.Helper()
	ctx := context.Background()
	updated, err := e.store.UpdateTenant(ctx, tenant.ID, func(t *lanyard.Tenant) error { fn(&t.SSO); return nil })
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the server reads the new tenant settings", 10*time.Second, func() bool {
		snap, err := e.server.tenants.Snapshot(ctx, tenant.Slug)
		return err == nil && snap.Tenant.SSO.RefreshInterval == updated.SSO.RefreshInterval && snap.Tenant.SSO.SessionIdle == updated.SSO.SessionIdle
	})
}

// dialogReason is the reason of the session dialog shown, or "".
func (b *tab) dialogReason() string {
	b.t.Helper()
	return eval[string](b, `(document.getElementById("lanyard-session-dialog") || {dataset: {}}).dataset.reason || ""`)
}

// waitDialog waits up to d for the session dialog of the reason; when the
// browser blocked the check window, it presses Try again, as a user does.
func (b *tab) waitDialog(reason string, d time.Duration) {
	b.t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(200 * time.Millisecond) {
		got := b.dialogReason()
		if got == reason {
			return
		}
		if got == "blocked" && reason != "blocked" {
			b.do("allow the check window", chromedp.Click(chromedp.CSS("#lanyard-session-login")))
		}
		if time.Now().After(deadline) {
			b.shot("failed-no-" + reason + "-dialog.png")
			b.t.Fatalf("no %q dialog within %s (dialog %q)", reason, d, got)
		}
	}
}

// pageTargets counts the browser's pages (tabs and windows).
func (b *tab) pageTargets() int {
	b.t.Helper()
	infos, err := chromedp.Targets(b.step(10 * time.Second))
	if err != nil {
		b.t.Fatal(err)
	}
	n := 0
	for _, info := range infos {
		if info.Type == "page" {
			n++
		}
	}
	return n
}

// TestSessionChecksOnTheirOwnInChromium leaves Lanyard's home page alone in
// Chromium, signed in through SimpleSAMLphp, with a re-check due every 5 s:
// the checks run by themselves in a hidden frame (counted at the IdP), the
// IdP's answer is applied (a role taken away comes back from the IdP's
// groups), no window or dialog shows, and the page makes no more than a
// handful of requests per check. When the IdP session ends, the next check
// by itself gets NoPassive and the "session expired" dialog shows; then
// the page falls silent.
func TestSessionChecksOnTheirOwnInChromium(t *testing.T) {
	t.Parallel()
	simplesamlphp.Require(t)
	browser := newChromium(t)
	e := newSSOEnvWith(t, "sqlite", []simplesamlphp.User{
		idpUser("alice", "alice@example.com", "Alice", "Liddell", []string{"eng"}),
	}, simplesamlphp.Options{Host: "localhost"}) // same site: the IdP's cookie reaches the frame
	acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer"}})
	e.tuneTenant(t, acme, func(s *lanyard.SSOSettings) { s.RefreshInterval = lanyard.Duration(checkEvery) })
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}

	b.do("sign in at the IdP",
		chromedp.Navigate(e.base+"/t/acme/saml/login"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "alice-pass"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#signed-in-login")))
	b.sessionReady("alice")
	alice := e.user(acme, "alice")
	if _, err := e.store.UpdateUser(context.Background(), alice.ID, func(u *lanyard.User) error { u.Roles = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	pages := b.pageTargets()

	checksBefore, requestsBefore := e.idp.SSORequests(t), e.requests.Load()
	time.Sleep(leftAlone)
	checks, requests := e.idp.SSORequests(t)-checksBefore, e.requests.Load()-requestsBefore
	t.Logf("left alone %s with a check every %s: %d checks at the IdP, %d requests to Lanyard", leftAlone, checkEvery, checks, requests)
	if want := int(leftAlone/checkEvery) - 1; checks < want {
		t.Errorf("%d checks at the IdP in %s; want at least %d", checks, leftAlone, want)
	}
	if limit := maxRequests(leftAlone); requests > limit {
		t.Errorf("%d requests to Lanyard in %s; want at most %d", requests, leftAlone, limit)
	}
	if u := e.user(acme, "alice"); !u.HasRole("engineer") {
		t.Error("the checks did not bring back the role from the IdP's groups")
	}
	if reason := b.dialogReason(); reason != "" {
		t.Errorf("a %q dialog shows; want the checks silent", reason)
	}
	if n := b.pageTargets(); n != pages {
		t.Errorf("%d pages open, %d before; want the checks in a hidden frame, no window", n, pages)
	}
	b.shot("session-checks-on-their-own.png")

	// The IdP session ends: the next check, on its own, gets NoPassive
	// (in the frame, then confirmed in a window) and the dialog shows.
	forgetSimpleSAMLphpCookies(b, e.idp.BaseURL)
	b.waitDialog("expired", 3*checkEvery+20*time.Second)
	b.shot("session-checks-nopassive-expired.png")
	evs, err := e.store.AuditEvents(context.Background(), lanyard.AuditFilter{TenantID: acme.ID, Action: actionSessionCheck})
	if err != nil || len(evs) == 0 || !strings.Contains(evs[0].Message, "NoPassive") {
		t.Errorf("no audit of the session ended by NoPassive: %v %+v", err, evs)
	}

	// Signed out: the page asks nothing more.
	checksBefore, requestsBefore = e.idp.SSORequests(t), e.requests.Load()
	time.Sleep(2 * checkEvery)
	if checks, requests := e.idp.SSORequests(t)-checksBefore, e.requests.Load()-requestsBefore; checks != 0 || requests > 1 {
		t.Errorf("after the session ended, %d checks and %d requests in %s; want none", checks, requests, 2*checkEvery)
	}
}

// forgetSimpleSAMLphpCookies ends the browser's session at SimpleSAMLphp.
func forgetSimpleSAMLphpCookies(b *tab, idpBase string) {
	b.t.Helper()
	cookies, err := chromedp.Call(b.step(10*time.Second), network.GetCookies, network.GetCookiesParams{URLs: []string{idpBase + "/"}})
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		// Cookies ignore ports: Lanyard's are there too.
		if !strings.HasPrefix(c.Name, "SimpleSAML") {
			continue
		}
		if _, err := chromedp.Call(b.step(10*time.Second), network.DeleteCookies, network.DeleteCookiesParams{Name: c.Name, Domain: c.Domain, Path: c.Path}); err != nil {
			b.t.Fatal(err)
		}
	}
}

// devIdPTenant starts a development IdP (counting its single sign-on
// requests) and connects a new tenant of the environment to it.
func (e *ssoEnv) devIdPTenant(t *testing.T, slug string, cfg devidp.Config) (lanyard.Tenant, *atomic.Int64) {
	t.Helper()
	var ssoRequests atomic.Int64
	idpSrv := httptest.NewUnstartedServer(nil)
	cfg.BaseURL = "http://" + idpSrv.Listener.Addr().String()
	idp, err := devidp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/sso") {
			ssoRequests.Add(1)
		}
		idp.ServeHTTP(w, r)
	})
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)
	ctx := context.Background()
	if _, err := e.admin.CreateTenant(ctx, "test", slug, strings.ToUpper(slug), nil); err != nil {
		t.Fatal(err)
	}
	tenant, _, err := e.admin.SetTenant(ctx, "test", slug, []string{"enabled=true", "jit=true"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutIdP(ctx, &lanyard.IdPConnection{TenantID: tenant.ID, EntityID: idp.EntityID(), MetadataXML: string(idp.Metadata())}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.base + "/t/" + slug + "/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.TrustSPMetadata([]byte(readAll(resp))); err != nil {
		t.Fatal(err)
	}
	return tenant, &ssoRequests
}

// TestSessionWindowOnItsOwnInChromium leaves a page alone with an IdP that
// refuses to be framed, a check due every 5 s: the first check's hidden
// frame gets no answer, session.js turns by itself to a small window
// (after "allow pop-ups" if the browser blocks it), the window keeps
// checking (counted at the IdP) with a bounded number of requests to
// Lanyard, and signing out closes it.
func TestSessionWindowOnItsOwnInChromium(t *testing.T) {
	t.Parallel()
	browser := newChromium(t)
	e := newSSOEnv(t, "sqlite", nil) // its SimpleSAMLphp stays unused
	beta, idpChecks := e.devIdPTenant(t, "beta", devidp.Config{DenyFraming: true})
	e.tuneTenant(t, beta, func(s *lanyard.SSOSettings) { s.RefreshInterval = lanyard.Duration(checkEvery) })
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}
	b.signInThroughDevIdP(e.base, "beta", "alice")
	b.sessionReady("alice")

	// The frame waits 8 s for an answer, then the window opens.
	opened := chromedp.WaitNewTarget(b.step(60*time.Second), func(i *target.Info) bool { return i.Type == "page" })
	var windowID target.ID
	for deadline := time.Now().Add(checkEvery + 20*time.Second); windowID == ""; {
		select {
		case windowID = <-opened:
		case <-time.After(200 * time.Millisecond):
			if b.dialogReason() == "blocked" {
				b.shot("session-window-on-its-own-blocked.png")
				b.do("allow the check window", chromedp.Click(chromedp.CSS("#lanyard-session-login")))
			}
			if time.Now().After(deadline) {
				b.shot("failed-no-session-window.png")
				t.Fatal("no session window opened by itself")
			}
		}
	}
	b.sessionWindow(windowID, "session-window-on-its-own.png")

	checksBefore, requestsBefore := idpChecks.Load(), e.requests.Load()
	time.Sleep(leftAlone)
	checks, requests := idpChecks.Load()-checksBefore, e.requests.Load()-requestsBefore
	t.Logf("window left alone %s with a check every %s: %d checks at the IdP, %d requests to Lanyard", leftAlone, checkEvery, checks, requests)
	if want := int64(leftAlone/checkEvery) - 1; checks < want {
		t.Errorf("%d checks in the window in %s; want at least %d", checks, leftAlone, want)
	}
	if limit := maxRequests(leftAlone); requests > limit {
		t.Errorf("%d requests to Lanyard in %s; want at most %d", requests, leftAlone, limit)
	}
	if !b.targetOpen(windowID) {
		t.Error("the session window closed by itself")
	}

	b.do("sign out",
		chromedp.Navigate(e.base+"/logout"),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitReady(chromedp.CSS(`script[data-signed-out]`)))
	waitFor(t, "the session window closes on sign-out", 10*time.Second, func() bool { return !b.targetOpen(windowID) })
}

// TestSessionTimeoutOnItsOwnInChromium leaves a page alone until its
// session times out (idle 6 s): the "session expired" dialog shows by
// itself, after a handful of requests, and the page then falls silent.
func TestSessionTimeoutOnItsOwnInChromium(t *testing.T) {
	t.Parallel()
	browser := newChromium(t)
	e := newSSOEnv(t, "sqlite", nil) // its SimpleSAMLphp stays unused
	const idle = 6 * time.Second
	gamma, _ := e.devIdPTenant(t, "gamma", devidp.Config{})
	e.tuneTenant(t, gamma, func(s *lanyard.SSOSettings) {
		s.SessionIdle = lanyard.Duration(idle)
		s.RefreshInterval = lanyard.Duration(time.Hour)
	})
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}
	b.signInThroughDevIdP(e.base, "gamma", "alice")
	start, requestsBefore := time.Now(), e.requests.Load()
	b.waitDialog("expired", idle+10*time.Second)
	took, requests := time.Since(start), e.requests.Load()-requestsBefore
	t.Logf("the expired dialog showed %s after the page loaded, after %d requests", took.Round(100*time.Millisecond), requests)
	if requests > 4 {
		t.Errorf("%d requests to Lanyard before the dialog; want at most 4", requests)
	}
	if focused := eval[string](b, "document.activeElement.id"); focused != "lanyard-session-login" {
		t.Errorf("focus on %q; want the dialog's Log in button", focused)
	}
	b.shot("session-timeout-on-its-own.png")
	requestsBefore = e.requests.Load()
	time.Sleep(2 * time.Second)
	if n := e.requests.Load() - requestsBefore; n != 0 {
		t.Errorf("%d requests after the dialog; want none", n)
	}
}
