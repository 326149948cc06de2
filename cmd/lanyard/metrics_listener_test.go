package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMetricsListenerAndToken runs serve with metrics_addr and
// metrics_token_file: the main listener no longer answers /metrics, the
// metrics listener answers it only with the bearer token.
func TestMetricsListenerAndToken(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	tokenFile := filepath.Join(t.TempDir(), "metrics.token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	listening, metrics := make(chan net.Addr, 1), make(chan net.Addr, 1)
	stderr := &syncBuffer{}
	a := &app{
		getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr,
		onListen:        func(addr net.Addr) { listening <- addr },
		onMetricsListen: func(addr net.Addr) { metrics <- addr },
	}
	done := make(chan error, 1)
	go func() {
		done <- a.run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--log-level", "warn",
			"--metrics-addr", "127.0.0.1:0", "--metrics-token-file", tokenFile})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v\n%s", err, stderr)
		}
	}()
	var mainAddr, metricsAddr net.Addr
	for mainAddr == nil || metricsAddr == nil {
		select {
		case mainAddr = <-listening:
		case metricsAddr = <-metrics:
		case err := <-done:
			t.Fatalf("serve returned: %v\n%s", err, stderr)
		case <-time.After(10 * time.Second):
			t.Fatalf("serve did not listen\n%s", stderr)
		}
	}
	get := func(url, auth string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, _ := get("http://"+mainAddr.String()+"/metrics", "Bearer "+token); status != http.StatusNotFound {
		t.Errorf("main listener /metrics: %d, want 404", status)
	}
	for _, auth := range []string{"", "Bearer", "Bearer wrong", "Basic " + token, "Bearer " + token + "x", "bearer " + token} {
		if status, _ := get("http://"+metricsAddr.String()+"/metrics", auth); status != http.StatusUnauthorized {
			t.Errorf("metrics with %q: %d, want 401", auth, status)
		}
	}
	if status, body := get("http://"+metricsAddr.String()+"/metrics", "Bearer "+token); status != http.StatusOK || !strings.Contains(body, "lanyard_") {
		t.Errorf("metrics with the token: %d\n%.300s", status, body)
	}
}
