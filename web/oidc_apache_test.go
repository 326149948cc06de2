package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// apacheBinary finds Debian's apache2 and mod_auth_openidc, or skips the
// test (fails it in CI).
func apacheBinary(t *testing.T) string {
	t.Helper()
	bin := "/usr/sbin/apache2"
	if p, err := exec.LookPath("apache2"); err == nil {
		bin = p
	}
	_, errBin := os.Stat(bin)
	_, errMod := os.Stat("/usr/lib/apache2/modules/mod_auth_openidc.so")
	if errBin != nil || errMod != nil {
		const msg = "apache2 with mod_auth_openidc not found (Debian packages apache2, libapache2-mod-auth-openidc); scripts/test.sh installs them"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// startApacheOIDC runs Apache in the foreground on 127.0.0.1:port with
// mod_auth_openidc protecting /protected/ (proxied to backend) as the
// client of issuer, until the test ends. As root, its workers run as
// nobody.
func startApacheOIDC(t *testing.T, port int, issuer, clientID, secret, backend string) {
	t.Helper()
	bin := apacheBinary(t)
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "User nobody\nGroup nogroup" // mod_unixd is built in
		for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
			_ = os.Chmod(d, 0o755) // the workers read the configuration's directory
		}
	}
	pass := make([]byte, 16)
	_, _ = rand.Read(pass)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	conf := fmt.Sprintf(`ServerRoot %[1]s
ServerName 127.0.0.1
Listen 127.0.0.1:%[2]d
PidFile %[1]s/httpd.pid
ErrorLog %[1]s/error.log
LogLevel warn auth_openidc:info
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
%[3]s
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule authz_user_module /usr/lib/apache2/modules/mod_authz_user.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule auth_openidc_module /usr/lib/apache2/modules/mod_auth_openidc.so
ServerLimit 1
StartServers 1
ThreadsPerChild 8
MaxRequestWorkers 8

OIDCProviderMetadataURL %[4]s/.well-known/openid-configuration
OIDCClientID %[5]s
OIDCClientSecret %[6]s
OIDCRedirectURI %[7]s/protected/redirect_uri
OIDCCryptoPassphrase %[8]s
OIDCScope "openid email profile roles groups"
OIDCPKCEMethod S256
OIDCSSLValidateServer Off
OIDCDefaultLoggedOutURL %[7]s/loggedout
OIDCPassClaimsAs headers
OIDCProviderTokenEndpointAuth client_secret_basic

ProxyPass /protected/redirect_uri !
ProxyPass /protected/ %[9]s/
ProxyPass /loggedout %[9]s/loggedout
<Location /protected/>
	AuthType openid-connect
	Require valid-user
</Location>
`, dir, port, user, issuer, clientID, secret, base, hex.EncodeToString(pass), backend)
	if err := os.WriteFile(filepath.Join(dir, "httpd.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", dir, "-f", filepath.Join(dir, "httpd.conf"), "-DFOREGROUND")
	out := &syncWriter{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start apache2: %v", err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("apache2 output:\n%s\nerror log:\n%s", out.String(), log)
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("apache2 exited at start: %v\n%s\n%s", waitErr, out.String(), log)
		default:
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("apache2 does not listen on port %d after 15s: %s", port, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// claimsPage is the application behind Apache: it shows the claims
// mod_auth_openidc passed as OIDC_CLAIM_* headers.
func claimsPage(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if r.URL.Path == "/loggedout" {
			fmt.Fprint(w, `<!doctype html><title>out</title><p id="loggedout">signed out of the application</p>`)
			return
		}
		claims := map[string]string{}
		for k, v := range r.Header {
			if name, ok := strings.CutPrefix(strings.ToLower(k), "oidc_claim_"); ok {
				claims[name] = strings.Join(v, ",")
			}
		}
		b, _ := json.Marshal(claims)
		fmt.Fprintf(w, `<!doctype html><title>app</title><h1>Claims</h1><pre id="claims">%s</pre>`, html.EscapeString(string(b)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestOIDCModAuthOpenIDC signs in to a page that Apache's mod_auth_openidc
// protects, in headless Chromium, through Lanyard's OpenID Provider and
// SimpleSAMLphp: the claims the page receives; sign-out through the
// end-session endpoint that goes on to SimpleSAMLphp's Single Logout and
// tells Apache over the back channel; and, after a new sign-in, a session
// ended by the IdP's own Single Logout refused at the next request.
func TestOIDCModAuthOpenIDC(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		simplesamlphp.Require(t)
		apacheBinary(t)
		browser := newChromium(t)
		e := newSSOEnv(t, opts.engine, []simplesamlphp.User{idpUser("alice", "alice@acme.example", "Alice", "Liddell", []string{"eng"})})
		acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer"}})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); e.server.RunOIDC(ctx) }()
		t.Cleanup(func() { cancel(); <-done })

		port := freeLoopbackPort(t)
		app := fmt.Sprintf("http://127.0.0.1:%d", port)
		secret := registerClient(t, e.store, acme, lanyard.OIDCClient{ClientID: "apache",
			RedirectURIs: []string{app + "/protected/redirect_uri"}, PostLogoutRedirectURIs: []string{app + "/loggedout"},
			BackChannelLogoutURI: app + "/protected/redirect_uri?logout=backchannel"})
		startApacheOIDC(t, port, e.base+"/t/acme", "apache", secret, claimsPage(t))

		dir := artifactDir(t)
		step := func() context.Context {
			c, cancel := context.WithTimeout(browser, 30*time.Second)
			t.Cleanup(cancel)
			return c
		}
		shot := func(name string) {
			png, err := chromedp.Run(step(), chromedp.FullScreenshot(100))
			if err == nil {
				_ = os.WriteFile(filepath.Join(dir, "oidc-apache-"+opts.engine+"-"+name+".png"), png, 0o644)
			}
		}
		location := func() string {
			u, _ := chromedp.Run(step(), chromedp.Location())
			return u
		}
		// signIn opens the protected page and signs in at the IdP.
		signIn := func() map[string]string {
			t.Helper()
			if err := chromedp.Do(step(),
				chromedp.Navigate(app+"/protected/"),
				chromedp.WaitVisible(chromedp.CSS("#username")),
				chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
				chromedp.SendKeys(chromedp.CSS("#password"), "alice-pass"),
			); err != nil {
				shot("no-login-form")
				t.Fatalf("the protected page did not lead to the IdP's login form (at %s): %v", location(), err)
			}
			if err := chromedp.Do(step(), chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#claims"))); err != nil {
				shot("sign-in-failed")
				t.Fatalf("sign-in did not reach the claims page (at %s): %v", location(), err)
			}
			shot("claims")
			raw, err := chromedp.Run(step(), chromedp.Text(chromedp.CSS("#claims")))
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]string
			if err := json.Unmarshal([]byte(raw), &claims); err != nil {
				t.Fatalf("claims page: %q", raw)
			}
			return claims
		}

		// 1. Sign-in, and the claims the page receives.
		claims := signIn()
		if claims["email"] != "alice@acme.example" || claims["preferred_username"] != "alice" || claims["name"] != "Alice Liddell" ||
			claims["roles"] != "engineer" || claims["groups"] != "engineer" || claims["iss"] != e.base+"/t/acme" || claims["sub"] == "" {
			t.Errorf("claims at the page: %v", claims)
		}

		// 2. Sign-out through the end-session endpoint: on to
		// SimpleSAMLphp's Single Logout, whose answer comes back to
		// Lanyard, which sends the browser to the application's registered
		// post_logout_redirect_uri.
		if err := chromedp.Do(step(), chromedp.Navigate(app+"/protected/redirect_uri?logout="+app+"/loggedout"),
			chromedp.WaitVisible(chromedp.CSS("#loggedout"))); err != nil {
			shot("sign-out-failed")
			t.Fatalf("sign-out (at %s): %v", location(), err)
		}
		shot("signed-out")
		if got, err := url.Parse(location()); err != nil || got.Scheme+"://"+got.Host+got.Path != app+"/loggedout" {
			t.Errorf("the sign-out ended at %s, want the application's %s", got, app+"/loggedout")
		}
		if sessions, _ := e.store.UserSessions(context.Background(), e.user(acme, "alice").ID, time.Now()); len(sessions) != 0 {
			t.Errorf("%d Lanyard sessions after the sign-out", len(sessions))
		}
		// Apache's session is gone too: the page asks for a login at the IdP.
		claims = signIn()
		if claims["email"] != "alice@acme.example" {
			t.Errorf("claims after signing in again: %v", claims)
		}

		// 3. The IdP's own Single Logout ends the Lanyard session; Apache
		// hears over the back channel and refuses the next request.
		if err := chromedp.Do(step(), chromedp.Navigate(e.idp.LogoutURL(app+"/loggedout")), chromedp.WaitVisible(chromedp.CSS("#loggedout"))); err != nil {
			shot("idp-logout-failed")
			t.Fatalf("IdP-initiated Single Logout (at %s): %v", location(), err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			sessions, err := e.store.UserSessions(context.Background(), e.user(acme, "alice").ID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(sessions) == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the IdP's Single Logout left %d Lanyard sessions", len(sessions))
			}
			time.Sleep(50 * time.Millisecond)
		}
		// The next request: not the claims page, but the IdP's login form.
		var next string
		for time.Now().Before(deadline) {
			if err := chromedp.Do(step(), chromedp.Navigate(app+"/protected/"), chromedp.WaitReady(chromedp.CSS("body"))); err != nil {
				t.Fatal(err)
			}
			next = location()
			if !strings.HasPrefix(next, app+"/protected/") {
				break
			}
			time.Sleep(100 * time.Millisecond) // the back-channel round has not run yet
		}
		shot("after-idp-logout")
		if !strings.HasPrefix(next, e.idp.BaseURL) {
			t.Errorf("after the IdP's Single Logout the protected page answered at %s, want the IdP's login form", next)
		}
	})
}

// freeLoopbackPort returns a loopback port that was free a moment ago.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// syncWriter collects a child process's output safely.
type syncWriter struct {
	mu sync.Mutex
	b  strings.Builder
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}
