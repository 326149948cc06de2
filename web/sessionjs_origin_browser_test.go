package web

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/devidp"
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
	e := newXOriginEnv(t)
	ctx := context.Background()
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}

	b.do("sign in on Lanyard's host through the development IdP",
		chromedp.Navigate(e.base+"/t/beta/saml/login"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), devidp.DemoPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#signed-in-login")))

	alice := e.user("alice")
	session := func() lanyard.Session {
		t.Helper()
		sessions, err := e.store.UserSessions(ctx, alice.ID, time.Now())
		if err != nil || len(sessions) != 1 {
			t.Fatalf("sessions of alice: %v %+v", err, sessions)
		}
		return sessions[0]
	}
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
	if _, err := e.store.DeleteUserSessions(ctx, alice.ID); err != nil {
		t.Fatal(err)
	}
	eval[any](b, "LanyardSession.checkNow()")
	b.do("session expired dialog", chromedp.WaitVisible(chromedp.CSS("#lanyard-session-dialog")))
	if reason := eval[string](b, `document.getElementById("lanyard-session-dialog").dataset.reason`); reason != "expired" {
		t.Errorf("dialog for %q, want expired", reason)
	}
	b.shot("xorigin-session-expired.png")
	opened := chromedp.WaitNewTarget(b.step(30*time.Second), func(i *target.Info) bool { return i.Type == "page" })
	b.do("press Log in", chromedp.Click(chromedp.CSS("#lanyard-session-login")))
	popupID := <-opened
	b.do("the popup signs in silently and the dialog closes", chromedp.WaitNotPresent(chromedp.CSS("#lanyard-session-dialog")))
	b.sessionReady("alice")
	waitFor(t, "the sign-in popup closes", 10*time.Second, func() bool { return !b.targetOpen(popupID) })
	session() // signed in again: one session
	b.shot("xorigin-signed-in-again.png")

	// 4. The same page on a host Lanyard does not trust: no CORS answer,
	// so no state, and no dialog either.
	b.do("open an untrusted host's page", chromedp.Navigate(e.appOrigin(xoEvilHost)+"/"), chromedp.WaitVisible(chromedp.CSS("#app-page")))
	b.waitJS("session.js loaded", "!!window.LanyardSession", 10*time.Second)
	time.Sleep(time.Second)
	if eval[bool](b, "LanyardSession.state() !== null") {
		t.Error("a page of an untrusted host read the session state")
	}
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
