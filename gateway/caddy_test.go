package gateway_test

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
)

// caddyfile is Caddy's configuration in front of the application: every
// request is checked with forward_auth against /auth/verify in redirect
// mode (Caddy hands a refusal, the 302 to the login included, to the
// browser); the identity headers of the answer are copied onto the
// request; Lanyard's SSO endpoints and key set pass through. The README's
// configuration, with its defences, is docs/examples/Caddyfile
// (TestCaddyForgery).
func caddyfile(port int, lanyardAddr, appAddr string) string {
	return fmt.Sprintf(`{
	admin off
	auto_https off
}
http://localhost:%[1]d {
	bind 127.0.0.1
	handle /t/* {
		reverse_proxy %[2]s
	}
	handle /.well-known/jwks.json {
		reverse_proxy %[2]s
	}
	handle {
		forward_auth %[2]s {
			uri /auth/verify?tenant=acme&redirect=true
			copy_headers X-Lanyard-User X-Lanyard-User-Id X-Lanyard-Email X-Lanyard-Name X-Lanyard-Roles X-Lanyard-Groups X-Lanyard-Tenant X-Lanyard-Jwt
		}
		reverse_proxy %[3]s
	}
}
`, port, lanyardAddr, appAddr)
}

// startCaddy runs Debian's caddy with the Caddyfile until the test ends.
// It skips without caddy, or fails in CI.
func startCaddy(t *testing.T, port int, config string) {
	t.Helper()
	bin, err := exec.LookPath("caddy")
	if err != nil {
		const msg = "caddy not found (Debian package caddy); scripts/test.sh installs it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	out := &syncWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start caddy: %v", err)
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
			t.Logf("caddy output:\n%s", out)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			t.Fatalf("caddy exited at start: %v\n%s", err, out)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy does not listen on port %d after 10s: %s", port, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCaddyForwardAuth puts Debian's Caddy (forward_auth) in front of the
// application: SSO and back to the URL, identity headers copied and forged
// ones replaced, revocation.
func TestCaddyForwardAuth(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		port := freePort(t)
		e := newLanyardEnv(t, store, port)
		startCaddy(t, port, caddyfile(port, e.addr, e.app.srv.Listener.Addr().String()))
		b := newBrowser()

		resp := e.signIn(b, e.base+"/wiki/Start?rev=3")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after the login the application answered %d", resp.StatusCode)
		}
		if got := e.app.last(t); got.Path != "/wiki/Start?rev=3" {
			t.Fatalf("the application got %q, want the original URL", got.Path)
		}
		e.checkIdentity(e.app.last(t))

		// Forged identity headers reach the check with the request, which
		// refuses it.
		n := e.app.count()
		resp = b.get(t, e.base+"/hello", "X-Lanyard-User", "mallory", "X-Lanyard-Roles", "admin", "X-Lanyard-Groups", "admins")
		if resp.StatusCode != http.StatusForbidden || e.app.count() != n {
			t.Errorf("forged identity headers: %d, want 403 with nothing reaching the application", resp.StatusCode)
		}

		e.revoke(sessionID(t, b, e.base))
		time.Sleep(cacheTTL + 200*time.Millisecond)
		n = e.app.count()
		resp = b.get(t, e.base+"/hello")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), e.base+"/t/acme/saml/login?return_to=%2Fhello") {
			t.Fatalf("after revocation: %d to %q, want 302 to the login", resp.StatusCode, resp.Header.Get("Location"))
		}
		if e.app.count() != n {
			t.Error("a request with a revoked session reached the application")
		}
	})
}
