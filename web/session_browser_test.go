package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// tab drives one Chromium tab (or popup window) in a test.
type tab struct {
	t   *testing.T
	ctx context.Context
	dir string
}

// step is a context for one action, bounded so a stuck page fails the
// test instead of hanging it.
func (b *tab) step(d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	b.t.Cleanup(cancel)
	return ctx
}

// do runs actions, failing the test with what was being done.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.step(30*time.Second), actions...); err != nil {
		b.shot("failed-" + strings.ReplaceAll(what, " ", "-") + ".png")
		loc, _ := chromedp.Run(b.step(5*time.Second), chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// shot saves a screenshot in the artifact directory.
func (b *tab) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.step(30*time.Second), chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return
	}
	path := filepath.Join(b.dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", path)
}

// eval evaluates a JavaScript expression.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.step(30*time.Second), chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// waitJS waits until a JavaScript expression is true.
func (b *tab) waitJS(what, expr string, d time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, err := chromedp.Run(b.step(10*time.Second), chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.shot("failed-wait.png")
			b.t.Fatalf("%s: %s not true within %s (last error %v)", what, expr, d, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitShown waits for the element sel to be shown, polling, so that a
// page still on its way through redirects (a window going from the IdP
// to the ACS and on) is no error.
func (b *tab) waitShown(what, sel string, d time.Duration) {
	b.t.Helper()
	b.waitJS(what, `(() => { const e = document.querySelector(`+strconv.Quote(sel)+`); return !!e && e.getClientRects().length > 0 })()`, d)
}

func (b *tab) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.step(30*time.Second), chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

func (b *tab) location() string {
	b.t.Helper()
	u, err := chromedp.Run(b.step(30*time.Second), chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// popup returns a tab for a window the page opened.
func (b *tab) popup(id target.ID) *tab {
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithTargetID(id))
	b.t.Cleanup(cancel)
	return &tab{t: b.t, ctx: ctx, dir: b.dir}
}

// targetOpen reports whether the browser still has the target.
func (b *tab) targetOpen(id target.ID) bool {
	b.t.Helper()
	infos, err := chromedp.Targets(b.step(10 * time.Second))
	if err != nil {
		b.t.Fatal(err)
	}
	for _, info := range infos {
		if info.TargetID == id {
			return true
		}
	}
	return false
}

// signInThroughDevIdP signs login in to the tenant at Lanyard's base URL,
// typing the demo password into the development IdP's form.
func (b *tab) signInThroughDevIdP(base, tenant, login string) {
	b.t.Helper()
	b.do("sign in through the development IdP",
		chromedp.Navigate(base+"/t/"+tenant+"/saml/login"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#username"), login),
		chromedp.SendKeys(chromedp.CSS("#password"), devidp.DemoPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#signed-in-login")))
}

// sessionWindow attaches to the session-keeping window and waits for its
// relay page, which says it keeps the session, and saves a screenshot.
func (b *tab) sessionWindow(id target.ID, shot string) *tab {
	b.t.Helper()
	w := b.popup(id)
	w.waitShown("the window keeps the session", "#lanyard-relay", 30*time.Second)
	// One look at the relay and its heading together: the window may go on
	// to the IdP and back between two separate looks.
	w.waitJS("the session window says what it does", `(() => { const h = document.querySelector("h1"); return !!document.querySelector("#lanyard-relay") && !!h && h.textContent.trim() === "Keeping your session up to date" })()`, 30*time.Second)
	w.shot(shot)
	return w
}

// endSessions ends every session of the user, as a timeout would, and
// waits for the page's check to show the "session expired" dialog.
func (b *tab) endSessions(store lanyard.Store, userID int64) {
	b.t.Helper()
	if _, err := store.DeleteUserSessions(context.Background(), userID); err != nil {
		b.t.Fatal(err)
	}
	eval[any](b, "LanyardSession.checkNow()")
	b.do("session expired dialog", chromedp.WaitVisible(chromedp.CSS("#lanyard-session-dialog")))
}

// reloginSilently presses the dialog's Log in while the IdP session lives:
// the popup signs login in without a prompt, the dialog closes, and so
// does the popup.
func (b *tab) reloginSilently(login string) {
	b.t.Helper()
	opened := chromedp.WaitNewTarget(b.step(30*time.Second), func(i *target.Info) bool { return i.Type == "page" })
	b.do("press Log in", chromedp.Click(chromedp.CSS("#lanyard-session-login")))
	popupID := <-opened
	b.do("the popup signs in silently and the dialog closes", chromedp.WaitNotPresent(chromedp.CSS("#lanyard-session-dialog")))
	b.sessionReady(login)
	waitFor(b.t, "the sign-in popup closes", 10*time.Second, func() bool { return !b.targetOpen(popupID) })
}

// sessionReady waits for session.js to know the signed-in user.
func (b *tab) sessionReady(login string) {
	b.t.Helper()
	b.waitJS("session.js state", `!!(window.LanyardSession && LanyardSession.state() && LanyardSession.state().login === "`+login+`")`, 15*time.Second)
}

// TestSessionKeepingInChromium runs the session-keeping flows in a real
// browser against SimpleSAMLphp (another origin, localhost on another
// port), screenshots in the artifact directory:
//
//  1. username-first login: the user types an email address only, and the
//     tenant that claims its domain sends them to its IdP; "Log in
//     automatically next time" is ticked;
//  2. the next visit of /login goes straight through, without typing; the
//     user can turn automatic login off;
//  3. the periodic re-check in a hidden frame, silent, refreshes the roles;
//  4. the Lanyard session times out: the "session expired" dialog (focus on
//     its Log in button) signs in again in a popup without any prompt,
//     because the IdP session lives, and closes;
//  5. the IdP session ends: the next re-check gets NoPassive in the frame,
//     confirms it in a window (the IdP may not see its cookies in a frame)
//     and shows the dialog; its popup now shows the IdP's form, and
//     signing in there closes the popup and the dialog.
func TestSessionKeepingInChromium(t *testing.T) {
	simplesamlphp.Require(t)
	browser := newChromium(t)
	e := newSSOEnvWith(t, "sqlite", []simplesamlphp.User{
		idpUser("alice", "alice@example.com", "Alice", "Liddell", []string{"eng"}),
	}, simplesamlphp.Options{Host: "localhost"}) // same site as Lanyard: see Options.Host
	acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer"}})
	ctx := context.Background()
	if _, err := e.store.UpdateTenant(ctx, acme.ID, func(t *lanyard.Tenant) error {
		t.EmailDomains = []string{"example.com"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}

	// 1. Username-first.
	b.do("open /login", chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if label := b.text(`label[for="username"]`); label != "Username or email" {
		t.Errorf("field label %q", label)
	}
	b.do("type the email", chromedp.SendKeys(chromedp.CSS("#username"), "alice@example.com"), chromedp.Click(chromedp.CSS("#remember")))
	b.shot("login-username-first.png")
	b.do("continue to the IdP", chromedp.Submit(chromedp.CSS("#username")), chromedp.WaitVisible(chromedp.CSS("#password")))
	if loc := b.location(); !strings.HasPrefix(loc, e.idp.BaseURL) {
		t.Fatalf("after the username, at %s; want the IdP", loc)
	}
	b.do("sign in at the IdP",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "alice-pass"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#signed-in-login")))
	if loc, login := b.location(), b.text("#signed-in-login"); loc != e.base+"/" || login != "alice" {
		t.Errorf("landed on %s showing %q", loc, login)
	}
	alice := e.user(acme, "alice")
	if !alice.AutoLogin {
		t.Error("the account's automatic login preference is off after ticking the box")
	}

	// 2. Automatic login: no page, no typing.
	b.do("automatic login", chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#signed-in-login")))
	b.shot("login-automatic.png")
	if loc := b.location(); loc != e.base+"/" {
		t.Errorf("automatic login ended at %s", loc)
	}
	b.do("turn automatic login off",
		chromedp.Navigate(e.base+"/login?manual=1"), chromedp.WaitVisible(chromedp.CSS("#forget")))
	if s := b.text("#forget-form"); !strings.Contains(s, "alice") {
		t.Errorf("the page does not say whose automatic login is on: %q", s)
	}
	b.shot("login-automatic-off.png")
	b.do("press Turn off", chromedp.Click(chromedp.CSS("#forget")), chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	b.do("the page shows again", chromedp.Navigate(e.base+"/login"), chromedp.WaitVisible(chromedp.CSS("#username")))
	if e.user(acme, "alice").AutoLogin {
		t.Error("the preference is still on")
	}

	// 3. The hidden-frame re-check: silent, refreshes the roles.
	if _, err := e.store.UpdateUser(ctx, alice.ID, func(u *lanyard.User) error { u.Roles = nil; return nil }); err != nil {
		t.Fatal(err)
	}
	b.do("home page", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible(chromedp.CSS("#signed-in-login")))
	b.sessionReady("alice")
	eval[any](b, "LanyardSession.checkNow()")
	waitFor(t, "roles refreshed by the hidden-frame check", 15*time.Second, func() bool {
		u := e.user(acme, "alice")
		return u.HasRole("engineer")
	})
	b.waitJS("state refreshed", "LanyardSession.state().refresh_in > 200", 10*time.Second)
	if eval[bool](b, "LanyardSession.usesWindow()") || eval[bool](b, `!!document.getElementById("lanyard-session-dialog")`) {
		t.Error("the check fell back to a window or showed a dialog; want a silent hidden frame")
	}

	// 4. The Lanyard session times out; the IdP session lives.
	b.endSessions(e.store, alice.ID)
	if focused := eval[string](b, "document.activeElement.id"); focused != "lanyard-session-login" {
		t.Errorf("focus on %q; want the dialog's Log in button", focused)
	}
	if role := eval[string](b, `document.getElementById("lanyard-session-dialog").getAttribute("role")`); role != "alertdialog" {
		t.Errorf("dialog role %q", role)
	}
	b.shot("session-expired-dialog.png")
	b.reloginSilently("alice")
	b.shot("session-expired-relogin-silent.png")

	// 5. The IdP session ends: NoPassive, then a popup with the IdP's form.
	cookies, err := chromedp.Call(b.step(10*time.Second), network.GetCookies, network.GetCookiesParams{URLs: []string{e.idp.BaseURL + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cookies.Cookies {
		// Cookies ignore ports: Lanyard's are there too.
		if !strings.HasPrefix(c.Name, "SimpleSAML") {
			continue
		}
		if _, err := chromedp.Call(b.step(10*time.Second), network.DeleteCookies, network.DeleteCookiesParams{Name: c.Name, Domain: c.Domain, Path: c.Path}); err != nil {
			t.Fatal(err)
		}
	}
	// In the hidden frame, NoPassive is not trusted (the IdP may not see
	// its cookies there): the check runs again in a window, where the
	// browser's pop-up blocker may ask first; there NoPassive ends the
	// session and the dialog shows.
	eval[any](b, "LanyardSession.checkNow()")
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		reason := eval[string](b, `(document.getElementById("lanyard-session-dialog") || {dataset: {}}).dataset.reason || ""`)
		if reason == "expired" {
			break
		}
		if reason == "blocked" {
			b.shot("session-check-window-blocked.png")
			b.do("allow the check window", chromedp.Click(chromedp.CSS("#lanyard-session-login")))
		}
		if time.Now().After(deadline) {
			b.shot("failed-no-expired-dialog.png")
			t.Fatalf("no session-expired dialog after NoPassive (dialog %q)", reason)
		}
	}
	if !eval[bool](b, "LanyardSession.usesWindow()") {
		t.Error("after NoPassive in the frame, session.js does not use a window")
	}
	evs, err := e.store.AuditEvents(ctx, lanyard.AuditFilter{TenantID: acme.ID, Action: actionSessionCheck})
	if err != nil || len(evs) == 0 || !strings.Contains(evs[0].Message, "NoPassive") {
		t.Errorf("no audit of the session ended by NoPassive: %v %+v", err, evs)
	}
	opened := chromedp.WaitNewTarget(b.step(30*time.Second), func(i *target.Info) bool { return i.Type == "page" })
	b.do("press Log in", chromedp.Click(chromedp.CSS("#lanyard-session-login")))
	p := b.popup(<-opened)
	p.waitShown("the popup shows the IdP's form", "#password", 30*time.Second)
	p.shot("session-expired-popup-idp-form.png")
	p.do("sign in in the popup",
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "alice-pass"),
		chromedp.Submit(chromedp.CSS("#password")))
	b.do("the dialog closes", chromedp.WaitNotPresent(chromedp.CSS("#lanyard-session-dialog")))
	b.sessionReady("alice")
	b.shot("session-expired-relogin-form.png")
}

// TestSessionWindowInChromium runs the re-check against an IdP that refuses
// to be framed (the development IdP with DenyFraming): the hidden frame gets
// no answer, session.js falls back to a small window (asking, if the browser
// blocks it, to allow pop-ups, with a button that opens it), the window
// keeps the session checked, comes back when the user closed it, and
// signing out closes it.
func TestSessionWindowInChromium(t *testing.T) {
	browser := newChromium(t)
	e := newSSOEnv(t, "sqlite", nil) // its SimpleSAMLphp stays unused
	idpSrv := httptest.NewServer(nil)
	t.Cleanup(idpSrv.Close)
	idp, err := devidp.New(devidp.Config{BaseURL: idpSrv.URL, DenyFraming: true})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = idp
	ctx := context.Background()
	if _, err := e.admin.CreateTenant(ctx, "test", "beta", "Beta", nil); err != nil {
		t.Fatal(err)
	}
	beta, _, err := e.admin.SetTenant(ctx, "test", "beta", []string{"enabled=true", "jit=true", "refresh_interval=30s"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutIdP(ctx, &lanyard.IdPConnection{TenantID: beta.ID, EntityID: idp.EntityID(), MetadataXML: string(idp.Metadata())}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(e.base + "/t/beta/saml/metadata")
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.TrustSPMetadata([]byte(readAll(resp))); err != nil {
		t.Fatal(err)
	}
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}

	b.signInThroughDevIdP(e.base, "beta", "alice")
	b.sessionReady("alice")

	u := e.user(beta, "alice")
	sessions, err := e.store.UserSessions(ctx, u.ID, e.clock.Now())
	if err != nil || len(sessions) != 1 {
		t.Fatalf("sessions of alice: %v %+v", err, sessions)
	}
	signedInAt := sessions[0].LastRefreshAt
	// checkInWindow runs a check and returns the session window it opens,
	// pressing Try again when the browser blocked it.
	checkInWindow := func(shot string) target.ID {
		t.Helper()
		opened := chromedp.WaitNewTarget(b.step(60*time.Second), func(i *target.Info) bool { return i.Type == "page" })
		eval[any](b, "LanyardSession.checkNow()")
		deadline := time.Now().Add(30 * time.Second)
		for {
			select {
			case id := <-opened:
				return id
			case <-time.After(200 * time.Millisecond):
				if eval[bool](b, `!!document.querySelector('#lanyard-session-dialog[data-reason="blocked"]')`) {
					b.shot(shot)
					if msg := b.text("#lanyard-session-text"); !strings.Contains(msg, "address bar") {
						t.Errorf("the blocked notice does not say how to allow pop-ups: %q", msg)
					}
					b.do("press Try again", chromedp.Click(chromedp.CSS("#lanyard-session-login")))
				}
				if time.Now().After(deadline) {
					b.shot("failed-no-session-window.png")
					t.Fatal("no session window opened")
				}
			}
		}
	}
	// The frame times out after 8 s; then a window, or the pop-up notice.
	windowID := checkInWindow("session-window-popup-blocked.png")
	if !eval[bool](b, "LanyardSession.usesWindow()") {
		t.Error("session.js does not say it uses a window")
	}
	w := b.sessionWindow(windowID, "session-window.png")
	sessions, err = e.store.UserSessions(ctx, u.ID, e.clock.Now())
	if err != nil || len(sessions) != 1 || !sessions[0].LastRefreshAt.After(signedInAt) {
		t.Errorf("the window's check did not refresh the session: %v %+v", err, sessions)
	}

	// Closed by the user, the window comes back at the next check.
	_, _ = chromedp.Run(w.step(5*time.Second), chromedp.Evaluate[any]("window.close()"))
	waitFor(t, "the window closed by the user", 10*time.Second, func() bool { return !b.targetOpen(windowID) })
	windowID = checkInWindow("session-window-reopen-blocked.png")
	b.popup(windowID).waitShown("the window is back", "#lanyard-relay", 30*time.Second)

	// Signing out (with Single Logout at the IdP) closes the window.
	b.do("sign out",
		chromedp.Navigate(e.base+"/logout"),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitReady(chromedp.CSS(`script[data-signed-out]`)))
	waitFor(t, "the session window closes on sign-out", 10*time.Second, func() bool { return !b.targetOpen(windowID) })
	b.shot("signed-out.png")
	if s := b.text("main"); !strings.Contains(s, "You are also signed out of your identity provider.") {
		t.Errorf("signed-out page: %q", s)
	}
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
