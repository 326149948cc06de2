package gateway_test

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/identity/verify"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/web"
)

// cacheTTL is the staleness bound of the session cache in these tests.
const cacheTTL = 500 * time.Millisecond

// seen is one request the test application received.
type seen struct {
	Path   string
	Header http.Header
}

// app is the application behind Lanyard: it records what reaches it,
// answers JSON of the request, echoes request bodies at /upload and
// WebSocket messages at /ws.
type app struct {
	srv   *httptest.Server
	mu    sync.Mutex
	reqs  []seen
	conns int // connections accepted
}

func startApp(t *testing.T) *app {
	t.Helper()
	a := &app{}
	a.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		a.reqs = append(a.reqs, seen{Path: r.URL.RequestURI(), Header: r.Header.Clone()})
		a.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/ws"):
			serveWebSocketEcho(w, r)
		case strings.HasSuffix(r.URL.Path, "/upload"):
			n, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			fmt.Fprintf(w, "%d", n)
		default:
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(seen{Path: r.URL.RequestURI(), Header: r.Header})
		}
	}))
	a.srv.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		if state == http.StateNew {
			a.mu.Lock()
			a.conns++
			a.mu.Unlock()
		}
	}
	a.srv.Start()
	t.Cleanup(a.srv.Close)
	return a
}

// connections returns how many connections the application accepted.
func (a *app) connections() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.conns
}

// last returns the last request the application received.
func (a *app) last(t *testing.T) seen {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.reqs) == 0 {
		t.Fatal("the application received no request")
	}
	return a.reqs[len(a.reqs)-1]
}

func (a *app) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.reqs)
}

// lanyardEnv is Lanyard (web server and gateway, in process, on a real
// listener), a SimpleSAMLphp IdP trusting its tenant "acme", and the
// application.
type lanyardEnv struct {
	t      *testing.T
	store  lanyard.Store
	admin  *admin.Service
	gw     *gateway.Gateway
	keys   *identity.KeyRing
	tenant lanyard.Tenant
	idp    *simplesamlphp.IdP
	app    *app
	base   string // the public base URL (nginx's, or Lanyard's own)
	addr   string // Lanyard's listen address, 127.0.0.1:PORT
	// audience is what checkIdentity expects of the token: the first
	// route's name, or for forward-auth the public origin.
	audience string
}

// newLanyardEnv starts everything on the store; publicPort is the port of
// the public base URL http://localhost:PORT (nginx's), or 0 for Lanyard's
// own listener. routes are the gateway's static routes.
func newLanyardEnv(t *testing.T, store lanyard.Store, publicPort int, routes ...lanyard.ProxyRoute) *lanyardEnv {
	t.Helper()
	return newLanyardEnvTrusting(t, store, publicPort, nil, routes...)
}

// newLanyardEnvTrusting is newLanyardEnv with the gateway's trusted hosts.
func newLanyardEnvTrusting(t *testing.T, store lanyard.Store, publicPort int, trusted []string, routes ...lanyard.ProxyRoute) *lanyardEnv {
	t.Helper()
	ctx := context.Background()
	simplesamlphp.Require(t)
	idp := simplesamlphp.Start(t, []simplesamlphp.User{{
		Username: "ada", Password: "ada-pass",
		Attributes: map[string][]string{"uid": {"ada"}, "mail": {"ada@example.com"}, "givenName": {"Ada"}, "sn": {"Lovelace"}, "groups": {"engineers", "everyone"}},
	}})
	e := &lanyardEnv{t: t, store: store, idp: idp, app: startApp(t)}
	if len(routes) > 0 {
		e.audience = routes[0].Name
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	if publicPort == 0 {
		_, p, _ := net.SplitHostPort(e.addr)
		e.base = "http://localhost:" + p
	} else {
		e.base = fmt.Sprintf("http://localhost:%d", publicPort)
	}
	base, _ := url.Parse(e.base)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.admin = admin.New(store, admin.Options{BaseURL: base})

	// Tenant acme: SSO on, JIT, IdP groups "engineers" give the role "staff".
	if _, err := e.admin.CreateTenant(ctx, "test", "acme", "Acme", nil); err != nil {
		t.Fatal(err)
	}
	if e.tenant, _, err = e.admin.SetTenant(ctx, "test", "acme", []string{"enabled=true", "jit=true", "group_roles.engineers=staff"}); err != nil {
		t.Fatal(err)
	}
	conn := lanyard.IdPConnection{TenantID: e.tenant.ID, EntityID: idp.EntityID, MetadataXML: string(idp.Metadata(t))}
	if err := store.PutIdP(ctx, &conn); err != nil {
		t.Fatal(err)
	}
	keys, err := store.SPKeys(ctx, e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	sp := simplesamlphp.SP{EntityID: e.base + "/t/acme/saml/metadata", ACSURL: e.base + "/t/acme/saml/acs",
		ValidateAuthnRequest: true, NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", NameIDAttribute: "uid"}
	for _, k := range keys {
		switch k.Use {
		case lanyard.KeySigning:
			sp.SigningCertificatePEM = k.CertificatePEM
		case lanyard.KeyEncryption:
			sp.CertificatePEM = k.CertificatePEM
		}
	}
	idp.TrustSP(t, sp)

	// The gateway, as cmd/lanyard wires it.
	mgr := session.NewManager(store, session.Options{})
	cache := session.NewCache(mgr, store, session.CacheOptions{TTL: cacheTTL})
	e.keys = identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: e.base})
	if err := e.keys.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	e.gw, err = gateway.New(gateway.Config{BaseURL: base, Sessions: cache, Keys: e.keys, Store: store, AdminHost: "admin.localhost",
		Routes: store, StaticRoutes: routes, TrustedHosts: trusted, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.gw.LoadRoutes(ctx); err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Config{BaseURL: base, Logger: logger, Store: store, Admin: e.admin, Gateway: e.gw})
	hs := &http.Server{Handler: e.gw.Wrap(srv), ReadHeaderTimeout: 10 * time.Second, WriteTimeout: time.Minute}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	srv.SetReady()
	return e
}

// browser is a user agent with one cookie jar for every site.
type browser struct {
	noFollow, follow *http.Client
}

// otherHost is an application host other than Lanyard's; the browser
// reaches it on loopback.
const otherHost = "app.test"

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	transport := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, _ := net.SplitHostPort(addr); host == otherHost {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}}
	return &browser{
		noFollow: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		follow: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: transport},
	}
}

