package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

const adminPassword = "correct horse battery"

func TestAdminLoginSuccess(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		c := e.client()
		root := e.addUser("root", adminPassword, lanyard.RoleOperator)

		resp := e.login(c, "Root", adminPassword) // logins are case-insensitive
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("status %d, want 303; page:\n%s", resp.StatusCode, resp.body)
		}
		if loc := resp.Header.Get("Location"); loc != "/admin/" {
			t.Errorf("Location %q, want /admin/", loc)
		}
		cookie := setCookie(resp, sessionCookieName)
		if cookie == nil {
			t.Fatal("no session cookie set")
		}
		if !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
			t.Errorf("session cookie: HttpOnly=%v SameSite=%v Path=%q, want HttpOnly, Lax, /", cookie.HttpOnly, cookie.SameSite, cookie.Path)
		}
		if cookie.Secure {
			t.Error("session cookie is Secure on an http base URL; browsers would not send it back")
		}
		if want := int(lanyard.DefaultSessionAbsolute / time.Second); cookie.MaxAge != want {
			t.Errorf("session cookie Max-Age %d, want %d (the absolute expiry)", cookie.MaxAge, want)
		}

		page := e.get(c, "/admin/")
		if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "root") || !strings.Contains(page.body, "/t/default/saml/metadata") {
			t.Errorf("GET /admin/ after sign-in: status %d, want 200 naming the user and linking the tenant's metadata:\n%s", page.StatusCode, page.body)
		}
		if !e.hasAudit(actionAdminLogin, lanyard.OutcomeSuccess, "") {
			t.Error("no admin.login success in the audit trail")
		}
		u, err := e.store.User(context.Background(), root.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !u.LastLoginAt.Equal(e.clock.Now()) {
			t.Errorf("LastLoginAt %s, want %s", u.LastLoginAt, e.clock.Now())
		}

		// Signed in, the form sends the administrator straight on.
		if r := e.get(c, "/admin/login"); r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/" {
			t.Errorf("GET /admin/login when signed in: %d to %q, want 303 to /admin/", r.StatusCode, r.Header.Get("Location"))
		}
	})
}

func TestAdminLoginSecureCookieOnHTTPS(t *testing.T) {
	e := newEnv(t, envOptions{https: true})
	c := e.client()
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	form := e.get(c, "/admin/login")
	// Over https Lanyard's cookies carry the __Host- prefix: only this
	// host can set them, a sibling subdomain cannot plant one.
	if csrf := setCookie(form, "__Host-"+csrfCookieName); csrf == nil || !csrf.Secure || !csrf.HttpOnly || csrf.SameSite != http.SameSiteStrictMode || csrf.Path != "/" || csrf.Domain != "" {
		t.Errorf("CSRF cookie on https: %+v, want __Host-, Secure, HttpOnly, SameSite=Strict, Path=/", csrf)
	}
	if plain := setCookie(form, csrfCookieName); plain != nil {
		t.Errorf("CSRF cookie without the __Host- prefix on https: %+v", plain)
	}
	resp := e.post(c, "/admin/login", url.Values{"username": {"root"}, "password": {adminPassword}, csrfField: {e.csrfToken(form)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("status %d, want 303:\n%s", resp.StatusCode, resp.body)
	}
	cookie := setCookie(resp, "__Host-"+sessionCookieName)
	if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" || cookie.Domain != "" {
		t.Fatalf("session cookie on https: %+v, want Secure, HttpOnly, SameSite=Lax", cookie)
	}
	if r := e.get(c, "/admin/"); r.StatusCode != http.StatusOK {
		t.Errorf("GET /admin/ over https after sign-in: status %d, want 200", r.StatusCode)
	}
}

func TestAdminLoginNext(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	for _, tc := range []struct{ next, want string }{
		{"/admin/?tab=tenants", "/admin/?tab=tenants"},
		{"//evil.example/", "/admin/"},
		{"https://evil.example/", "/admin/"},
		{`/\evil.example`, "/admin/"},
		{"", "/admin/"},
	} {
		t.Run(tc.next, func(t *testing.T) {
			c := e.client()
			resp := e.login(c, "root", adminPassword, "next", tc.next)
			if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != tc.want {
				t.Errorf("next %q: %d to %q, want 303 to %q", tc.next, resp.StatusCode, got, tc.want)
			}
		})
	}

	// An anonymous visit to an admin page comes back there after sign-in.
	c := e.client()
	r := e.get(c, "/admin/?tab=x")
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/admin/login?next=%2Fadmin%2F%3Ftab%3Dx" {
		t.Fatalf("anonymous GET /admin/?tab=x: %d to %q, want 303 to the sign-in page with next", r.StatusCode, r.Header.Get("Location"))
	}
	form := e.get(c, r.Header.Get("Location"))
	if !strings.Contains(form.body, `name="next" value="/admin/?tab=x"`) {
		t.Errorf("the sign-in form does not carry next:\n%s", form.body)
	}
}

