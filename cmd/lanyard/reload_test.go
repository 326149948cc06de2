package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestBinaryReloadOnSIGHUP runs "lanyard serve" as a process with a YAML
// file, keeps requests going on kept-alive connections, and sends it real
// SIGHUPs: a new route, trusted proxies and log level apply without a
// restart and without a failed request; a change to the listen address or
// the data directory, or a bad file, is refused by name and changes
// nothing.
func TestBinaryReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lanyard.yaml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	const common = "addr: 127.0.0.1:0\ndata: DATA\n"
	config := func(extra string) string {
		return strings.Replace(common, "DATA", filepath.Join(dir, "data"), 1) + extra
	}
	write(config("log_level: info\nroutes:\n  - name: one\n    host: app.test\n    path_prefix: /one/\n    upstream: http://127.0.0.1:9\n"))

	cmd := exec.Command(binary(t), "serve", "--config", file, "--log-format", "json")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
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
	client := &http.Client{
		Transport:     &http.Transport{MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	waitFor(t, 10*time.Second, "/readyz 200", func() bool {
		resp, err := client.Get(base + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	// proxied reports whether a request for the path on the route's host
	// is the proxy's (a sign-in on the application's host) rather than
	// Lanyard's own (a redirect to the base URL).
	proxied := func(path string) bool {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Host = "app.test"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return !strings.HasPrefix(resp.Header.Get("Location"), base)
	}
	if !proxied("/one/x") || proxied("/two/x") {
		t.Fatalf("before the reload: /one/ proxied %v, /two/ proxied %v", proxied("/one/x"), proxied("/two/x"))
	}

	// clientLogged sends a request for path from a client behind the
	// proxy at 127.0.0.1 and reports whether the log names that client.
	const forwarded = "198.51.100.7"
	clientLogged := func(path string) bool {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("X-Forwarded-For", forwarded)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		time.Sleep(100 * time.Millisecond)
		return strings.Contains(logs.String(), `"path":"`+path+`"`) && strings.Contains(logs.String(), `"client":"`+forwarded+`"`)
	}
	if clientLogged("/nowhere-before") || !strings.Contains(logs.String(), `"path":"/nowhere-before"`) {
		t.Fatalf("before the reload the proxy is not trusted: its X-Forwarded-For is not the client\n%s", logs)
	}

	// Requests on kept-alive connections all through the reloads.
	var failures, requests, reused atomic.Int64
	var firstFailure atomic.Value
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
				if info.Reused {
					reused.Add(1)
				}
			}}
			for n := 0; n < 5000 && ctx.Err() == nil; n++ {
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), "GET", base+"/healthz", nil)
				resp, err := client.Do(req)
				if ctx.Err() != nil {
					return
				}
				requests.Add(1)
				if err != nil || resp.StatusCode != http.StatusOK {
					failures.Add(1)
					firstFailure.CompareAndSwap(nil, err)
				}
				if resp != nil {
					io.Copy(io.Discard, resp.Body) // read to the end, so the connection is kept
					resp.Body.Close()
				}
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}

	hup := func(wantLog string) {
		t.Helper()
		before := strings.Count(logs.String(), "configuration")
		if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the reload's log line", func() bool { return strings.Count(logs.String(), "configuration") > before })
		if last := lastLine(logs.String(), "configuration"); !strings.Contains(last, wantLog) {
			t.Errorf("after SIGHUP the log says %s; want %q", last, wantLog)
		}
	}

	// Routes, trusted proxies and the log level change.
	write(config("log_level: debug\ntrusted_proxies: [127.0.0.1]\nroutes:\n  - name: one\n    host: app.test\n    path_prefix: /two/\n    upstream: http://127.0.0.1:9\n"))
	hup(`"msg":"configuration reloaded","changed":"log_level, trusted_proxies, routes"`)
	if proxied("/one/x") || !proxied("/two/x") {
		t.Errorf("after the reload: /one/ proxied %v, /two/ proxied %v; want the route on /two/", proxied("/one/x"), proxied("/two/x"))
	}
	// Debug lines (a probe's request) show, naming the client the now
	// trusted proxy forwarded for.
	if !clientLogged("/healthz") {
		t.Errorf("after the reload: no debug line of /healthz naming the forwarded client %s", forwarded)
	}

	// Settings built into the running server are refused by name.
	write(config("log_level: debug\ntrusted_proxies: [127.0.0.1]\nroutes: []\n") + "metrics_addr: 127.0.0.1:0\nbase_url: https://sso.example.com\n")
	hup("base_url, metrics_addr cannot change at run time (restart serve to apply); nothing was changed")
	if !proxied("/two/x") {
		t.Error("a refused reload changed the routes")
	}
	// A bad file: every problem with its line; nothing changes.
	write(config("log_level: loud\ncolour: red\n"))
	hup(`line 4: unknown key \"colour\"`)
	if !strings.Contains(lastLine(logs.String(), "configuration"), `line 3: log_level \"loud\"`) || !proxied("/two/x") {
		t.Errorf("bad file: %s", lastLine(logs.String(), "configuration"))
	}

	time.Sleep(100 * time.Millisecond) // a few more requests after the last reload
	stop()
	wg.Wait()
	if failures.Load() > 0 || requests.Load() < 10 || reused.Load() == 0 {
		t.Errorf("requests during the reloads: %d, failed %d (first: %v), on reused connections %d", requests.Load(), failures.Load(), firstFailure.Load(), reused.Load())
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, logs)
	}
}

// lastLine is the last line of s that contains sub.
func lastLine(s, sub string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.Contains(lines[i], sub) {
			return lines[i]
		}
	}
	return ""
}

// waitFor polls cond until it holds, failing the test after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHealthcheck: 0 for a server whose /readyz answers 200, an error
// naming the answer otherwise; the address comes from the configuration,
// on loopback when the server listens on every address.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	status := atomic.Int32{}
	status.Store(http.StatusServiceUnavailable)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(status.Load()))
		io.WriteString(w, "not ready: starting")
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	env := map[string]string{"LANYARD_ADDR": "0.0.0.0:" + port}
	r := cli(t, env, "", "healthcheck")
	if r.exitCode() != 1 || !strings.Contains(r.output(), "answers 503 not ready: starting") {
		t.Errorf("503: exit %d: %s", r.exitCode(), r.output())
	}
	status.Store(http.StatusOK)
	if r := cli(t, env, "", "healthcheck"); r.exitCode() != 0 || !strings.Contains(r.stdout, "ready: http://127.0.0.1:"+port+"/readyz answers 200") {
		t.Errorf("200: exit %d: %s", r.exitCode(), r.output())
	}
	srv.Close()
	if r := cli(t, env, "", "healthcheck"); r.exitCode() != 1 || !strings.Contains(r.output(), "not healthy") {
		t.Errorf("no server: exit %d: %s", r.exitCode(), r.output())
	}
}
