package web

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/relay"
)

// TestCrossOriginSessionInChromium keeps the session of an application on
// a host of its own (app.lanyard.localhost, a trusted host, the same site
// as Lanyard at sso.lanyard.localhost), whose page includes session.js by
// Lanyard's absolute URL:
//
//  1. the page learns the signed-in user (a credentialed CORS fetch);
//  2. a re-check in the hidden frame, framed by the application's page,
//     refreshes the session (LastRefreshAt moves) without any window;
//  3. once the session has ended, the check shows the "session expired"
//     dialog, and Log in signs in again in a popup without a prompt (the
//     IdP session lives), which closes and brings the user back;
//  4. a page of a host Lanyard does not trust learns nothing.
func TestCrossOriginSessionInChromium(t *testing.T) {
	browser := newChromium(t)
	e := newXOriginEnv(t, xoriginOptions{})
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}

	e.signIn(b)
	alice := e.user("alice")
	session := func() lanyard.Session { return e.onlySession(alice) }
	signedInAt := session().LastRefreshAt

	// 1. The application's page knows who is signed in.
	app := e.appOrigin(xoAppHost)
	b.do("open the application's page", chromedp.Navigate(app+"/"), chromedp.WaitVisible(chromedp.CSS("#app-page")))
	b.sessionReady("alice")
	b.shot("xorigin-app-page.png")

	// 2. The hidden-frame re-check, framed by the application's page.
	eval[any](b, "LanyardSession.checkNow()")
	waitFor(t, "the hidden-frame check refreshes the session", 15*time.Second, func() bool {
		return session().LastRefreshAt.After(signedInAt)
	})
	// The frame goes when the page hears "refreshed" from it, or after 8 s
	// without an answer, when session.js turns to a window.
	b.waitJS("the check's frame is done", `!document.querySelector('iframe[title="Session check"]')`, 15*time.Second)
	if eval[bool](b, "LanyardSession.usesWindow()") || eval[bool](b, `!!document.getElementById("lanyard-session-dialog")`) {
		t.Error("the check fell back to a window or showed a dialog; want a silent hidden frame that tells the page")
	}

	// 3. The session ends; the dialog's Log in signs in again in a popup.
	b.endSessions(e.store, alice.ID)
	if reason := eval[string](b, `document.getElementById("lanyard-session-dialog").dataset.reason`); reason != "expired" {
		t.Errorf("dialog for %q, want expired", reason)
	}
	b.shot("xorigin-session-expired.png")
	b.reloginSilently("alice")
	session() // signed in again: one session
	b.shot("xorigin-signed-in-again.png")

	// 4. The same page on a host Lanyard does not trust: no CORS answer,
	// so no state, and no dialog either.
	b.do("open an untrusted host's page", chromedp.Navigate(e.appOrigin(xoEvilHost)+"/"), chromedp.WaitVisible(chromedp.CSS("#app-page")))
	b.waitJS("session.js loaded", "!!window.LanyardSession", 10*time.Second)
	// Wait for the effect, not for a time: a credentialed read of the
	// state from this page settles, refused by CORS, as session.js's own
	// read, sent first, has by then.
	eval[bool](b, `(window.stateProbe = "pending", fetch("`+e.base+relay.SessionStatePath+`", {credentials: "include"}).then(() => { window.stateProbe = "read"; }, () => { window.stateProbe = "refused"; }), true)`)
	b.waitJS("the page's own read of the state settles", `window.stateProbe !== "pending"`, 10*time.Second)
	if probe := eval[string](b, "window.stateProbe"); probe != "refused" {
		t.Errorf("a page of an untrusted host read the session state itself: %s", probe)
	}
	if eval[bool](b, "LanyardSession.state() !== null") {
		t.Error("a page of an untrusted host read the session state")
	}
}

// TestCrossOriginSessionWindowInChromium: when the IdP refuses to be
// framed, the application's page on its own host checks in a small window
// (asking to allow pop-ups when the browser blocks it); the window refreshes
// the session, tells the page, stays open, and closes when the user signs
// out.
func TestCrossOriginSessionWindowInChromium(t *testing.T) {
	browser := newChromium(t)
	e := newXOriginEnv(t, xoriginOptions{denyFraming: true})
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}
	e.signIn(b)
	alice := e.user("alice")
	signedInAt := e.onlySession(alice).LastRefreshAt

	b.do("open the application's page", chromedp.Navigate(e.appOrigin(xoAppHost)+"/"), chromedp.WaitVisible(chromedp.CSS("#app-page")))
	b.sessionReady("alice")
	eval[any](b, `window.addEventListener("message", function (ev) { if (ev.data === "lanyard:refreshed") { window.heardRefreshedFrom = ev.origin; } })`)
	opened := chromedp.WaitNewTarget(b.step(60*time.Second), func(i *target.Info) bool { return i.Type == "page" })
	eval[any](b, "LanyardSession.checkNow()")
	var windowID target.ID
	// The frame times out after 8 s; then a window, or the pop-up notice.
	for deadline := time.Now().Add(30 * time.Second); windowID == ""; {
		select {
		case windowID = <-opened:
		case <-time.After(200 * time.Millisecond):
			if eval[bool](b, `!!document.querySelector('#lanyard-session-dialog[data-reason="blocked"]')`) {
				b.do("press Try again", chromedp.Click(chromedp.CSS("#lanyard-session-login")))
			}
			if time.Now().After(deadline) {
				b.shot("failed-xorigin-no-session-window.png")
				t.Fatal("no session window opened")
			}
		}
	}
	b.sessionWindow(windowID, "xorigin-session-window.png")
	waitFor(t, "the window's check refreshes the session", 10*time.Second, func() bool {
		return e.onlySession(alice).LastRefreshAt.After(signedInAt)
	})
	b.waitJS("the page hears the window", `window.heardRefreshedFrom === "`+e.base+`"`, 10*time.Second)
	if !eval[bool](b, "LanyardSession.usesWindow()") || eval[bool](b, `!!document.getElementById("lanyard-session-dialog")`) {
		t.Error("after the window's check: not using a window, or a dialog shows")
	}

	b.do("sign out",
		chromedp.Navigate(e.base+"/logout"),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitReady(chromedp.CSS(`script[data-signed-out]`)))
	waitFor(t, "the session window closes on sign-out", 10*time.Second, func() bool { return !b.targetOpen(windowID) })
}

// signIn signs alice in on Lanyard's host through the development IdP.
func (e *xoriginEnv) signIn(b *tab) {
	e.t.Helper()
	b.signInThroughDevIdP(e.base, "beta", "alice")
}

// onlySession returns the account's one live session.
func (e *xoriginEnv) onlySession(u lanyard.User) lanyard.Session {
	e.t.Helper()
	sessions, err := e.store.UserSessions(context.Background(), u.ID, time.Now())
	if err != nil || len(sessions) != 1 {
		e.t.Fatalf("sessions of %s: %v %+v", u.Login, err, sessions)
	}
	return sessions[0]
}

// user returns the account of the tenant with the login.
func (e *xoriginEnv) user(login string) lanyard.User {
	e.t.Helper()
	u, err := e.store.UserByLogin(context.Background(), e.tenant.ID, login)
	if err != nil {
		e.t.Fatalf("user %s: %v", login, err)
	}
	return u
}
