package web

import (
	"cmp"
	"context"
	"crypto/tls"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/password"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/web/sso"
)

// fastParams keep argon2 cheap in tests; the dummy hash of unknown accounts
// still uses the default parameters, as in production.
var fastParams = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// env is a Lanyard server over a fresh, migrated SQLite store, reached
// through a real HTTP server.
type env struct {
	t      *testing.T
	store  *sqlstore.DB
	clock  *testdb.Clock
	server *Server
	admin  *admin.Service
	http   *httptest.Server
	tenant lanyard.Tenant // the default tenant
}

type envOptions struct {
	engine   string // "sqlite" (the default) or "postgres"
	https    bool
	notReady bool
	// pending bounds the AuthnRequests awaiting their response (zero:
	// the defaults).
	pending sso.PendingLimits
	// oidcLogoutInterval is Config.OIDCLogoutInterval.
	oidcLogoutInterval time.Duration
	// wrapStore, when set, wraps the store the server uses (not the
	// administration service's), e.g. to inject failures.
	wrapStore func(*sqlstore.DB) lanyard.Store
}

// eachEngine runs a test on every store engine (PostgreSQL skips without
// LANYARD_TEST_POSTGRES_URL, see internal/testdb). Tests whose outcome
// depends on the store's semantics (throttle counts, expiry, tokens) use it.
func eachEngine(t *testing.T, fn func(t *testing.T, opts envOptions)) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) { fn(t, envOptions{engine: engine}) })
	}
}

func newEnv(t *testing.T, opts envOptions) *env {
	t.Helper()
	ctx := context.Background()
	db := testdb.Open(t, cmp.Or(opts.engine, "sqlite")).(*sqlstore.DB)
	clock := testdb.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	db.SetClock(clock.Now)
	tenant := lanyard.Tenant{Slug: lanyard.DefaultTenantSlug, DisplayName: "Default"}
	if err := db.CreateTenant(ctx, &tenant); err != nil {
		t.Fatalf("create tenant: %v", err)
	}

	e := &env{t: t, store: db, clock: clock, tenant: tenant}
	// The base URL must be known before the server is built, and the
	// handler set before the listener serves: build between the two.
	e.http = httptest.NewUnstartedServer(nil)
	scheme := "http"
	if opts.https {
		scheme = "https"
	}
	base := &url.URL{Scheme: scheme, Host: e.http.Listener.Addr().String()}
	e.admin = admin.New(db, admin.Options{Now: clock.Now, BaseURL: base})
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var served lanyard.Store = db
	if opts.wrapStore != nil {
		served = opts.wrapStore(db)
	}
	e.server = New(Config{BaseURL: base, Store: served, Admin: e.admin, Now: clock.Now, Logger: logger, PendingRequests: opts.pending,
		OIDCLogoutInterval: opts.oidcLogoutInterval})
	e.http.Config.Handler = e.server
	if opts.https {
		e.http.StartTLS()
	} else {
		e.http.Start()
	}
	t.Cleanup(e.http.Close)
	if !opts.notReady {
		e.server.SetReady()
	}
	return e
}

// client is a browser: a cookie jar, and redirects left to the test.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
		Timeout: 30 * time.Second,
	}
	if tr, ok := e.http.Client().Transport.(*http.Transport); ok {
		t := tr.Clone()
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // httptest's own certificate
		c.Transport = t
	}
	return c
}

// addUser creates an account of the default tenant with a password (none
// when pw is "") and the given roles.
func (e *env) addUser(login, pw string, roles ...string) lanyard.User {
	e.t.Helper()
	return e.addUserIn(e.tenant, login, pw, roles...)
}

// addUserIn creates an account of tenant t.
func (e *env) addUserIn(t lanyard.Tenant, login, pw string, roles ...string) lanyard.User {
	e.t.Helper()
	u := lanyard.User{TenantID: t.ID, Login: login, LoginMethod: lanyard.LoginPassword, WebAccess: true}
	for _, r := range roles {
		u.Roles = append(u.Roles, lanyard.RoleGrant{Role: r, Source: lanyard.RoleManual})
	}
	if pw != "" {
		h, err := password.HashWith(pw, fastParams)
		if err != nil {
			e.t.Fatal(err)
		}
		u.PasswordHash = h
	}
	u.Normalize()
	if err := e.store.CreateUser(context.Background(), &u); err != nil {
		e.t.Fatalf("create user %s: %v", login, err)
	}
	return u
}

func (e *env) updateUser(id int64, fn func(*lanyard.User)) {
	e.t.Helper()
	if _, err := e.store.UpdateUser(context.Background(), id, func(u *lanyard.User) error { fn(u); return nil }); err != nil {
		e.t.Fatalf("update user %d: %v", id, err)
	}
}

// response is a read answer.
type response struct {
	*http.Response
	body string
}

func (e *env) do(c *http.Client, req *http.Request) response {
	e.t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return response{Response: resp, body: string(b)}
}

func (e *env) get(c *http.Client, path string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.http.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do(c, req)
}

// post sends a form; headers are extra request headers.
func (e *env) post(c *http.Client, path string, form url.Values, headers ...string) response {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return e.do(c, req)
}

var csrfFieldPattern = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// csrfToken returns the CSRF field of a page.
func (e *env) csrfToken(page response) string {
	e.t.Helper()
	m := csrfFieldPattern.FindStringSubmatch(page.body)
	if m == nil {
		e.t.Fatalf("no csrf_token field on the page (status %d):\n%s", page.StatusCode, page.body)
	}
	return html.UnescapeString(m[1])
}

// loginForm opens the sign-in form and returns its CSRF token.
func (e *env) loginForm(c *http.Client) string {
	e.t.Helper()
	page := e.get(c, "/admin/login")
	if page.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /admin/login: status %d, want 200", page.StatusCode)
	}
	return e.csrfToken(page)
}

// login posts the sign-in form with a fresh CSRF token.
func (e *env) login(c *http.Client, login, pw string, extra ...string) response {
	e.t.Helper()
	form := url.Values{"username": {login}, "password": {pw}, csrfField: {e.loginForm(c)}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return e.post(c, "/admin/login", form)
}

// mustLogin signs in and fails the test unless it succeeds.
func (e *env) mustLogin(c *http.Client, login, pw string, extra ...string) {
	e.t.Helper()
	resp := e.login(c, login, pw, extra...)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in as %s: status %d, want 303; page:\n%s", login, resp.StatusCode, resp.body)
	}
}

// setCookie returns the Set-Cookie of the response with the name, or nil.
func setCookie(resp response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// auditEvents lists the events of an action, newest first.
func (e *env) auditEvents(action string) []lanyard.AuditEvent {
	e.t.Helper()
	evs, err := e.store.AuditEvents(context.Background(), lanyard.AuditFilter{Action: action, Limit: 1000})
	if err != nil {
		e.t.Fatalf("audit events: %v", err)
	}
	return evs
}

// hasAudit reports whether an event with the action, outcome and reason
// was recorded.
func (e *env) hasAudit(action string, outcome lanyard.Outcome, reason string) bool {
	for _, ev := range e.auditEvents(action) {
		if ev.Outcome == outcome && ev.Reason == reason {
			return true
		}
	}
	return false
}

func htmlEscape(s string) string { return html.EscapeString(s) }

func sessionMeta() session.Meta { return session.Meta{ClientIP: "192.0.2.1", UserAgent: "test"} }