// get fetches u without following redirects, as a browser navigating
// (Accept: text/html), with extra headers as name, value pairs.
func (b *browser) get(t *testing.T, u string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header[headers[i]] = append(req.Header[headers[i]], headers[i+1]) // as given, not canonicalized
	}
	resp, err := b.noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// signIn walks the browser through SSO: the application's URL redirects
// to Lanyard's login, the IdP's form, the ACS, and back to the URL; it
// returns the final answer of the application.
func (e *lanyardEnv) signIn(b *browser, appURL string) *http.Response {
	t := e.t
	t.Helper()
	resp := b.get(t, appURL)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("unauthenticated GET %s: status %d, want 302 to the login", appURL, resp.StatusCode)
	}
	login := resp.Header.Get("Location")
	u, _ := url.Parse(appURL)
	wantLogin := e.base + "/t/acme/saml/login?return_to=" + url.QueryEscape(u.RequestURI())
	if login != wantLogin {
		t.Fatalf("redirect to %q, want %q", login, wantLogin)
	}
	form, err := e.idp.Login(b.follow, login, "ada", "ada-pass")
	if err != nil {
		t.Fatalf("login at the IdP: %v", err)
	}
	acs, err := b.noFollow.PostForm(form.Action, form.Fields)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(acs.Body)
	acs.Body.Close()
	if acs.StatusCode/100 != 3 {
		t.Fatalf("ACS answered %d, want a redirect: %s", acs.StatusCode, body)
	}
	back, err := u.Parse(acs.Header.Get("Location"))
	if err != nil || back.String() != appURL {
		t.Fatalf("ACS redirected to %q, want back to %q", acs.Header.Get("Location"), appURL)
	}
	return b.get(t, appURL)
}

// sessionID returns the browser's Lanyard session cookie for base.
func sessionID(t *testing.T, b *browser, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range b.noFollow.Jar.Cookies(u) {
		if c.Name == gateway.SessionCookie {
			return c.Value
		}
	}
	t.Fatal("the browser holds no session cookie")
	return ""
}

// revoke ends the session in the store directly, as another node would:
// this node's cache does not hear of it.
func (e *lanyardEnv) revoke(id string) {
	e.t.Helper()
	if err := e.store.DeleteSession(context.Background(), lanyard.HashSessionID(id)); err != nil {
		e.t.Fatal(err)
	}
}

