package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// setSessionLifetimes sets the default tenant's session idle and absolute
// lifetimes.
func (e *env) setSessionLifetimes(idle, absolute time.Duration) {
	e.t.Helper()
	_, err := e.store.UpdateTenant(context.Background(), e.tenant.ID, func(t *lanyard.Tenant) error {
		t.SSO.SessionIdle = lanyard.Duration(idle)
		t.SSO.SessionAbsolute = lanyard.Duration(absolute)
		return nil
	})
	if err != nil {
		e.t.Fatalf("set session lifetimes: %v", err)
	}
}

func TestSessionIdleExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.setSessionLifetimes(10*time.Minute, time.Hour)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		c := e.client()
		e.mustLogin(c, "root", adminPassword)

		e.clock.Advance(9 * time.Minute)
		if r := e.get(c, "/admin/"); r.StatusCode != http.StatusOK {
			t.Fatalf("after 9 idle minutes: status %d, want 200", r.StatusCode)
		}
		e.clock.Advance(9 * time.Minute) // 18 minutes in, 9 since the last request
		if r := e.get(c, "/admin/"); r.StatusCode != http.StatusOK {
			t.Fatalf("9 minutes after the last request: status %d, want 200 (activity extends the session)", r.StatusCode)
		}
		e.clock.Advance(10*time.Minute + time.Second)
		r := e.get(c, "/admin/")
		if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Fatalf("after more than 10 idle minutes: %d to %q, want 303 to the sign-in page", r.StatusCode, r.Header.Get("Location"))
		}
		if ck := setCookie(r, sessionCookieName); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("the dead session's cookie was not cleared: %+v", ck)
		}
	})
}

func TestSessionAbsoluteExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.setSessionLifetimes(30*time.Minute, time.Hour)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		c := e.client()
		resp := e.login(c, "root", adminPassword)
		if ck := setCookie(resp, sessionCookieName); ck == nil || ck.MaxAge != 3600 {
			t.Fatalf("session cookie %+v, want Max-Age 3600 (the absolute lifetime)", ck)
		}
		for elapsed := 20 * time.Minute; elapsed < time.Hour; elapsed += 20 * time.Minute {
			e.clock.Advance(20 * time.Minute)
			if r := e.get(c, "/admin/"); r.StatusCode != http.StatusOK {
				t.Fatalf("active at %s: status %d, want 200", elapsed, r.StatusCode)
			}
		}
		e.clock.Advance(20 * time.Minute)
		if r := e.get(c, "/admin/"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("at the absolute expiry, though active: status %d, want 303 to the sign-in page", r.StatusCode)
		}
	})
}

func TestLogoutEndsTheSessionEverywhere(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		c := e.client()
		resp := e.login(c, "root", adminPassword)
		stolen := setCookie(resp, sessionCookieName)

		dashboard := e.get(c, "/admin/")
		token := e.csrfToken(dashboard)

		// GET /logout only asks.
		confirm := e.get(c, "/logout")
		if confirm.StatusCode != http.StatusOK || !strings.Contains(confirm.body, `action="/logout"`) {
			t.Fatalf("GET /logout: status %d, want 200 with a sign-out form", confirm.StatusCode)
		}
		if r := e.get(c, "/admin/"); r.StatusCode != http.StatusOK {
			t.Fatalf("GET /logout ended the session: /admin/ answers %d", r.StatusCode)
		}

		// A forged post ends nothing.
		if r := e.post(c, "/logout", url.Values{csrfField: {"forged"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("POST /logout with a wrong token: status %d, want 403", r.StatusCode)
		}
		if r := e.post(c, "/logout", url.Values{csrfField: {token}}, "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site POST /logout: status %d, want 403", r.StatusCode)
		}
		if r := e.get(c, "/admin/"); r.StatusCode != http.StatusOK {
			t.Fatalf("a refused sign-out ended the session: /admin/ answers %d", r.StatusCode)
		}

		out := e.post(c, "/logout", url.Values{csrfField: {token}})
		if out.StatusCode != http.StatusOK || !strings.Contains(out.body, "You are signed out") {
			t.Fatalf("POST /logout: status %d, want 200 saying signed out:\n%s", out.StatusCode, out.body)
		}
		if ck := setCookie(out, sessionCookieName); ck == nil || ck.MaxAge >= 0 {
			t.Errorf("sign-out did not clear the cookie: %+v", ck)
		}
		if !e.hasAudit(actionLogout, lanyard.OutcomeSuccess, "") {
			t.Error("no logout event in the audit trail")
		}

		// The old cookie, replayed from another browser, opens nothing.
		thief := e.client()
		base, _ := url.Parse(e.http.URL)
		thief.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: stolen.Value, Path: "/"}})
		if r := e.get(thief, "/admin/"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("the signed-out session's cookie still opens /admin/: status %d", r.StatusCode)
		}

		// Signing out without a session is harmless.
		if r := e.post(e.client(), "/logout", url.Values{}); r.StatusCode != http.StatusOK {
			t.Errorf("POST /logout without a session: status %d, want 200", r.StatusCode)
		}
		if r := e.get(e.client(), "/logout"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "You are signed out") {
			t.Errorf("GET /logout without a session: status %d, want 200 saying signed out", r.StatusCode)
		}
	})
}

func TestSignInReplacesTheOldSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	bob := e.addUser("bob", adminPassword)
	// A session the browser already holds (here another user's, as an
	// attacker fixing a session would plant) does not survive a sign-in.
	planted, _, err := e.server.sessions.Open(context.Background(), e.tenant, bob, lanyard.SessionSSO, sessionMeta())
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	base, _ := url.Parse(e.http.URL)
	c.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: planted, Path: "/"}})

	fresh := setCookie(e.login(c, "root", adminPassword), sessionCookieName)
	if fresh == nil || fresh.Value == planted {
		t.Fatal("signing in did not issue a new session ID")
	}
	if _, err := e.server.sessions.Lookup(context.Background(), planted); err == nil {
		t.Error("the session held before signing in is still alive")
	}
}
