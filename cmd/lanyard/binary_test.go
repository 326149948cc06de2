package main

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binDir is the directory of the built binary, once built.
var binDir string

// buildBinary builds the lanyard command once per test run.
var buildBinary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lanyard-bin-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "lanyard")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", errors.New("go build: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// TestMain removes the built binary after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binary returns the path of the built command, skipping in -short mode.
func binary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped in -short mode")
	}
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// execLanyard runs the binary with a clean environment plus env, and returns
// its output and exit code.
func execLanyard(t *testing.T, env []string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run lanyard: %v", err)
	}
	return out.String(), errOut.String(), code
}

func TestBinary(t *testing.T) {
	data := t.TempDir()
	env := []string{"LANYARD_DATA=" + data}
	steps := []struct {
		args    []string
		stdin   string
		code    int
		stdout  string // substring of stdout
		stderr  string // substring of stderr
		noStdio bool   // nothing at all on stderr
	}{
		{args: []string{"tenant", "create", "acme", "--name", "Acme"}, code: 0, stdout: "created tenant acme", noStdio: true},
		{args: []string{"tenant", "create", "acme"}, code: 1, stderr: `lanyard: tenant "acme" already exists`},
		{args: []string{"tenant", "list"}, code: 0, stdout: "acme     Acme"},
		{args: []string{"user", "add", "--tenant", "acme", "bob", "--email", "bob@acme.com"}, code: 0, stdout: "added user bob to tenant acme"},
		{args: []string{"user", "add", "--tenant", "acme", "bob"}, code: 1, stderr: `login "bob" already exists in tenant "acme"`},
		{args: []string{"user", "add", "--tenant", "nope", "bob"}, code: 1, stderr: `tenant "nope" not found`},
		{args: []string{"user", "list", "--tenant", "acme"}, code: 0, stdout: "bob@acme.com"},
		{args: []string{"admin", "create", "root"}, stdin: "correct horse battery staple\n", code: 0, stdout: "created administrator root"},
		{args: []string{"tenant", "frobnicate"}, code: 2, stderr: `unknown command "frobnicate"`},
		{args: []string{"tenant", "list", "--database", "postgres://u:pw@host:notaport/db"}, code: 2, stderr: "malformed database URL"},
		{args: []string{"--help"}, code: 0, stdout: "Commands:"},
	}
	for _, s := range steps {
		stdout, stderr, code := execLanyard(t, env, s.stdin, s.args...)
		name := "lanyard " + strings.Join(s.args, " ")
		if code != s.code {
			t.Errorf("%s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", name, code, s.code, stdout, stderr)
		}
		if !strings.Contains(stdout, s.stdout) {
			t.Errorf("%s: stdout lacks %q:\n%s", name, s.stdout, stdout)
		}
		if !strings.Contains(stderr, s.stderr) {
			t.Errorf("%s: stderr lacks %q:\n%s", name, s.stderr, stderr)
		}
		if s.noStdio && stderr != "" {
			t.Errorf("%s: unexpected stderr:\n%s", name, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(data, sqliteFile)); err != nil {
		t.Errorf("no SQLite database in the data directory: %v", err)
	}
}

// TestBinaryServeSignal runs "lanyard serve" as a process and stops it
// with SIGTERM: it must shut down cleanly and exit 0.
func TestBinaryServeSignal(t *testing.T) {
	cmd := exec.Command(binary(t), "serve", "--addr", "127.0.0.1:0", "--log-format", "json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LANYARD_DATA=" + t.TempDir()}
	logs := &lineWatcher{pattern: regexp.MustCompile(`^lanyard: open (http://\S+)/ `), found: make(chan string, 1)}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	var base string
	select {
	case base = <-logs.found:
	case <-time.After(20 * time.Second):
		t.Fatalf("no base URL line within 20s:\n%s", logs)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz not 200 within 10s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve after SIGTERM: %v, want exit 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit within 15s of SIGTERM")
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Errorf("no JSON 'stopped' log line:\n%s", logs)
	}
}

// lineWatcher keeps what a process writes and sends the first submatch of
// the first line matching pattern on found.
type lineWatcher struct {
	pattern *regexp.Regexp
	found   chan string

	mu      sync.Mutex
	buf     bytes.Buffer
	partial []byte
	sent    bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := string(w.partial[:i])
		w.partial = w.partial[i+1:]
		if m := w.pattern.FindStringSubmatch(line); m != nil && !w.sent {
			w.sent = true
			w.found <- m[1]
		}
	}
	return len(p), nil
}

func (w *lineWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}
