package web

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// driftClock is the real time plus an adjustable offset: SimpleSAMLphp
// stamps its assertions with the real time, and a test moves Lanyard's
// clock away from it to provoke clock drift.
type driftClock struct{ offset atomic.Int64 }

func (c *driftClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

func (c *driftClock) Set(d time.Duration) { c.offset.Store(int64(d)) }

// logBuffer collects the server's JSON log lines for assertions, and
// copies them to the test's output.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	return b.out.Write(p)
}

// records returns the log records with the message.
func (b *logBuffer) records(msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(b.buf.Bytes(), []byte("\n")) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// ssoEnv is a Lanyard server (in process, behind a real HTTP listener at
// http://localhost:PORT) and a SimpleSAMLphp IdP (at http://127.0.0.1:PORT,
// another site for browsers) that trust each other.
type ssoEnv struct {
	t      *testing.T
	store  lanyard.Store
	admin  *admin.Service
	server *Server
	http   *httptest.Server
	base   string
	clock  *driftClock
	logs   *logBuffer
	idp    *simplesamlphp.IdP
	// requests counts every request the server received.
	requests atomic.Int64
}

// newSSOEnv starts both sides on a fresh store of the engine. The server
// checks the configuration version at its default interval (1s).
func newSSOEnv(t *testing.T, engine string, users []simplesamlphp.User) *ssoEnv {
	t.Helper()
	return newSSOEnvWith(t, engine, users, simplesamlphp.Options{})
}

// newSSOEnvWith is newSSOEnv with options for the IdP.
func newSSOEnvWith(t *testing.T, engine string, users []simplesamlphp.User, opts simplesamlphp.Options) *ssoEnv {
	t.Helper()
	simplesamlphp.Require(t)
	idp := simplesamlphp.StartWith(t, users, opts)
	store := testdb.Open(t, engine)
	e := &ssoEnv{t: t, store: store, clock: &driftClock{}, idp: idp, logs: &logBuffer{out: t.Output()}}
	e.http = httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(e.http.Listener.Addr().String())
	base := &url.URL{Scheme: "http", Host: "localhost:" + port}
	e.base = base.String()
	e.admin = admin.New(store, admin.Options{BaseURL: base})
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	e.server = New(Config{BaseURL: base, Store: store, Admin: e.admin, Now: e.clock.Now, Logger: logger,
		OIDCLogoutInterval: 100 * time.Millisecond})
	e.http.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.requests.Add(1)
		e.server.ServeHTTP(w, r)
	})
	e.http.Start()
	t.Cleanup(e.http.Close)
	e.server.SetReady()
	return e
}

// tenantOptions shape a tenant made by addTenant.
type tenantOptions struct {
	settings []string
	encrypt  bool
	// sharedKeyAlgorithm for encrypted assertions; empty: SimpleSAMLphp's default.
	sharedKeyAlgorithm string
	// legacyEncryption is the IdP connection's opt-in for 3DES-CBC and
	// rsa-1_5.
	legacyEncryption bool
	// artifactACS registers the tenant's HTTP-Artifact ACS at the IdP.
	artifactACS bool
}