// checkIdentity asserts the identity headers the application received:
// Lanyard's, never the forged ones, and a token that verifies against the
// published key set.
func (e *lanyardEnv) checkIdentity(got seen) {
	t := e.t
	t.Helper()
	want := map[string]string{
		"X-Lanyard-User":   "ada",
		"X-Lanyard-Email":  "ada@example.com",
		"X-Lanyard-Name":   "Ada Lovelace",
		"X-Lanyard-Roles":  "staff",
		"X-Lanyard-Groups": "staff",
		"X-Lanyard-Tenant": "acme",
	}
	for name, value := range want {
		if vs := got.Header.Values(name); len(vs) != 1 || vs[0] != value {
			t.Errorf("application got %s %q, want exactly %q", name, vs, value)
		}
	}
	for name := range got.Header {
		if strings.Contains(strings.ToLower(name), "forged") || strings.EqualFold(strings.ReplaceAll(name, "_", "-"), "X-Lanyard-Forged") {
			t.Errorf("a forged header reached the application: %s", name)
		}
		if strings.HasPrefix(strings.ToLower(strings.ReplaceAll(name, "_", "-")), "x-lanyard-") {
			if _, ok := want[http.CanonicalHeaderKey(name)]; !ok && name != "X-Lanyard-Jwt" && name != "X-Lanyard-User-Id" {
				t.Errorf("an identity header Lanyard does not set reached the application: %s: %q", name, got.Header[name])
			}
		}
	}
	audience := e.audience
	if audience == "" {
		audience = e.base
	}
	v := &verify.Verifier{JWKSURL: e.base + "/.well-known/jwks.json", Issuer: e.base, Audience: audience, Tenant: "acme"}
	claims, err := v.Verify(context.Background(), got.Header.Get(gateway.HeaderJWT))
	if err != nil {
		t.Fatalf("the application cannot verify X-Lanyard-JWT: %v", err)
	}
	if claims.Subject != "ada" || claims.Tenant != "acme" || claims.Email != "ada@example.com" || len(claims.Roles) != 1 || claims.Roles[0] != "staff" {
		t.Errorf("token claims: %+v", claims)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startNginx runs Debian's nginx in the foreground with the server block
// (the http context around it is written here), listening on port, until
// the test ends. It skips without nginx, or fails in CI.
func startNginx(t *testing.T, port int, server string) {
	t.Helper()
	startNginxHTTP(t, port, fmt.Sprintf(`
	server {
		listen 127.0.0.1:%d;
		server_name localhost;
%s
	}
`, port, server))
}

// startNginxHTTP runs Debian's nginx with the content of the http context
// (server blocks, maps) given, which listens on port, until the test ends.
func startNginxHTTP(t *testing.T, port int, httpBody string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr == nil {
			bin = "/usr/sbin/nginx"
		} else {
			const msg = "nginx not found (Debian package nginx); scripts/test.sh installs it"
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
	dir := t.TempDir()
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;" // workers read the temporary directory
	}
	conf := fmt.Sprintf(`%s
worker_processes 1;
error_log %[2]s/error.log warn;
pid %[2]s/nginx.pid;
events { worker_connections 256; }
http {
	access_log %[2]s/access.log;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
%[3]s
}
`, user, dir, httpBody)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-g", "daemon off;")
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt) // fast shutdown
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx error log:\n%s", log)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited at start: %v\n%s\n%s", err, out, log)
		default:
		}
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on port %d after 10s: %s", port, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
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

// WebSocket, enough of RFC 6455 for an echo of one text message.

const websocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func websocketAccept(key string) string {
	h := sha1.Sum([]byte(key + websocketGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// serveWebSocketEcho upgrades the connection and echoes one text frame.
func serveWebSocketEcho(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		http.Error(w, "want a WebSocket upgrade", http.StatusBadRequest)
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", websocketAccept(r.Header.Get("Sec-WebSocket-Key")))
	rw.Flush()
	msg, err := readFrame(rw.Reader)
	if err != nil {
		return
	}
	writeFrame(conn, []byte("echo: "+string(msg)), false)
}

// websocketEcho dials the URL's host, upgrades with the cookie header, sends
// msg and returns the answer (or the HTTP status when not upgraded).
func websocketEcho(t *testing.T, rawURL, cookie, msg string) (string, int) {
	t.Helper()
	u, _ := url.Parse(rawURL)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	key := base64.StdEncoding.EncodeToString([]byte("0123456789abcdef"))
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\nCookie: %s\r\nX-Lanyard-User: mallory\r\n\r\n",
		u.RequestURI(), u.Host, key, cookie)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		return "", resp.StatusCode
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != websocketAccept(key) {
		t.Fatalf("Sec-WebSocket-Accept %q, want %q", got, websocketAccept(key))
	}
	if err := writeFrame(conn, []byte(msg), true); err != nil {
		t.Fatal(err)
	}
	answer, err := readFrame(br)
	if err != nil {
		t.Fatal(err)
	}
	return string(answer), resp.StatusCode
}

// writeFrame writes one final text frame, masked when from a client.
func writeFrame(w io.Writer, payload []byte, masked bool) error {
	if len(payload) > 125 {
		return errors.New("test frames carry at most 125 bytes")
	}
	head := []byte{0x81, byte(len(payload))}
	body := append([]byte(nil), payload...)
	if masked {
		head[1] |= 0x80
		mask := []byte{1, 2, 3, 4}
		head = append(head, mask...)
		for i := range body {
			body[i] ^= mask[i%4]
		}
	}
	_, err := w.Write(append(head, body...))
	return err
}

// readFrame reads one frame of at most 64 KiB and unmasks it.
func readFrame(r *bufio.Reader) ([]byte, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return nil, err
	}
	n := int(head[1] & 0x7f)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return nil, err
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	} else if n == 127 {
		return nil, errors.New("frame too large for the test")
	}
	var mask [4]byte
	if head[1]&0x80 != 0 {
		if _, err := io.ReadFull(r, mask[:]); err != nil {
			return nil, err
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return nil, err
	}
	if head[1]&0x80 != 0 {
		for i := range payload {
			payload[i] ^= mask[i%4]
		}
	}
	return payload, nil
}
