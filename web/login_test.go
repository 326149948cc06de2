package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// TestUsernameFirstLogin checks where /login sends what the user types:
// a local account to the password prompt, an SSO account or an unknown
// user of a claimed email domain to that tenant's IdP, an ambiguous login
// to a request for the email address, anything else to a neutral message;
// and the password step, automatic login and turning it off.
func TestUsernameFirstLogin(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	acme := e.ssoTenant("acme")
	beta := e.ssoTenant("beta")
	for _, tc := range []struct {
		t      lanyard.Tenant
		domain string
	}{{acme, "example.com"}, {beta, "beta.org"}} {
		if _, err := e.store.UpdateTenant(ctx, tc.t.ID, func(t *lanyard.Tenant) error { t.EmailDomains = []string{tc.domain}; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	pat := e.addUser("pat", "correct horse battery")
	for _, tn := range []lanyard.Tenant{acme, beta} {
		u := e.addUserIn(tn, "alice", "")
		e.updateUser(u.ID, func(u *lanyard.User) {
			u.LoginMethod = lanyard.LoginSSO
			u.Email = "alice@" + map[int64]string{acme.ID: "example.com", beta.ID: "beta.org"}[tn.ID]
		})
	}
	sam := e.addUserIn(acme, "sam", "")
	e.updateUser(sam.ID, func(u *lanyard.User) { u.LoginMethod = lanyard.LoginSSO })

	submit := func(c *http.Client, typed string, extra ...string) response {
		t.Helper()
		page := e.get(c, "/login")
		if page.StatusCode != http.StatusOK || !strings.Contains(page.body, `<label for="username">Username or email</label>`) {
			t.Fatalf("GET /login: %d\n%s", page.StatusCode, page.body)
		}
		form := url.Values{"username": {typed}, csrfField: {e.csrfToken(page)}}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return e.post(c, "/login", form)
	}
	toIdP := func(slug string) string {
		return `content="0; url=/t/` + slug + `/saml/login`
	}

	for _, tc := range []struct {
		name, typed string
		status      int
		says        string
	}{
		{"local account: password prompt", "pat", http.StatusOK, "Enter your password"},
		{"SSO account: its tenant's IdP", "sam", http.StatusOK, toIdP("acme")},
		{"unknown user, claimed domain: that tenant's IdP (JIT may create them)", "newcomer@EXAMPLE.com", http.StatusOK, toIdP("acme")},
		{"login in two tenants, told apart by the email domain", "alice@beta.org", http.StatusOK, toIdP("beta")},
		{"login in two tenants: ask for the email", "alice", http.StatusConflict, "exists in several organisations"},
		{"unknown", "nobody", http.StatusNotFound, "does not know where to sign you in"},
		{"unknown domain", "x@nowhere.test", http.StatusNotFound, "does not know where to sign you in"},
		{"empty", " ", http.StatusBadRequest, "Type your username or your email address."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := submit(e.client(), tc.typed)
			if resp.StatusCode != tc.status || !strings.Contains(resp.body, tc.says) {
				t.Errorf("%q: %d, want %d saying %q:\n%s", tc.typed, resp.StatusCode, tc.status, tc.says, resp.body)
			}
			if setCookie(resp, sessionCookieName) != nil {
				t.Error("a session cookie was set before any authentication")
			}
		})
	}

	t.Run("forged form", func(t *testing.T) {
		resp := e.post(e.client(), "/login", url.Values{"username": {"pat"}})
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("POST without CSRF token: %d", resp.StatusCode)
		}
	})

	t.Run("password step", func(t *testing.T) {
		c := e.client()
		prompt := submit(c, "pat", "return_to", "/apps/x?y=1")
		form := url.Values{"username": {"pat"}, "tenant": {"default"}, "return_to": {"/apps/x?y=1"}, csrfField: {e.csrfToken(prompt)}}
		form.Set("password", "wrong")
		if resp := e.post(c, "/login/password", form); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.body, neutralPasswordRefusal) {
			t.Errorf("wrong password: %d\n%s", resp.StatusCode, resp.body)
		}
		// A refusal of the end-user login is its own, not the break-glass
		// administrator login's.
		if !e.hasAudit(actionPasswordLogin, lanyard.OutcomeFailure, reasonBadPassword) {
			t.Error("no password.login failure with reason bad_password in the audit trail")
		}
		if n := len(e.auditEvents(actionAdminLogin)); n != 0 {
			t.Errorf("%d admin.login events after an end-user password sign-in, want 0", n)
		}
		form.Set("password", "correct horse battery")
		form.Set("remember", "1")
		resp := e.post(c, "/login/password", form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/apps/x?y=1" || setCookie(resp, sessionCookieName) == nil {
			t.Fatalf("right password: %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), resp.body)
		}
		auto := setCookie(resp, autoLoginCookieName)
		if auto == nil || !auto.HttpOnly || auto.SameSite != http.SameSiteLaxMode || auto.MaxAge < 364*24*3600 {
			t.Fatalf("automatic login cookie: %+v", auto)
		}
		if !e.hasAudit(actionPasswordLogin, lanyard.OutcomeSuccess, "") {
			t.Error("no audit of the password sign-in")
		}

		// Next visit: straight to the password prompt, the token rotated.
		next := e.get(c, "/login")
		if next.StatusCode != http.StatusOK || !strings.Contains(next.body, "Enter your password") || !strings.Contains(next.body, `value="pat"`) {
			t.Errorf("automatic login of a password account: %d\n%s", next.StatusCode, next.body)
		}
		if rotated := setCookie(next, autoLoginCookieName); rotated == nil || rotated.Value == auto.Value {
			t.Error("the automatic login token was not rotated")
		}
		// A copy of the old cookie opens nothing any more.
		stale := e.client()
		u, _ := url.Parse(e.http.URL + "/login")
		stale.Jar.SetCookies(u, []*http.Cookie{{Name: autoLoginCookieName, Value: auto.Value, Path: "/login"}})
		if page := e.get(stale, "/login"); !strings.Contains(page.body, "Username or email") {
			t.Error("a used automatic login token still works")
		}

		// Turning it off: the page with manual=1, then the button.
		page := e.get(c, "/login?manual=1")
		if !strings.Contains(page.body, "Automatic login is on in this browser for <strong>pat</strong>") {
			t.Fatalf("manual page does not offer to turn it off:\n%s", page.body)
		}
		off := e.post(c, "/login/forget", url.Values{csrfField: {e.csrfToken(page)}})
		if off.StatusCode != http.StatusSeeOther || off.Header.Get("Location") != "/login?notice=auto-off" {
			t.Errorf("turn off: %d to %q", off.StatusCode, off.Header.Get("Location"))
		}
		if got, _ := e.store.User(ctx, pat.ID); got.AutoLogin {
			t.Error("the account's preference is still on")
		}
		if page := e.get(c, "/login"); !strings.Contains(page.body, "Username or email") {
			t.Error("/login still skips the page after turning automatic login off")
		}
	})

	t.Run("SSO account cannot use the password step", func(t *testing.T) {
		c := e.client()
		page := e.get(c, "/login")
		resp := e.post(c, "/login/password", url.Values{"username": {"sam"}, "tenant": {"acme"}, "password": {"x"}, csrfField: {e.csrfToken(page)}})
		if resp.StatusCode != http.StatusUnauthorized || setCookie(resp, sessionCookieName) != nil {
			t.Errorf("SSO account with a password: %d", resp.StatusCode)
		}
	})
}

// stateKeys are the fields of a signed-in answer of GET /lanyard/session:
// all present, zero values included.
var stateKeys = []string{"signed_in", "tenant", "login", "name", "roles", "kind", "expires_in", "refresh_interval", "refresh_in", "check_url", "login_url"}

// assertAllStateFields fails unless the signed-in answer body carries
// every field, with roles a list (never null).
func assertAllStateFields(t *testing.T, body string) map[string]any {
	t.Helper()
	var fields map[string]any
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		t.Fatalf("state %s: %v", body, err)
	}
	for _, k := range stateKeys {
		if _, ok := fields[k]; !ok {
			t.Errorf("state %s: no %q", body, k)
		}
	}
	if _, ok := fields["roles"].([]any); !ok {
		t.Errorf("state %s: roles not a list", body)
	}
	return fields
}

