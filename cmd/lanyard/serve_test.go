package main

import (
	"context"
	"errors"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// server is a "lanyard serve" running in-process.
type server struct {
	t      *testing.T
	url    string // http://localhost:PORT, the base URL
	addr   string // 127.0.0.1:PORT, the listen address
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan error
	// stopped is set once stop has seen serve return.
	stopped bool
}

// startServe runs "lanyard serve" on a free port with the store flags
// (--data DIR or --database URL) and returns once it listens. hold, when not nil, keeps the server in its
// starting state until it is closed.
func startServe(t *testing.T, storeFlags []string, hold <-chan struct{}) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{t: t, stderr: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	listening := make(chan net.Addr, 1)
	a := &app{
		getenv:   func(string) string { return "" },
		stdin:    strings.NewReader(""),
		stdout:   io.Discard,
		stderr:   s.stderr,
		onListen: func(addr net.Addr) { listening <- addr },
	}
	if hold != nil {
		a.beforeReady = func(ctx context.Context) error {
			select {
			case <-hold:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--log-level", "warn"}, storeFlags...)
	go func() { s.done <- a.run(ctx, args) }()
	select {
	case addr := <-listening:
		s.addr = addr.String()
		_, port, _ := net.SplitHostPort(s.addr)
		s.url = "http://localhost:" + port
	case err := <-s.done:
		t.Fatalf("serve returned before listening: %v\n%s", err, s.stderr)
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not listen within 10s\n%s", s.stderr)
	}
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
	})
	return s
}

// stop cancels serve's context and checks that it returned nil.
func (s *server) stop() {
	s.t.Helper()
	s.cancel()
	select {
	case err := <-s.done:
		s.stopped = true
		if err != nil {
			s.t.Errorf("serve returned %v\n%s", err, s.stderr)
		}
	case <-time.After(15 * time.Second):
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		s.t.Fatalf("serve did not stop within 15s\n%s\n%s", s.stderr, buf)
	}
}

// waitReady polls /healthz, then /readyz, until both answer 200.
func (s *server) waitReady() {
	s.t.Helper()
	for _, path := range []string{"/healthz", "/readyz"} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			resp, err := http.Get(s.url + path)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			if time.Now().After(deadline) {
				s.t.Fatalf("GET %s: not 200 within 10s (last: %v)\n%s", path, err, s.stderr)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// get fetches a path with the client and returns status and body.
func (s *server) get(c *http.Client, path string) (*http.Response, string) {
	s.t.Helper()
	resp, err := c.Get(s.url + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestServeStartsThenBecomesReady(t *testing.T) {
	hold := make(chan struct{})
	s := startServe(t, []string{"--data", t.TempDir()}, hold)
	c := &http.Client{}

	// Listening at once: alive, not ready, logins answer "starting".
	if resp, body := s.get(c, "/healthz"); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz while starting: %d %q", resp.StatusCode, body)
	}
	if resp, body := s.get(c, "/readyz"); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("/readyz while starting: %d %q, want 503 starting", resp.StatusCode, body)
	}
	resp, body := s.get(c, "/admin/login")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "starting") {
		t.Errorf("/admin/login while starting: %d, want 503 with a starting page:\n%s", resp.StatusCode, body)
	}
	if !strings.Contains(s.stderr.String(), "lanyard: listening on "+s.addr+"\n") ||
		!strings.Contains(s.stderr.String(), "lanyard: open "+s.url+"/ ") {
		t.Errorf("stderr lacks the listening line or the base URL to open:\n%s", s.stderr)
	}

	close(hold)
	s.waitReady()
	if resp, _ := s.get(c, "/admin/login"); resp.StatusCode != http.StatusOK {
		t.Errorf("/admin/login once ready: %d, want 200", resp.StatusCode)
	}
	s.stop()
	if _, err := http.Get(s.url + "/healthz"); err == nil {
		t.Error("server still answers after stop")
	}
}

func TestServeStopsWhileStarting(t *testing.T) {
	s := startServe(t, []string{"--data", t.TempDir()}, make(chan struct{})) // never ready
	s.stop()
}

func TestServePortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := cli(t, map[string]string{"LANYARD_DATA": t.TempDir()}, "", "serve", "--addr", ln.Addr().String())
	if r.exitCode() != 1 || !strings.Contains(r.output(), "listen on "+ln.Addr().String()) {
		t.Errorf("exit %d:\n%s", r.exitCode(), r.output())
	}
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// browser is an HTTP client with a cookie jar that does not follow
// redirects, so tests see them.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// adminLogin reads the sign-in form (for its CSRF token and cookie) and
// posts it.
func (s *server) adminLogin(c *http.Client, login, pw string) *http.Response {
	s.t.Helper()
	resp, body := s.get(c, "/admin/login")
	if resp.StatusCode != http.StatusOK {
		s.t.Fatalf("GET /admin/login: %d\n%s", resp.StatusCode, body)
	}
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		s.t.Fatalf("no csrf_token on the sign-in form:\n%s", body)
	}
	form := url.Values{"username": {login}, "password": {pw}, "csrf_token": {html.UnescapeString(m[1])}}
	resp, err := c.PostForm(s.url+"/admin/login", form)
	if err != nil {
		s.t.Fatalf("POST /admin/login: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "lanyard_session" && c.Value != "" && c.MaxAge >= 0 {
			return c
		}
	}
	return nil
}

// TestAdminLoginAcceptance is the acceptance test of the foundation: an
// administrator created with the CLI signs in with a password; refusals
// set no cookie; five wrong passwords lock the account and the audit trail
// says so; the session survives a restart of serve on the same data.
func TestAdminLoginAcceptance(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{"LANYARD_DATA": dataDir}
	const rootPassword = "correct horse battery staple"
	mustCLI(t, env, rootPassword+"\n", "admin", "create", "root")
	mustCLI(t, env, "victim password 123\n", "admin", "create", "victim")
	// bob has a password but is not (any longer) an administrator.
	mustCLI(t, env, "bob's password 123\n", "admin", "create", "bob")
	mustCLI(t, env, "", "user", "set", "bob", "roles=")

	s := startServe(t, []string{"--data", dataDir}, nil)
	s.waitReady()
	root := browser(t)

	resp := s.adminLogin(root, "root", rootPassword)
	if resp.StatusCode != http.StatusSeeOther && resp.StatusCode != http.StatusFound {
		t.Fatalf("root sign-in: status %d, want a redirect\n%s", resp.StatusCode, s.stderr)
	}
	if sessionCookie(resp) == nil {
		t.Fatal("root sign-in set no session cookie")
	}
	if resp, body := s.get(root, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /admin/ after sign-in: %d\n%s", resp.StatusCode, body)
	}

	for _, tc := range []struct{ name, login, pw string }{
		{"wrong password", "root", "not the password"},
		{"not an administrator", "bob", "bob's password 123"},
		{"unknown user", "nobody", "whatever password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.adminLogin(browser(t), tc.login, tc.pw)
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Errorf("status %d, want 4xx", resp.StatusCode)
			}
			if c := sessionCookie(resp); c != nil {
				t.Errorf("refused sign-in set a session cookie %v", c)
			}
		})
	}

	// Five wrong passwords in a row from one address make that address
	// wait: even the right password is refused from it, and the audit
	// trail records the throttle (other addresses: web's
	// TestAdminLoginAccountThrottle).
	attacker := browser(t)
	for i := range 5 {
		if resp := s.adminLogin(attacker, "victim", "wrong guess "+string(rune('a'+i))); resp.StatusCode < 400 {
			t.Fatalf("wrong password %d: status %d", i+1, resp.StatusCode)
		}
	}
	resp = s.adminLogin(browser(t), "victim", "victim password 123")
	if resp.StatusCode < 400 || sessionCookie(resp) != nil {
		t.Errorf("right password from the waiting address: status %d, cookie %v; want a 4xx refusal", resp.StatusCode, sessionCookie(resp))
	}

	s.stop()
	events := auditEvents(t, dataDir)
	var lockout, throttled bool
	for _, e := range events {
		if e.Subject == "victim" && e.Action == "login.throttle" {
			lockout = true
		}
		if e.Subject == "victim" && e.Action == "admin.login" && e.Reason == "throttled" {
			throttled = true
		}
	}
	if !lockout || !throttled {
		var lines []string
		for _, e := range events {
			lines = append(lines, e.Action+" "+string(e.Outcome)+" "+e.Reason+" "+e.Subject+": "+e.Message)
		}
		t.Errorf("audit trail lacks the throttle (%v) or the throttled refusal (%v):\n%s", lockout, throttled, strings.Join(lines, "\n"))
	}

	// The session outlives the process.
	s = startServe(t, []string{"--data", dataDir}, nil)
	s.waitReady()
	if resp, body := s.get(root, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /admin/ after a restart: %d, want 200 (session kept)\n%s", resp.StatusCode, body)
	}
	s.stop()
}

