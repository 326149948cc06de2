package main

import (
	"context"
	"database/sql"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// needTool returns the path of a command a fault test drives, skipping
// when it is missing (failing in CI, where every component must be there).
func needTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed: %v", name, err)
		}
		t.Skipf("%s is not installed: %v", name, err)
	}
	return path
}

// faultServer is a "lanyard serve" process under test.
type faultServer struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *lineWatcher
}

// startFaultServer starts serve with env and args, and waits for /readyz.
func startFaultServer(t *testing.T, env []string, args ...string) *faultServer {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	logs := &lineWatcher{pattern: regexp.MustCompile(`^lanyard: open (http://\S+)/ `), found: make(chan string, 1)}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &faultServer{t: t, cmd: cmd, logs: logs}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	select {
	case s.base = <-logs.found:
	case <-time.After(30 * time.Second):
		t.Fatalf("no base URL line within 30s:\n%s", logs)
	}
	s.waitReady(http.StatusOK, 20*time.Second)
	return s
}

// readyz returns the status, Retry-After and body of GET /readyz.
func (s *faultServer) readyz() (int, string, string) {
	resp, err := http.Get(s.base + "/readyz")
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(body)
}

// waitReady waits until /readyz answers status; it fails the test after
// within.
func (s *faultServer) waitReady(status int, within time.Duration) (retryAfter, body string) {
	s.t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, ra, b := s.readyz()
		if got == status {
			return ra, b
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("/readyz: %d %q after %v, want %d\nserver log:\n%s", got, b, within, status, s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// metric returns the value of an unlabelled metric of /metrics, 0 when
// absent.
func (s *faultServer) metric(name string) float64 {
	resp, err := http.Get(s.base + "/metrics")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]*)"`)

// adminLogin opens the sign-in form and posts it: a login, which writes a
// session and an audit event. It returns the answer's status, Retry-After
// and body.
func (s *faultServer) adminLogin(login, password string) (int, string, string) {
	s.t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.base + "/admin/login")
	if err != nil {
		s.t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInput.FindStringSubmatch(string(page))
	if m == nil {
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(page)
	}
	form := url.Values{"username": {login}, "password": {password}, "csrf_token": {html.UnescapeString(m[1])}}
	req, _ := http.NewRequest(http.MethodPost, s.base+"/admin/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", s.base)
	resp, err = c.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), string(body)
}

// checkOutage checks that the node says it cannot serve: /readyz 503 with
// Retry-After, and a login answered 503 with Retry-After and a page that
// says to try again shortly (not 500); when reads fail too, forward-auth
// answers 503 likewise.
func (s *faultServer) checkOutage(login, password string, readsFail bool) {
	s.t.Helper()
	ra, body := s.waitReady(http.StatusServiceUnavailable, 10*time.Second)
	if ra == "" {
		s.t.Errorf("/readyz 503 %q without Retry-After", body)
	}
	status, ra, page := s.adminLogin(login, password)
	if status != http.StatusServiceUnavailable || ra == "" {
		s.t.Errorf("login during the outage: %d, Retry-After %q, want 503 with Retry-After:\n%s", status, ra, page)
	}
	if !strings.Contains(page, "try again in a few seconds") {
		s.t.Errorf("login page during the outage does not say to try again shortly:\n%s", page)
	}
	if !readsFail {
		return
	}
	// Forward-auth with a session the node has not seen: it must ask the
	// database, and answer 503 rather than 500.
	req, _ := http.NewRequest(http.MethodGet, s.base+"/auth/verify", nil)
	req.Header.Set("X-Original-URI", "/app/")
	req.AddCookie(&http.Cookie{Name: "lanyard_session", Value: strings.Repeat("A", 43)})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	verifyBody, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(string(verifyBody), "try again in a few seconds") {
		s.t.Errorf("/auth/verify during the outage: %d, Retry-After %q, %q; want 503 with Retry-After, saying to try again shortly", resp.StatusCode, resp.Header.Get("Retry-After"), verifyBody)
	}
}

// checkLogin checks that a login succeeds (a redirect to the admin UI).
func (s *faultServer) checkLogin(login, password string) {
	s.t.Helper()
	if status, _, page := s.adminLogin(login, password); status != http.StatusSeeOther && status != http.StatusFound {
		s.t.Errorf("login: %d, want a redirect after sign-in:\n%s", status, page)
	}
}

const faultAdminPassword = "correct horse battery staple"

// TestReadinessSQLiteFull makes the SQLite volume full for the server
// process (RLIMIT_FSIZE of 1 byte: every write to a file fails with EFBIG,
// as on a full disk), then gives the space back. The write probe, with its
// timer running, turns /readyz to 503 and logins answer 503; both recover
// alone once the space is back.
func TestReadinessSQLiteFull(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("prlimit is Linux's")
	}
	prlimit := needTool(t, "prlimit")
	data := t.TempDir()
	env := []string{"LANYARD_DATA=" + data}
	if _, stderr, code := execLanyard(t, env, faultAdminPassword+"\n", "admin", "create", "root"); code != 0 {
		t.Fatalf("admin create: %s", stderr)
	}
	s := startFaultServer(t, env, "--write-probe-interval", "200ms", "--min-free-mb", "0")

	// A reader from another connection holds a snapshot while a login
	// writes: a checkpoint cannot copy frames past a reader's snapshot, so
	// the login's frames are still in the WAL when the disk fills, and the
	// checkpointer has work that must fail (with an empty WAL it writes
	// nothing and rightly succeeds).
	reader, err := sql.Open("sqlite", filepath.Join(data, sqliteFile)+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	ctx := context.Background()
	snapshot, err := reader.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer snapshot.Close()
	var tables int
	if _, err := snapshot.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := snapshot.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
		t.Fatal(err)
	}
	s.checkLogin("root", faultAdminPassword)

	pid := strconv.Itoa(s.cmd.Process.Pid)
	if out, err := exec.Command(prlimit, "--pid", pid, "--fsize=1:unlimited").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}
	if _, err := snapshot.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	// A full disk still reads: forward-auth of a session keeps working.
	s.checkOutage("root", faultAdminPassword, false)
	if !strings.Contains(s.logs.String(), "write probe failed") {
		t.Errorf("no log line of the failed write probe:\n%s", s.logs)
	}
	// The checkpointer fails too (it writes the database file): logged
	// and counted, like the probe.
	deadline := time.Now().Add(5 * time.Second)
	for s.metric("lanyard_store_background_failures_total") == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, name := range []string{"lanyard_store_background_failures_total", "lanyard_store_write_probe_failures_total"} {
		if s.metric(name) == 0 {
			t.Errorf("metric %s is 0 while the disk is full", name)
		}
	}
	if !strings.Contains(s.logs.String(), "WAL checkpoint failed") {
		t.Errorf("no log line of the failed checkpoint:\n%s", s.logs)
	}

	if out, err := exec.Command(prlimit, "--pid", pid, "--fsize=unlimited:unlimited").CombinedOutput(); err != nil {
		t.Fatalf("prlimit: %v: %s", err, out)
	}
	s.waitReady(http.StatusOK, 10*time.Second)
	s.checkLogin("root", faultAdminPassword)
	if out, err := exec.Command("sqlite3", filepath.Join(data, sqliteFile), "PRAGMA integrity_check").CombinedOutput(); err == nil && strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("integrity check after the full disk: %s", out)
	}
}

