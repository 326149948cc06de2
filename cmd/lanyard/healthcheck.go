package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// healthcheck asks a running serve's /readyz and succeeds on 200: the
// HEALTHCHECK of the container image, whose empty base has no curl.
func (a *app) healthcheck(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--url URL]", "exit 0 when the server on this machine answers /readyz with 200, else 1 (a container's HEALTHCHECK)")
	target := fs.String("url", "", "`URL` to check (default: /readyz at the listen address, addr or LANYARD_ADDR, on loopback when it listens on all addresses)")
	timeout := fs.Duration("timeout", 4*time.Second, "how long to wait for the answer, a `duration`")
	cf := addConfigFlags(fs, nil)
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	url := *target
	if url == "" {
		cfg, err := cf.resolve(a.getenv)
		if err != nil {
			return err
		}
		host, port, _ := net.SplitHostPort(cfg.Addr)
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "127.0.0.1"
			if ip != nil && ip.To4() == nil {
				host = "::1"
			}
		}
		url = "http://" + net.JoinHostPort(host, port) + "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &usageError{cmd: path, msg: fmt.Sprintf("--url %q: %v", url, err)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not healthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answers %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintf(a.stdout, "ready: %s answers 200\n", url)
	return nil
}