// TestSessionStatePasswordFields: a password session's state carries every
// field, its zeros (no re-check) included.
func TestSessionStatePasswordFields(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("bob", "correct horse battery", "admin")
	c := e.client()
	if r := e.login(c, "bob", "correct horse battery"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d %s", r.StatusCode, r.body)
	}
	st := e.get(c, sessionStatePath)
	fields := assertAllStateFields(t, st.body)
	if fields["signed_in"] != true || fields["kind"] != "password" || fields["refresh_in"] != 0.0 || fields["refresh_interval"] != 0.0 || fields["check_url"] != "" {
		t.Errorf("password session state: %s", st.body)
	}
}

// TestSessionScriptServed checks the caching of session.js: a year with
// the current version, revalidation otherwise.
func TestSessionScriptServed(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	versioned := e.get(c, SessionScriptURL())
	if versioned.StatusCode != http.StatusOK || !strings.Contains(versioned.Header.Get("Cache-Control"), "immutable") ||
		!strings.Contains(versioned.body, "LanyardSession") || !strings.HasPrefix(versioned.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("versioned script: %d %q %q", versioned.StatusCode, versioned.Header.Get("Cache-Control"), versioned.Header.Get("Content-Type"))
	}
	plain := e.get(c, sessionScriptPath)
	if plain.Header.Get("Cache-Control") != "no-cache" || plain.Header.Get("ETag") == "" {
		t.Errorf("unversioned script: %q %q", plain.Header.Get("Cache-Control"), plain.Header.Get("ETag"))
	}
	req, _ := http.NewRequest(http.MethodGet, e.http.URL+sessionScriptPath, nil)
	req.Header.Set("If-None-Match", plain.Header.Get("ETag"))
	if resp := e.do(c, req); resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation: %d", resp.StatusCode)
	}
	if st := e.get(c, sessionStatePath); st.StatusCode != http.StatusOK || strings.TrimSpace(st.body) != `{"signed_in":false}` {
		t.Errorf("state without a session: %d %s", st.StatusCode, st.body)
	}
}
