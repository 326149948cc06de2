package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

func TestPasswordReset(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		old := e.client()
		e.mustLogin(old, "root", adminPassword)

		link, _, err := e.admin.CreatePasswordReset(context.Background(), "cli", lanyard.DefaultTenantSlug, "root", 0)
		if err != nil {
			t.Fatalf("create reset link: %v", err)
		}
		u, err := url.Parse(link)
		if err != nil || u.Path != "/admin/reset" {
			t.Fatalf("reset link %q: want a link to /admin/reset", link)
		}
		token := u.Query().Get("token")
		c := e.client()
		form := e.get(c, "/admin/reset?token="+url.QueryEscape(token))
		if form.StatusCode != http.StatusOK {
			t.Fatalf("GET reset form: status %d:\n%s", form.StatusCode, form.body)
		}
		csrf := e.csrfToken(form)
		send := func(pw, confirm string, headers ...string) response {
			return e.post(c, "/admin/reset", url.Values{csrfField: {csrf}, "token": {token}, "password": {pw}, "confirm": {confirm}}, headers...)
		}

		for _, tc := range []struct {
			name, pw, confirm string
			status            int
			says              string
		}{
			{"passwords differ", "a new long password", "another long password", http.StatusBadRequest, "The two passwords differ"},
			{"too short", "short", "short", http.StatusBadRequest, "at least 12 characters"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := send(tc.pw, tc.confirm)
				if r.StatusCode != tc.status || !strings.Contains(r.body, tc.says) {
					t.Errorf("status %d, want %d with %q:\n%s", r.StatusCode, tc.status, tc.says, r.body)
				}
				if !strings.Contains(r.body, `name="token" value="`+token+`"`) {
					t.Error("the form came back without its token")
				}
			})
		}
		if r := send("a new long password", "a new long password", "Sec-Fetch-Site", "cross-site"); r.StatusCode != http.StatusForbidden {
			t.Errorf("cross-site reset: status %d, want 403", r.StatusCode)
		}

		done := send("a new long password", "a new long password")
		if done.StatusCode != http.StatusSeeOther || done.Header.Get("Location") != "/admin/login?notice=password-changed" {
			t.Fatalf("reset: %d to %q, want 303 to the sign-in page with a notice:\n%s", done.StatusCode, done.Header.Get("Location"), done.body)
		}
		notice := e.get(c, done.Header.Get("Location"))
		if !strings.Contains(notice.body, "Your password has been changed") {
			t.Errorf("the sign-in page does not confirm the change:\n%s", notice.body)
		}

		// The old password and the old session are gone; the new password works.
		if r := e.get(old, "/admin/"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("session opened before the reset: /admin/ answers %d, want 303 to sign in", r.StatusCode)
		}
		if r := e.login(e.client(), "root", adminPassword); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("old password after the reset: status %d, want 401", r.StatusCode)
		}
		e.mustLogin(e.client(), "root", "a new long password")

		// The link works once.
		again := send("yet another long password", "yet another long password")
		if again.StatusCode == http.StatusSeeOther || !strings.Contains(again.body, "reset-password LOGIN") {
			t.Errorf("second use of the link: status %d, want a refusal saying how to get a new one:\n%s", again.StatusCode, again.body)
		}
	})
}

func TestPasswordResetWithoutToken(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.get(e.client(), "/admin/reset")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "incomplete") {
		t.Errorf("GET /admin/reset without a token: status %d, want 400 saying the link is incomplete", r.StatusCode)
	}
}