// TestReadinessFreeSpace: with a threshold above the free space of the
// data volume, /readyz says so.
func TestReadinessFreeSpace(t *testing.T) {
	data := t.TempDir()
	s := startFaultServerNotReady(t, []string{"LANYARD_DATA=" + data}, "--min-free-mb", strconv.Itoa(1<<31))
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, ra, body := s.readyz()
		if strings.Contains(body, "free on the volume") {
			if status != http.StatusServiceUnavailable || ra == "" {
				t.Errorf("/readyz short of space: %d, Retry-After %q, want 503 with Retry-After", status, ra)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz body %q does not name the free space", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startFaultServerNotReady starts serve without waiting for /readyz.
func startFaultServerNotReady(t *testing.T, env []string, args ...string) *faultServer {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	logs := &lineWatcher{pattern: regexp.MustCompile(`^lanyard: open (http://\S+)/ `), found: make(chan string, 1)}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	s := &faultServer{t: t, cmd: cmd, logs: logs}
	select {
	case s.base = <-logs.found:
	case <-time.After(30 * time.Second):
		t.Fatalf("no base URL line within 30s:\n%s", logs)
	}
	return s
}

// TestReadinessPostgresStopped stops a PostgreSQL server of its own under
// a running node and starts it again: /readyz drops to 503 with
// Retry-After, logins answer 503, and both recover alone.
func TestReadinessPostgresStopped(t *testing.T) {
	pgsh, err := filepath.Abs("../../scripts/pg.sh")
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("LANYARD_TEST_POSTGRES_URL") == "" && os.Getenv("CI") != "true" {
		t.Skip("no PostgreSQL for tests (LANYARD_TEST_POSTGRES_URL unset): scripts/pg.sh start")
	}
	// Durable, as in production: the outage must lose no acknowledged commit.
	out, err := exec.Command(pgsh, "start", "--durable").Output()
	if err != nil {
		t.Fatalf("pg.sh start: %v", err)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok {
			vars[k] = strings.Trim(v, "'")
		}
	}
	dir, dbURL := vars["LANYARD_TEST_PG_DIR"], vars["LANYARD_TEST_POSTGRES_URL"]
	if dir == "" || dbURL == "" {
		t.Fatalf("pg.sh start printed %q", out)
	}
	t.Cleanup(func() { _ = exec.Command(pgsh, "stop", dir).Run() })
	pg := func(verb string) {
		t.Helper()
		if out, err := exec.Command(pgsh, verb, dir).CombinedOutput(); err != nil {
			t.Fatalf("pg.sh %s: %v: %s", verb, err, out)
		}
	}

	env := []string{"LANYARD_DATABASE=" + dbURL}
	if _, stderr, code := execLanyard(t, env, faultAdminPassword+"\n", "admin", "create", "root"); code != 0 {
		t.Fatalf("admin create: %s", stderr)
	}
	stdout, stderr, code := execLanyard(t, env, "", "token", "create", "ops", "--scopes", "read")
	token := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(token, "lyd_") {
		t.Fatalf("token create: exit %d: %s %s", code, stdout, stderr)
	}
	s := startFaultServer(t, env, "--write-probe-interval", "200ms")
	s.checkLogin("root", faultAdminPassword)
	api := func() (int, string, string) {
		req, _ := http.NewRequest(http.MethodGet, s.base+"/api/v1/tenants", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Retry-After"), string(body)
	}
	if status, _, body := api(); status != http.StatusOK {
		t.Fatalf("API before the outage: %d %s", status, body)
	}

	pg("halt")
	s.checkOutage("root", faultAdminPassword, true)
	if status, ra, body := api(); status != http.StatusServiceUnavailable || ra == "" {
		t.Errorf("API during the outage: %d, Retry-After %q, want 503 with Retry-After: %s", status, ra, body)
	}
	pg("resume")
	s.waitReady(http.StatusOK, 20*time.Second)
	s.checkLogin("root", faultAdminPassword)
	if status, _, body := api(); status != http.StatusOK {
		t.Errorf("API after the outage: %d %s", status, body)
	}
}