func TestAdminLoginRefusals(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		e.addUser("bob", adminPassword) // no admin role
		sleepy := e.addUser("sleepy", adminPassword, lanyard.RoleOperator)
		e.updateUser(sleepy.ID, func(u *lanyard.User) { u.Status = lanyard.StatusInactive })
		locked := e.addUser("locked", adminPassword, lanyard.RoleOperator)
		e.updateUser(locked.ID, func(u *lanyard.User) { u.Locked = true })
		e.addUser("ssoadmin", "", lanyard.RoleOperator) // no password

		for _, tc := range []struct {
			name, login, password string
			status                int
			reason                string
			message               string
		}{
			{"wrong password", "root", "not the password", http.StatusUnauthorized, reasonBadPassword, neutralLoginRefusal},
			{"unknown user", "nobody", adminPassword, http.StatusUnauthorized, reasonUnknownUser, neutralLoginRefusal},
			{"not an administrator", "bob", adminPassword, http.StatusUnauthorized, reasonNotAdmin, neutralLoginRefusal},
			{"inactive", "sleepy", adminPassword, http.StatusUnauthorized, reasonInactive, neutralLoginRefusal},
			{"locked", "locked", adminPassword, http.StatusForbidden, reasonLocked, "This account is locked."},
			{"locked, wrong password", "locked", "not the password", http.StatusUnauthorized, reasonBadPassword, neutralLoginRefusal},
			{"no password", "ssoadmin", adminPassword, http.StatusUnauthorized, reasonNoPassword, neutralLoginRefusal},
			{"empty username", "", adminPassword, http.StatusUnauthorized, reasonUnknownUser, neutralLoginRefusal},
			{"overlong username", "root" + strings.Repeat("x", 2000), adminPassword, http.StatusUnauthorized, reasonUnknownUser, neutralLoginRefusal},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := e.client()
				resp := e.login(c, tc.login, tc.password)
				if resp.StatusCode != tc.status {
					t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
				}
				if setCookie(resp, sessionCookieName) != nil {
					t.Error("a refused sign-in set a session cookie")
				}
				if !strings.Contains(resp.body, htmlEscape(tc.message)) {
					t.Errorf("page lacks %q:\n%s", tc.message, resp.body)
				}
				if !e.hasAudit(actionAdminLogin, lanyard.OutcomeFailure, tc.reason) {
					t.Errorf("no admin.login failure with reason %s in the audit trail", tc.reason)
				}
				if r := e.get(c, "/admin/"); r.StatusCode != http.StatusSeeOther {
					t.Errorf("GET /admin/ after a refused sign-in: status %d, want 303 to the sign-in page", r.StatusCode)
				}
			})
		}
		// The page always tells how to get a password.
		if page := e.get(e.client(), "/admin/login"); !strings.Contains(page.body, "lanyard admin reset-password LOGIN") {
			t.Error("the sign-in page does not mention lanyard admin reset-password")
		}
	})
}

func TestAdminLoginOtherTenant(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	acme := lanyard.Tenant{Slug: "acme"}
	if err := e.store.CreateTenant(ctx, &acme); err != nil {
		t.Fatal(err)
	}
	e.addUser("root", adminPassword, lanyard.RoleOperator) // in the default tenant
	if r := e.login(e.client(), "root", adminPassword, "tenant", "acme"); r.StatusCode != http.StatusUnauthorized {
		t.Errorf("default tenant's admin in tenant acme: status %d, want 401", r.StatusCode)
	}
	for _, slug := range []string{"nosuch", "Not A Slug!", strings.Repeat("t", 5000)} {
		if r := e.login(e.client(), "root", adminPassword, "tenant", slug); r.StatusCode != http.StatusUnauthorized {
			t.Errorf("unknown tenant %.20q: status %d, want 401", slug, r.StatusCode)
		}
	}
	// The tenant field may name another tenant.
	e.addUserIn(acme, "acmeadmin", adminPassword, lanyard.RoleOperator)
	e.mustLogin(e.client(), "acmeadmin", adminPassword, "tenant", "acme")
	if !e.hasAudit(actionAdminLogin, lanyard.OutcomeFailure, reasonUnknownUser) {
		t.Error("no unknown_user failure audited")
	}
}

