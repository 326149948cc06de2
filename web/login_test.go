package web

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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
		{"login in two tenants: the neutral password prompt", "alice", http.StatusOK, "Enter your password"},
		{"unknown: the neutral password prompt", "nobody", http.StatusOK, "Enter your password"},
		{"unknown domain: the neutral password prompt", "x@nowhere.test", http.StatusOK, "Enter your password"},
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
	e.addUser("bob", "correct horse battery", lanyard.RoleOperator)
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

// TestUsernameFirstIndistinguishable: what POST /login answers for names
// that are not accounts (unknown, unknown domain, a login several tenants
// share) is the answer for an account that signs in with a password, byte
// for byte once the typed name and the form token are taken out; and the
// password step refuses them with the answer to a wrong password.
func TestUsernameFirstIndistinguishable(t *testing.T) {
	e := newEnv(t, envOptions{})
	acme := e.ssoTenant("acme")
	e.addUser("pat", "correct horse battery")
	e.updateUser(e.addUserIn(acme, "pat2", "").ID, func(u *lanyard.User) { u.Email = "pat2@acme.test" })
	for _, tn := range []lanyard.Tenant{e.tenant, acme} {
		e.addUserIn(tn, "shared", "")
	}
	answer := func(c *http.Client, typed string) (int, string) {
		t.Helper()
		page := e.get(c, "/login")
		resp := e.post(c, "/login", url.Values{"username": {typed}, csrfField: {e.csrfToken(page)}})
		body := strings.ReplaceAll(resp.body, e.csrfToken(resp), "TOKEN")
		return resp.StatusCode, strings.ReplaceAll(body, html.EscapeString(strings.TrimSpace(typed)), "NAME")
	}
	wantStatus, want := answer(e.client(), "pat")
	if wantStatus != http.StatusOK || !strings.Contains(want, "Enter your password") {
		t.Fatalf("local account: %d\n%s", wantStatus, want)
	}
	for _, typed := range []string{
		"pat2@acme.test", "PAT", "nobody", "NoBody", "nobody@nowhere.test", "x@", "@", "shared", "SHARED",
		"pat ", "p\u00e1t", "pat\u200b", "o'brien", "<b>x</b>", "pat@", strings.Repeat("z", 300),
	} {
		status, body := answer(e.client(), typed)
		if status != wantStatus || body != want {
			t.Errorf("%q: %d, a page that differs from a local account's:\n%s", typed, status, body)
		}
	}

	// The password step: unknown names are refused like a wrong password.
	refusal := func(typed, pw string) (int, string) {
		c := e.client()
		page := e.get(c, "/login")
		resp := e.post(c, "/login/password", url.Values{"username": {typed}, "password": {pw}, csrfField: {e.csrfToken(page)}})
		body := strings.ReplaceAll(resp.body, e.csrfToken(resp), "TOKEN")
		return resp.StatusCode, strings.ReplaceAll(body, html.EscapeString(strings.TrimSpace(typed)), "NAME")
	}
	wantStatus, want = refusal("pat", "wrong password")
	if wantStatus != http.StatusUnauthorized || !strings.Contains(want, neutralPasswordRefusal) {
		t.Fatalf("wrong password: %d\n%s", wantStatus, want)
	}
	for _, typed := range []string{"nobody", "shared", "pat2@acme.test", "nobody@nowhere.test"} {
		if status, body := refusal(typed, "wrong password"); status != wantStatus || body != want {
			t.Errorf("password step for %q: %d, differs from a wrong password:\n%s", typed, status, body)
		}
	}
	// The prompt names no tenant: the step finds the account again.
	c := e.client()
	page := e.get(c, "/login")
	resp := e.post(c, "/login/password", url.Values{"username": {"PAT"}, "password": {"correct horse battery"}, csrfField: {e.csrfToken(page)}})
	if resp.StatusCode != http.StatusSeeOther || setCookie(resp, sessionCookieName) == nil {
		t.Errorf("right password without a tenant: %d\n%s", resp.StatusCode, resp.body)
	}
}

// TestUsernameFirstThrottled: POST /login answers signInStartLimit lookups
// per client address within the window; the next waits (429 and
// Retry-After) while other addresses go on, and the window reopens.
func TestUsernameFirstThrottled(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.addUser("pat", "correct horse battery")
		post := func(c *http.Client, typed string) response {
			t.Helper()
			page := e.get(c, "/login")
			return e.post(c, "/login", url.Values{"username": {typed}, csrfField: {e.csrfToken(page)}})
		}
		prober := e.clientFrom("127.0.0.44")
		for i := range signInStartLimit {
			typed := []string{"pat", "nobody", "x@nowhere.test"}[i%3]
			if r := post(prober, typed); r.StatusCode != http.StatusOK {
				t.Fatalf("lookup %d: %d", i+1, r.StatusCode)
			}
		}
		for _, typed := range []string{"pat", "nobody"} {
			r := post(prober, typed)
			if r.StatusCode != http.StatusTooManyRequests || r.Header.Get("Retry-After") != "60" || strings.Contains(r.body, "Enter your password") ||
				!strings.Contains(r.body, "Too many sign-in attempts from your network address; try again in 1 minute.") {
				t.Errorf("lookup of %q over the limit: %d, Retry-After %q\n%s", typed, r.StatusCode, r.Header.Get("Retry-After"), r.body)
			}
		}
		if r := post(e.clientFrom("127.0.0.45"), "pat"); r.StatusCode != http.StatusOK {
			t.Errorf("another address: %d", r.StatusCode)
		}
		e.clock.Advance(signInStartWindow + time.Second)
		if r := post(prober, "pat"); r.StatusCode != http.StatusOK {
			t.Errorf("after the window: %d", r.StatusCode)
		}
	})
}
