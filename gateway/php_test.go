package gateway_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// phpRouter is the application: PHP's built-in server hands it every
// request; it appends what PHP made of the request ($_SERVER, $_COOKIE)
// to a log as one JSON line and answers the same JSON. ?set_cookie=NAME
// makes it set a cookie of that name (an application trying to plant
// Lanyard's session).
const phpRouter = `<?php
$seen = ['server' => $_SERVER, 'cookie' => (object)$_COOKIE];
file_put_contents(%q, json_encode($seen) . "\n", FILE_APPEND | LOCK_EX);
if (isset($_GET['set_cookie'])) {
	header('Set-Cookie: ' . $_GET['set_cookie'] . '=planted; Path=/', false);
	header('Set-Cookie: app_pref=kept; Path=/', false);
}
header('Content-Type: application/json');
echo json_encode($seen);
`

// phpApp is a PHP application behind the proxy under test.
type phpApp struct {
	addr string // 127.0.0.1:PORT
	log  string
}

// phpSeen is one request as PHP read it.
type phpSeen struct {
	Server map[string]any `json:"server"`
	Cookie map[string]any `json:"cookie"`
}

// uri is the request URI PHP received, as sent by the proxy.
func (s phpSeen) uri() string { v, _ := s.Server["REQUEST_URI"].(string); return v }

// vars returns the $_SERVER variables whose name starts with prefix.
func (s phpSeen) vars(prefix string) map[string]string {
	out := map[string]string{}
	for k, v := range s.Server {
		if strings.HasPrefix(k, prefix) {
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}

// startPHP serves the application with PHP's built-in server (Debian
// php-cli) until the test ends. It skips without php, or fails in CI.
func startPHP(t *testing.T) *phpApp {
	t.Helper()
	bin, err := exec.LookPath("php")
	if err != nil {
		const msg = "php not found (Debian package php-cli); scripts/test.sh installs it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	a := &phpApp{log: filepath.Join(dir, "requests.log")}
	router := filepath.Join(dir, "router.php")
	if err := os.WriteFile(router, []byte(fmt.Sprintf(phpRouter, a.log)), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	a.addr = fmt.Sprintf("127.0.0.1:%d", port)
	cmd := exec.Command(bin, "-S", a.addr, "-t", dir, router)
	out := &syncWriter{}
	cmd.WaitDelay = 2 * time.Second
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start php: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("php %s output:\n%s", a.addr, out)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("php exited at start: %v\n%s", err, out)
		default:
		}
		if c, err := net.DialTimeout("tcp", a.addr, 200*time.Millisecond); err == nil {
			c.Close()
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("php does not listen on %s after 10s: %s", a.addr, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requests returns every request the application received so far.
func (a *phpApp) requests(t *testing.T) []phpSeen {
	t.Helper()
	data, err := os.ReadFile(a.log)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []phpSeen
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var s phpSeen
		if err := json.Unmarshal([]byte(line), &s); err != nil {
			t.Fatalf("application log line %q: %v", line, err)
		}
		out = append(out, s)
	}
	return out
}

// rawRequest sends the request head as written (request line and header
// lines, without the final empty line) to addr, and returns the answer's
// status and headers. Nothing normalizes the path or the header names on
// the way.
func rawRequest(t *testing.T, addr, method, target string, headerLines ...string) (int, http.Header) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	head := method + " " + target + " HTTP/1.1\r\n"
	for _, l := range headerLines {
		head += l + "\r\n"
	}
	head += "Connection: close\r\n\r\n"
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, nil // the server closed without an answer: refused
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

// readings returns the paths that servers of different kinds make of a
// request URI an upstream received: decoded until stable, backslashes as
// slashes, Tomcat's path parameters dropped, IIS's trailing dots and
// spaces dropped, dot segments resolved, and in lower case. A role's
// boundary holds only when none of them crosses it.
func readings(uri string) []string {
	p, _, _ := strings.Cut(uri, "?")
	var out []string
	for range 3 { // decode up to three times
		out = append(out, p)
		d, err := url.PathUnescape(p)
		if err != nil || d == p {
			break
		}
		p = d
	}
	var more []string
	for _, r := range out {
		r = strings.ReplaceAll(r, "\\", "/")
		more = append(more, r)
		segs := strings.Split(r, "/")
		for i, s := range segs {
			s, _, _ = strings.Cut(s, ";")
			segs[i] = strings.TrimRight(s, ". ")
			if s == "." || s == ".." {
				segs[i] = s
			}
		}
		more = append(more, strings.Join(segs, "/"))
	}
	var final []string
	for _, r := range more {
		c := path.Clean("/" + r)
		// Case-insensitive servers: in lower case, and in upper case
		// brought back to lower (Windows compares upper cases).
		final = append(final, c, strings.ToLower(c), strings.ToLower(strings.ToUpper(c)))
	}
	return final
}

// crosses reports whether any reading of uri is at or below prefix
// (without its trailing slash).
func crosses(uri, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	for _, r := range readings(uri) {
		if r == prefix || strings.HasPrefix(r, prefix+"/") {
			return true
		}
	}
	return false
}