func TestAdminLoginCSRF(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	creds := url.Values{"username": {"root"}, "password": {adminPassword}}

	for _, tc := range []struct {
		name    string
		token   func(valid string) string
		headers []string
		noForm  bool // post without having opened the form: no CSRF cookie
	}{
		{name: "missing token", token: func(string) string { return "" }},
		{name: "wrong token", token: func(v string) string {
			// Another first character: "A" alone matches one valid token in 64.
			if v[0] == 'A' {
				return "B" + v[1:]
			}
			return "A" + v[1:]
		}},
		{name: "no cookie", token: func(string) string { return "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" }, noForm: true},
		{name: "cross-site origin", token: func(v string) string { return v }, headers: []string{"Origin", "https://evil.example"}},
		{name: "cross-site fetch", token: func(v string) string { return v }, headers: []string{"Sec-Fetch-Site", "cross-site"}},
		{name: "same-site sibling", token: func(v string) string { return v }, headers: []string{"Sec-Fetch-Site", "same-site"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := e.client()
			valid := ""
			if !tc.noForm {
				valid = e.loginForm(c)
			}
			form := url.Values{csrfField: {tc.token(valid)}}
			for k, v := range creds {
				form[k] = v
			}
			resp := e.post(c, "/admin/login", form, tc.headers...)
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("status %d, want 403", resp.StatusCode)
			}
			if !strings.Contains(resp.body, "Reload the page") {
				t.Errorf("the 403 page does not say to reload the form:\n%s", resp.body)
			}
			if setCookie(resp, sessionCookieName) != nil {
				t.Error("a forged sign-in set a session cookie")
			}
		})
	}
	if !e.hasAudit(actionAdminLogin, lanyard.OutcomeFailure, reasonCSRF) {
		t.Error("no admin.login failure with reason csrf audited")
	}

	// A same-origin browser post passes.
	c := e.client()
	form := url.Values{csrfField: {e.loginForm(c)}, "username": {"root"}, "password": {adminPassword}}
	if r := e.post(c, "/admin/login", form, "Origin", e.http.URL, "Sec-Fetch-Site", "same-origin"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("same-origin post: status %d, want 303", r.StatusCode)
	}
}

func TestAdminLoginAccountThrottle(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		c := e.client()

		for i := 1; i <= accountFailureLimit-1; i++ {
			if r := e.login(c, "root", "wrong password!"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d: status %d, want 401", i, r.StatusCode)
			}
			e.clock.Advance(time.Minute)
		}
		// The fifth failure locks the account and says so.
		fifth := e.login(c, "root", "wrong password!")
		if fifth.StatusCode != http.StatusTooManyRequests || !strings.Contains(fifth.body, "Too many failed attempts; try again in 15 minutes.") {
			t.Fatalf("fifth failure: status %d, want 429 with the lockout notice:\n%s", fifth.StatusCode, fifth.body)
		}
		if got := fifth.Header.Get("Retry-After"); got != "900" {
			t.Errorf("fifth failure: Retry-After %q, want 900", got)
		}
		lockouts := e.auditEvents(actionAdminLockout)
		if len(lockouts) != 1 {
			t.Fatalf("admin.lockout events: %d, want 1", len(lockouts))
		}
		if ev := lockouts[0]; ev.Subject != "root" || ev.UserID == 0 || !strings.Contains(ev.Message, "temporarily locked") || ev.Detail["locked_until"] == "" {
			t.Errorf("admin.lockout event %+v: want the account, a message saying it is temporarily locked, and until when", ev)
		}

		// Locked: even the right password is refused, without a session.
		e.clock.Advance(5 * time.Minute)
		locked := e.login(c, "root", adminPassword)
		if locked.StatusCode != http.StatusTooManyRequests || setCookie(locked, sessionCookieName) != nil {
			t.Fatalf("right password while locked: status %d, want 429 and no session cookie", locked.StatusCode)
		}
		if !strings.Contains(locked.body, "try again in 10 minutes") {
			t.Errorf("locked page does not say 10 minutes are left:\n%s", locked.body)
		}
		if got := locked.Header.Get("Retry-After"); got != "600" {
			t.Errorf("locked: Retry-After %q, want 600", got)
		}
		if !e.hasAudit(actionAdminLogin, lanyard.OutcomeFailure, reasonThrottled) {
			t.Error("no admin.login failure with reason throttled audited")
		}
		if n := len(e.auditEvents(actionAdminLockout)); n != 1 {
			t.Errorf("admin.lockout events: %d, want still 1 (refusals while locked do not lock again)", n)
		}

		// Unknown accounts lock the same way: the lock reveals nothing.
		for i := 1; i <= accountFailureLimit; i++ {
			e.login(c, "nobody", "wrong password!")
		}
		if r := e.login(c, "nobody", "wrong password!"); r.StatusCode != http.StatusTooManyRequests {
			t.Errorf("unknown account after %d failures: status %d, want 429", accountFailureLimit, r.StatusCode)
		}

		// The lock lasts 15 minutes from the lockout.
		e.clock.Advance(10*time.Minute + time.Second)
		e.mustLogin(c, "root", adminPassword)
	})
}