// addTenant creates a tenant with its SP keys (through the admin service,
// as `lanyard tenant create` does), applies the settings, imports the IdP's
// metadata and makes the IdP trust the tenant's SP, which must sign its
// AuthnRequests.
func (e *ssoEnv) addTenant(slug string, o tenantOptions) lanyard.Tenant {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.admin.CreateTenant(ctx, "test", slug, strings.ToUpper(slug), nil); err != nil {
		e.t.Fatal(err)
	}
	settings := append([]string{"enabled=true"}, o.settings...)
	t, _, err := e.admin.SetTenant(ctx, "test", slug, settings)
	if err != nil {
		e.t.Fatal(err)
	}
	conn := lanyard.IdPConnection{TenantID: t.ID, EntityID: e.idp.EntityID, MetadataXML: string(e.idp.Metadata(e.t)), LegacyEncryption: o.legacyEncryption}
	if err := e.store.PutIdP(ctx, &conn); err != nil {
		e.t.Fatal(err)
	}
	keys, err := e.store.SPKeys(ctx, t.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	sp := simplesamlphp.SP{
		EntityID:             e.base + "/t/" + slug + "/saml/metadata",
		ACSURL:               e.base + "/t/" + slug + "/saml/acs",
		SLOURL:               e.base + "/t/" + slug + "/saml/slo",
		ValidateAuthnRequest: true,
		NameIDFormat:         "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
		NameIDAttribute:      "uid",
		EncryptAssertion:     o.encrypt,
		SharedKeyAlgorithm:   o.sharedKeyAlgorithm,
		ArtifactACS:          o.artifactACS,
	}
	for _, k := range keys {
		if _, _, err := spkeys.Parse(k); err != nil {
			e.t.Fatal(err)
		}
		switch k.Use {
		case lanyard.KeySigning:
			sp.SigningCertificatePEM = k.CertificatePEM
		case lanyard.KeyEncryption:
			sp.CertificatePEM = k.CertificatePEM
		}
	}
	e.idp.TrustSP(e.t, sp)
	return t
}

// setTenant changes settings as `lanyard tenant set` does: through the
// store, not through the server.
func (e *ssoEnv) setTenant(slug string, settings ...string) {
	e.t.Helper()
	if _, _, err := e.admin.SetTenant(context.Background(), "test", slug, settings); err != nil {
		e.t.Fatal(err)
	}
}

// waitForJIT waits until the server's own view of the tenant's
// configuration (the snapshot the ACS reads) has JIT set to want: a change
// reaches it at the next ConfigVersion check, at most a second later.
func (e *ssoEnv) waitForJIT(t *testing.T, slug string, want bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap, err := e.server.tenants.Snapshot(context.Background(), slug)
		if err != nil {
			t.Fatal(err)
		}
		if snap.Tenant.SSO.JIT == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s the server still reads jit=%v for %s", !want, slug)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// addUser creates an account of tenant slug.
func (e *ssoEnv) addUser(slug string, u lanyard.User) lanyard.User {
	e.t.Helper()
	u, err := e.admin.AddUser(context.Background(), "test", slug, u)
	if err != nil {
		e.t.Fatal(err)
	}
	return u
}

// user reads an account of the tenant by login.
func (e *ssoEnv) user(t lanyard.Tenant, login string) lanyard.User {
	e.t.Helper()
	u, err := e.store.UserByLogin(context.Background(), t.ID, login)
	if err != nil {
		e.t.Fatalf("user %q: %v", login, err)
	}
	return u
}

// lastAudit returns the newest sso.login event of the tenant.
func (e *ssoEnv) lastAudit(t lanyard.Tenant) lanyard.AuditEvent {
	e.t.Helper()
	evs, err := e.store.AuditEvents(context.Background(), lanyard.AuditFilter{TenantID: t.ID, Action: actionSSOLogin, Limit: 1})
	if err != nil || len(evs) == 0 {
		e.t.Fatalf("no sso.login audit event: %v", err)
	}
	return evs[0]
}

// browser is a user agent: one cookie jar for both sites.
type browser struct {
	jar *cookiejar.Jar
	// noFollow leaves redirects to the test; follow follows them, as a
	// browser does on its way through the IdP.
	noFollow, follow *http.Client
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{
		jar: jar,
		noFollow: &http.Client{Jar: jar, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		follow: &http.Client{Jar: jar, Timeout: 30 * time.Second},
	}
}

// acsAnswer is what the ACS answered to a posted form.
type acsAnswer struct {
	status   int
	location string
	body     string
	// session is the session cookie value set, "" when none was.
	session string
}

// post submits the IdP's form as the browser's auto-post would, without
// following the ACS's redirect.
func (b *browser) post(t *testing.T, f *simplesamlphp.Form) acsAnswer {
	t.Helper()
	resp, err := b.noFollow.PostForm(f.Action, f.Fields)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	a := acsAnswer{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookieName && c.Value != "" {
			a.session = c.Value
		}
	}
	return a
}

// get fetches a page of the server without following redirects.
func (b *browser) get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := b.noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// signInAdmin signs the browser in as a break-glass administrator of the
// default tenant (created when missing), as the admin pages need.
func (e *ssoEnv) signInAdmin(b *browser) {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.store.Tenant(ctx, lanyard.DefaultTenantSlug); err != nil {
		if _, err := e.admin.CreateTenant(ctx, "test", lanyard.DefaultTenantSlug, "Default", nil); err != nil {
			e.t.Fatal(err)
		}
	}
	const pw = "administrator password 1"
	if _, _, err := e.admin.CreateAdmin(ctx, "test", lanyard.DefaultTenantSlug, "root", pw); err != nil {
		e.t.Fatal(err)
	}
	_, page := b.get(e.t, e.base+"/admin/login")
	m := csrfFieldPattern.FindStringSubmatch(page)
	if m == nil {
		e.t.Fatalf("no CSRF field on the sign-in form:\n%s", page)
	}
	resp, err := b.noFollow.PostForm(e.base+"/admin/login", url.Values{"username": {"root"}, "password": {pw}, csrfField: {html.UnescapeString(m[1])}})
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("administrator sign-in: %d", resp.StatusCode)
	}
}

// spLogin starts an SP-initiated login in the browser (with returnTo when
// set), signs in at the IdP and returns the IdP's answer form, not posted.
func (e *ssoEnv) spLogin(b *browser, slug, returnTo, username string) *simplesamlphp.Form {
	e.t.Helper()
	start := e.base + "/t/" + slug + "/saml/login"
	if returnTo != "" {
		start += "?" + url.Values{"return_to": {returnTo}}.Encode()
	}
	f, err := e.idp.Login(b.follow, start, username, username+"-pass")
	if err != nil {
		e.t.Fatalf("SP-initiated login of %s: %v", username, err)
	}
	return f
}

// idpLogin starts an IdP-initiated login to the tenant's SP with the
// RelayState, and returns the IdP's answer form, not posted.
func (e *ssoEnv) idpLogin(b *browser, slug, relayState, username string) *simplesamlphp.Form {
	e.t.Helper()
	f, err := e.idp.Login(b.follow, e.idp.IdPInitiatedURL(e.base+"/t/"+slug+"/saml/metadata", relayState), username, username+"-pass")
	if err != nil {
		e.t.Fatalf("IdP-initiated login of %s: %v", username, err)
	}
	return f
}

// idpUser is a SimpleSAMLphp account with the usual attributes; the
// password is the username plus "-pass".
func idpUser(uid, mail, given, sn string, groups []string, extra ...string) simplesamlphp.User {
	attrs := map[string][]string{"uid": {uid}, "mail": {mail}, "givenName": {given}, "sn": {sn}}
	if len(groups) > 0 {
		attrs["groups"] = groups
	}
	for i := 0; i+1 < len(extra); i += 2 {
		attrs[extra[i]] = append(attrs[extra[i]], extra[i+1])
	}
	return simplesamlphp.User{Username: uid, Password: uid + "-pass", Attributes: attrs}
}

// readAll reads and closes a response body.
func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// decodeForm returns the XML of the SAMLResponse of a form.
func decodeForm(t *testing.T, f *simplesamlphp.Form) string {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(f.Fields.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