// auditEvents reads the audit trail of the data directory's store.
func auditEvents(t *testing.T, dataDir string) []lanyard.AuditEvent {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dataDir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	events, err := db.AuditEvents(ctx, lanyard.AuditFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return events
}

// TestPostgres runs the administration commands and serve on PostgreSQL
// (--database), which a cluster of nodes shares.
func TestPostgres(t *testing.T) {
	dbURL := testdb.PostgresURL(t)
	env := map[string]string{"LANYARD_DATABASE": dbURL}
	mustCLI(t, env, "", "tenant", "create", "acme", "--domains", "acme.com")
	mustCLI(t, env, "", "user", "add", "--tenant", "acme", "bob")
	if r := cli(t, env, "", "user", "add", "--tenant", "acme", "bob"); r.exitCode() != 1 || !strings.Contains(r.output(), "already exists") {
		t.Errorf("duplicate login on postgres: exit %d\n%s", r.exitCode(), r.output())
	}
	mustCLI(t, env, "correct horse battery staple\n", "admin", "create", "root")
	r := mustCLI(t, env, "", "tenant", "list")
	if !strings.Contains(r.stdout, "acme") || !strings.Contains(r.stdout, "default") {
		t.Errorf("tenant list:\n%s", r.stdout)
	}

	s := startServe(t, []string{"--database", dbURL}, nil)
	s.waitReady()
	if resp := s.adminLogin(browser(t), "root", "correct horse battery staple"); resp.StatusCode != http.StatusSeeOther || sessionCookie(resp) == nil {
		t.Errorf("sign-in on postgres: status %d, cookie %v", resp.StatusCode, sessionCookie(resp))
	}
	s.stop()
}

// TestPasswordResetLink follows a link printed by "admin reset-password"
// in the browser: the new password works at once, even on an account that
// wrong guesses had locked, and the link works only once.
func TestPasswordResetLink(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{"LANYARD_DATA": dataDir}
	mustCLI(t, env, "first password 123\n", "admin", "create", "root")
	s := startServe(t, []string{"--data", dataDir}, nil)
	s.waitReady()
	for range 5 {
		s.adminLogin(browser(t), "root", "a wrong guess")
	}

	r := mustCLI(t, env, "", "admin", "reset-password", "root", "--ttl", "10m")
	m := regexp.MustCompile(`https?://\S+(/admin/reset\?token=\S+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no reset link in:\n%s", r.stdout)
	}
	resetPath := m[1]
	b := browser(t)
	reset := func() *http.Response {
		t.Helper()
		resp, body := s.get(b, resetPath)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", resetPath, resp.StatusCode, body)
		}
		csrf := csrfField.FindStringSubmatch(body)
		if csrf == nil {
			t.Fatalf("no csrf_token on the reset form:\n%s", body)
		}
		u, _ := url.Parse(resetPath)
		form := url.Values{
			"token":      {u.Query().Get("token")},
			"password":   {"second password 456"},
			"confirm":    {"second password 456"},
			"csrf_token": {html.UnescapeString(csrf[1])},
		}
		resp, err := b.PostForm(s.url+"/admin/reset", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := reset(); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /admin/reset: %d, want 303", resp.StatusCode)
	}
	if resp := s.adminLogin(browser(t), "root", "second password 456"); resp.StatusCode != http.StatusSeeOther || sessionCookie(resp) == nil {
		t.Errorf("sign-in with the new password after the reset: %d", resp.StatusCode)
	}
	if resp := reset(); resp.StatusCode < 400 || resp.StatusCode > 499 {
		t.Errorf("second use of the reset link: %d, want 4xx", resp.StatusCode)
	}
	s.stop()
}

// TestServeStartupFailure: when start-up fails after listening (here the
// test hook fails, as a migration could), serve stops and returns the error.
func TestServeStartupFailure(t *testing.T) {
	var stderr syncBuffer
	a := &app{
		getenv: func(string) string { return "" },
		stdin:  strings.NewReader(""),
		stdout: io.Discard,
		stderr: &stderr,
		beforeReady: func(context.Context) error {
			return errors.New("boom")
		},
	}
	done := make(chan error, 1)
	go func() {
		done <- a.run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir()})
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "boom") || exitCode(err) != 1 {
			t.Errorf("serve returned %v, want the start-up error", err)
		}
		if !strings.Contains(stderr.String(), "start-up failed") {
			t.Errorf("no start-up failure in the log:\n%s", stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop after a failed start-up")
	}
}

// TestServeWaitsForDatabase: a database that does not answer keeps the
// server alive but not ready, then fails the start-up after the wait.
func TestServeWaitsForDatabase(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := closed.Addr().String()
	closed.Close() // nothing listens there any more

	var stderr syncBuffer
	listening := make(chan net.Addr, 1)
	a := &app{
		getenv:    func(string) string { return "" },
		stdin:     strings.NewReader(""),
		stdout:    io.Discard,
		stderr:    &stderr,
		onListen:  func(addr net.Addr) { listening <- addr },
		storeWait: 2 * time.Second,
	}
	done := make(chan error, 1)
	go func() {
		done <- a.run(context.Background(), []string{"serve", "--addr", "127.0.0.1:0", "--database", "postgres://lanyard@" + deadAddr + "/lanyard?sslmode=disable&connect_timeout=1"})
	}()
	addr := <-listening
	resp, err := http.Get("http://" + addr.String() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz while the database is down: %d, want 503", resp.StatusCode)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "database does not answer after 2s") {
			t.Errorf("serve returned %v", err)
		}
		if !strings.Contains(stderr.String(), "retrying") {
			t.Errorf("no retry in the log:\n%s", stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not give up on the database")
	}
}

// forwardedFor makes c send X-Forwarded-For: addr, as a proxy in front of
// Lanyard would.
type forwardedFor struct {
	addr string
	next http.RoundTripper
}

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return f.next.RoundTrip(r)
}

// TestTrustedProxies: with --trusted-proxies naming the peer, the client
// named by X-Forwarded-For is the one the audit log records; without it,
// the header is ignored and the TCP peer is recorded.
func TestTrustedProxies(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flags []string
		want  string
		never string
	}{
		{"trusted", []string{"--trusted-proxies", "10.0.0.0/8, 127.0.0.1"}, "198.51.100.7", "127.0.0.1"},
		{"not trusted", nil, "127.0.0.1", "198.51.100.7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dataDir := t.TempDir()
			env := map[string]string{"LANYARD_DATA": dataDir}
			mustCLI(t, env, "first password 123\n", "admin", "create", "root")
			s := startServe(t, append([]string{"--data", dataDir}, tc.flags...), nil)
			s.waitReady()
			c := browser(t)
			c.Transport = forwardedFor{addr: "198.51.100.7", next: http.DefaultTransport}
			if resp := s.adminLogin(c, "root", "a wrong guess"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d, want 401", resp.StatusCode)
			}
			s.stop()
			r := mustCLI(t, env, "", "audit", "list", "--action", "admin.login")
			if !strings.Contains(r.stdout, tc.want) || strings.Contains(r.stdout, tc.never) {
				t.Errorf("audit list shows the client as something other than %s:\n%s", tc.want, r.stdout)
			}
		})
	}
	r := cli(t, dataEnv(t), "", "serve", "--trusted-proxies", "10.0.0.0/8,proxy.internal")
	if r.exitCode() != 2 || !strings.Contains(r.output(), `--trusted-proxies: not an IP address or network (want e.g. 10.0.0.0/8 or 192.0.2.7): "proxy.internal"`) {
		t.Errorf("bad --trusted-proxies: exit %d\n%s", r.exitCode(), r.output())
	}
}

// TestServeRedirectsOtherHostNames: the server reached under another name
// than its base URL's (127.0.0.1 for localhost, another spelling, another
// port in the Host header) sends Lanyard's pages to the base URL, keeping
// path, query and method; the probes, forward-auth and the token keys
// answer under any name.
func TestServeRedirectsOtherHostNames(t *testing.T) {
	s := startServe(t, []string{"--data", t.TempDir()}, nil)
	s.waitReady()
	_, port, _ := net.SplitHostPort(s.addr)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, host, path string) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, "http://"+s.addr+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	for _, host := range []string{"127.0.0.1:" + port, "[::1]:" + port, "localhost", "localhost:1" + port, "lanyard.internal:" + port, "127.0.0.1"} {
		for _, tc := range []struct{ method, path string }{
			{"GET", "/"},
			{"GET", "/login?manual=1"},
			{"GET", "/t/acme/saml/login?return_to=%2Fapp%3Fa%3D1&passive=frame"},
			{"POST", "/admin/login"},
			{"GET", "/admin/"},
			{"GET", "/lanyard/session"},
			{"GET", "//evil.example/x"},
		} {
			resp := send(tc.method, host, tc.path)
			if want := s.url + tc.path; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
				t.Errorf("%s %s on host %s: %d to %q; want 307 to %s", tc.method, tc.path, host, resp.StatusCode, resp.Header.Get("Location"), want)
			}
		}
		for _, path := range []string{"/healthz", "/readyz", "/metrics", "/auth/verify", "/.well-known/jwks.json"} {
			if resp := send("GET", host, path); resp.StatusCode == http.StatusTemporaryRedirect {
				t.Errorf("GET %s on host %s redirected; want it answered under any name", path, host)
			}
		}
	}
	for _, host := range []string{"localhost:" + port, "LOCALHOST:" + port, "localhost.:" + port} {
		if resp := send("GET", host, "/login"); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /login on the base URL's host %s: %d", host, resp.StatusCode)
		}
	}
	// Behind a proxy that names the host it was asked for.
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/login", nil)
	req.Header.Set("X-Forwarded-Host", "localhost:"+port)
	if resp, err := noFollow.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /login with X-Forwarded-Host of the base URL: %v %v", err, resp)
	}
}