func TestAdminLoginSuccessClearsFailures(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		c := e.client()
		for i := 0; i < accountFailureLimit-1; i++ {
			e.login(c, "root", "wrong password!")
		}
		e.mustLogin(c, "root", adminPassword)
		key := accountKey(e.tenant.ID, "root")
		if n, err := e.store.Failures(context.Background(), key, e.clock.Now().Add(-time.Hour)); err != nil || n != 0 {
			t.Fatalf("failures of %s after a success: %d (%v), want 0", key, n, err)
		}
		// Four more failures do not lock: the count started again.
		c = e.client()
		for i := 1; i <= accountFailureLimit-1; i++ {
			if r := e.login(c, "root", "wrong password!"); r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("failure %d after a success: status %d, want 401", i, r.StatusCode)
			}
		}
		e.mustLogin(c, "root", adminPassword)
	})
}

func TestAdminLoginAddressThrottle(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		c := e.client()
		// Spray: one guess at each of many accounts, so no account locks.
		for i := 1; i <= addressFailureLimit; i++ {
			r := e.login(c, fmt.Sprintf("user%d", i), "guess")
			if r.StatusCode != http.StatusUnauthorized {
				t.Fatalf("guess %d: status %d, want 401", i, r.StatusCode)
			}
		}
		r := e.login(c, "root", adminPassword)
		if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(r.body, "from your network address") {
			t.Fatalf("after %d failures from one address: status %d, want 429 naming the address:\n%s", addressFailureLimit, r.StatusCode, r.body)
		}
		if setCookie(r, sessionCookieName) != nil {
			t.Error("a throttled sign-in set a session cookie")
		}
		e.clock.Advance(throttleWindow + time.Second)
		e.mustLogin(c, "root", adminPassword)
	})
}

func TestNonAdminSessionIsForbidden(t *testing.T) {
	e := newEnv(t, envOptions{})
	bob := e.addUser("bob", adminPassword)
	id, _, err := e.server.sessions.Open(context.Background(), e.tenant, bob, lanyard.SessionSSO, sessionMeta())
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	base, _ := url.Parse(e.http.URL)
	c.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
	r := e.get(c, "/admin/")
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "not an administrator of Lanyard") {
		t.Errorf("GET /admin/ with a non-admin session: status %d, want 403 explaining the role:\n%s", r.StatusCode, r.body)
	}
}

func TestDeactivationEndsAdminSession(t *testing.T) {
	e := newEnv(t, envOptions{})
	root := e.addUser("root", adminPassword, lanyard.RoleOperator)
	c := e.client()
	e.mustLogin(c, "root", adminPassword)
	e.updateUser(root.ID, func(u *lanyard.User) { u.Status = lanyard.StatusInactive })
	if r := e.get(c, "/admin/"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("GET /admin/ after deactivation: status %d, want 303 to the sign-in page", r.StatusCode)
	}
	e.updateUser(root.ID, func(u *lanyard.User) { u.Status = lanyard.StatusActive })
	if r := e.get(c, "/admin/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("GET /admin/ after reactivation: status %d, want 303: the session was ended, not suspended", r.StatusCode)
	}
}

func TestAdminLoginConcurrentFailuresLock(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		e.addUser("root", adminPassword, lanyard.RoleOperator)
		const attempts = 3 * accountFailureLimit
		forms := make([]url.Values, attempts)
		clients := make([]*http.Client, attempts)
		for i := range forms {
			clients[i] = e.client()
			forms[i] = url.Values{csrfField: {e.loginForm(clients[i])}, "username": {"root"}, "password": {"wrong password!"}}
		}
		statuses := make(chan int, attempts)
		var wg sync.WaitGroup
		for i := range forms {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/admin/login", strings.NewReader(forms[i].Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := clients[i].Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				statuses <- resp.StatusCode
			})
		}
		wg.Wait()
		close(statuses)
		for status := range statuses {
			if status != http.StatusUnauthorized && status != http.StatusTooManyRequests {
				t.Errorf("concurrent failure answered %d, want 401 or 429", status)
			}
		}
		if r := e.login(e.client(), "root", adminPassword); r.StatusCode != http.StatusTooManyRequests {
			t.Errorf("after %d concurrent failures: status %d, want 429", attempts, r.StatusCode)
		}
		if len(e.auditEvents(actionAdminLockout)) == 0 {
			t.Error("no admin.lockout event after concurrent failures")
		}
	})
}
