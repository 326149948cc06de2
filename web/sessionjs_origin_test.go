package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// Hosts of the cross-origin session-keeping tests. Browsers resolve every
// *.localhost name to loopback, count the three as one site (lanyard.localhost),
// and treat them as secure contexts; Lanyard, seeing a loopback host, sets
// its SAML binding cookie SameSite=None as over https.
const (
	xoLanyardHost = "sso.lanyard.localhost"
	xoAppHost     = "app.lanyard.localhost"
	xoIdPHost     = "idp.lanyard.localhost"
	xoEvilHost    = "evil.lanyard.localhost"
)

// xoriginEnv is Lanyard at http://sso.lanyard.localhost:PORT with a gateway
// trusting app.lanyard.localhost, a tenant "beta" signing in through the
// development IdP at http://idp.lanyard.localhost:PORT, and an application
// page at http://app.lanyard.localhost:PORT that includes session.js by
// Lanyard's absolute URL. Every server stops with the test.
type xoriginEnv struct {
	t       *testing.T
	store   lanyard.Store
	server  *Server
	tenant  lanyard.Tenant
	base    string // Lanyard's origin
	idpBase string
	appPort string // the application server's port, on any of the hosts
}

// xoriginOptions shape a newXOriginEnv.
type xoriginOptions struct {
	// denyFraming makes the IdP refuse to be framed: checks run in a window.
	denyFraming bool
}

func newXOriginEnv(t *testing.T, opts xoriginOptions) *xoriginEnv {
	t.Helper()
	ctx := context.Background()
	store := testdb.Open(t, "sqlite")
	e := &xoriginEnv{t: t, store: store}

	lanyardSrv := httptest.NewUnstartedServer(nil)
	idpSrv := httptest.NewUnstartedServer(nil)
	appSrv := httptest.NewUnstartedServer(nil)
	e.base = "http://" + net.JoinHostPort(xoLanyardHost, portOf(lanyardSrv))
	e.idpBase = "http://" + net.JoinHostPort(xoIdPHost, portOf(idpSrv))
	e.appPort = portOf(appSrv)

	base, _ := url.Parse(e.base)
	svc := admin.New(store, admin.Options{BaseURL: base})
	mgr := session.NewManager(store, session.Options{})
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{}),
		Store: store, TrustedHosts: []string{e.appOrigin(xoAppHost)}})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	e.server = New(Config{BaseURL: base, Store: store, Admin: svc, Gateway: gw, Logger: logger})
	lanyardSrv.Config.Handler = e.server
	lanyardSrv.Start()
	t.Cleanup(lanyardSrv.Close)
	e.server.SetReady()

	idp, err := devidp.New(devidp.Config{BaseURL: e.idpBase, DenyFraming: opts.denyFraming})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = idp
	idpSrv.Start()
	t.Cleanup(idpSrv.Close)

	appSrv.Config.Handler = http.HandlerFunc(e.serveAppPage)
	appSrv.Start()
	t.Cleanup(appSrv.Close)

	if _, err := svc.CreateTenant(ctx, "test", "beta", "Beta", nil); err != nil {
		t.Fatal(err)
	}
	e.tenant, _, err = svc.SetTenant(ctx, "test", "beta", []string{"enabled=true", "jit=true"})
	if err != nil {
		t.Fatal(err)
	}
	if err := store.PutIdP(ctx, &lanyard.IdPConnection{TenantID: e.tenant.ID, EntityID: idp.EntityID(), MetadataXML: string(idp.Metadata())}); err != nil {
		t.Fatal(err)
	}
	metadata := e.serve(httptest.NewRequest(http.MethodGet, e.base+"/t/beta/saml/metadata", nil))
	if err := idp.TrustSPMetadata(metadata.Body.Bytes()); err != nil {
		t.Fatal(err)
	}
	return e
}

// portOf is the port an unstarted httptest server will listen on.
func portOf(srv *httptest.Server) string {
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return port
}

// appOrigin is the origin of the application page on host.
func (e *xoriginEnv) appOrigin(host string) string {
	return "http://" + net.JoinHostPort(host, e.appPort)
}

// serveAppPage is the application: a page that includes Lanyard's
// session.js by absolute URL, under the Content-Security-Policy the README
// asks for (Lanyard in script-src and connect-src; Lanyard and the IdP in
// frame-src).
func (e *xoriginEnv) serveAppPage(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self' "+e.base+"; connect-src 'self' "+e.base+
		"; frame-src "+e.base+" "+e.idpBase+"; base-uri 'none'")
	h.Set("Content-Type", "text/html; charset=utf-8")
	_, _ = io.WriteString(w, `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Application</title>
<script src="`+e.base+SessionScriptURL()+`" defer></script></head>
<body><main><h1 id="app-page">Application</h1></main></body></html>
`)
}

// serve runs a request through Lanyard's handler.
func (e *xoriginEnv) serve(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	e.server.ServeHTTP(rec, r)
	return rec
}

// ssoSession opens an SSO session of a new account of the tenant and
// returns its cookie.
func (e *xoriginEnv) ssoSession() *http.Cookie {
	e.t.Helper()
	ctx := context.Background()
	u := lanyard.User{TenantID: e.tenant.ID, Login: "ada", LoginMethod: lanyard.LoginSSO, WebAccess: true}
	u.Normalize()
	if err := e.store.CreateUser(ctx, &u); err != nil {
		e.t.Fatal(err)
	}
	id, _, err := e.server.sessions.Open(ctx, e.tenant, u, lanyard.SessionSSO, sessionMeta())
	if err != nil {
		e.t.Fatal(err)
	}
	return &http.Cookie{Name: sessionCookieName, Value: id}
}

// TestSessionStateCORS: GET /lanyard/session answers CORS, with
// credentials, to the origins the gateway trusts on Lanyard's scheme only.
func TestSessionStateCORS(t *testing.T) {
	e := newXOriginEnv(t, xoriginOptions{})
	cookie := e.ssoSession()
	for _, tc := range []struct {
		name, origin string
		allowed      bool
	}{
		{"trusted host", e.appOrigin(xoAppHost), true},
		{"untrusted host", e.appOrigin(xoEvilHost), false},
		{"scheme mismatch", "https://" + net.JoinHostPort(xoAppHost, e.appPort), false},
		{"no origin", "", false},
		{"Lanyard itself", e.base, false},
		{"opaque origin", "null", false},
		// Origins are compared whole.
		{"trusted host on another port", "http://" + net.JoinHostPort(xoAppHost, otherPort(e.appPort)), false},
		{"trusted host on Lanyard's port", "http://" + net.JoinHostPort(xoAppHost, portOfURL(e.base)), false},
		{"trusted host without its port", "http://" + xoAppHost, false},
		{"trailing dot", "http://" + net.JoinHostPort(xoAppHost+".", e.appPort), false},
		{"suffix trick", "http://" + net.JoinHostPort(xoAppHost+".evil.example", e.appPort), false},
		{"prefix trick", "http://" + net.JoinHostPort("evil"+xoAppHost, e.appPort), false},
		{"subdomain", "http://" + net.JoinHostPort("x."+xoAppHost, e.appPort), false},
		{"userinfo", "http://user@" + net.JoinHostPort(xoAppHost, e.appPort), false},
		{"with a path", e.appOrigin(xoAppHost) + "/", false},
		{"IDN", "http://" + net.JoinHostPort("äpp.lanyard.localhost", e.appPort), false},
		{"two origins", e.appOrigin(xoAppHost) + " " + e.appOrigin(xoAppHost), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, e.base+sessionStatePath, nil)
			req.AddCookie(cookie)
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			rec := e.serve(req)
			if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"signed_in":true`) {
				t.Fatalf("GET %s: %d %s", sessionStatePath, rec.Code, rec.Body)
			}
			h := rec.Header()
			if !strings.Contains(strings.Join(h.Values("Vary"), ","), "Origin") {
				t.Errorf("Vary %q, want Origin", h.Values("Vary"))
			}
			acao, acac := h.Get("Access-Control-Allow-Origin"), h.Get("Access-Control-Allow-Credentials")
			if tc.allowed {
				if acao != tc.origin || acac != "true" {
					t.Errorf("allowed origin: Access-Control-Allow-Origin %q, -Credentials %q; want %q, true", acao, acac, tc.origin)
				}
				return
			}
			if acao != "" || acac != "" {
				t.Errorf("origin %q: Access-Control-Allow-Origin %q, -Credentials %q; want none", tc.origin, acao, acac)
			}
		})
	}
}

// TestSessionCheckOrigin: the origin parameter of a check and of the
// sign-in window is validated (an untrusted one refused with 400, never
// echoed), travels with the pending request, and is the one origin besides
// Lanyard's that may frame the relay page and receive its message.
func TestSessionCheckOrigin(t *testing.T) {
	e := newXOriginEnv(t, xoriginOptions{})
	app := e.appOrigin(xoAppHost)
	evil := e.appOrigin(xoEvilHost)
	get := func(path string, query url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, e.base+path+"?"+query.Encode(), nil)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		return e.serve(req)
	}
	wantFrameAncestors := func(t *testing.T, rec *httptest.ResponseRecorder, want string) {
		t.Helper()
		csp := rec.Header().Get("Content-Security-Policy")
		var got []string
		for _, d := range strings.Split(csp, ";") {
			if f := strings.Fields(d); len(f) > 0 && f[0] == "frame-ancestors" {
				got = append(got, strings.Join(f[1:], " "))
			}
		}
		if len(got) != 1 || got[0] != want {
			t.Errorf("frame-ancestors %q in %q, want exactly %q", got, csp, want)
		}
	}

	refused := []struct{ name, origin string }{
		{"untrusted host", evil},
		{"scheme mismatch", "https://" + net.JoinHostPort(xoAppHost, e.appPort)},
		{"not an origin", app + "/page"},
		{"markup", `"><script>alert(1)</script>`},
	}
	for _, tc := range refused {
		t.Run("refused/"+tc.name, func(t *testing.T) {
			for _, q := range []url.Values{
				{"passive": {"frame"}, "origin": {tc.origin}},
				{"passive": {"popup"}, "origin": {tc.origin}},
				{"return_to": {popupDonePath}, "origin": {tc.origin}},
			} {
				rec := get("/t/beta/saml/login", q, nil)
				if rec.Code != http.StatusBadRequest {
					t.Errorf("login %v: %d, want 400", q, rec.Code)
				}
				if body := rec.Body.String(); strings.Contains(body, tc.origin) || strings.Contains(body, xoEvilHost) || !strings.Contains(body, "trusted host") {
					t.Errorf("login %v: the refusal echoes the origin or does not say why: %s", q, body)
				}
				wantFrameAncestors(t, rec, "'none'")
			}
			rec := get(popupDonePath, url.Values{"origin": {tc.origin}}, nil)
			if rec.Code != http.StatusBadRequest || strings.Contains(rec.Body.String(), tc.origin) {
				t.Errorf("popup-done: %d, want 400 without the origin: %s", rec.Code, rec.Body)
			}
		})
	}

	t.Run("Lanyard's own pages", func(t *testing.T) {
		rec := get("/t/beta/saml/login", url.Values{"passive": {"frame"}}, nil)
		if rec.Code != http.StatusOK || relayMessageOf(rec.Body.String()) != msgExpired || strings.Contains(rec.Body.String(), "data-origin") {
			t.Fatalf("check without a session: %d %s", rec.Code, rec.Body)
		}
		wantFrameAncestors(t, rec, "'self'")
	})

	t.Run("trusted origin without a session", func(t *testing.T) {
		rec := get("/t/beta/saml/login", url.Values{"passive": {"frame"}, "origin": {app}}, nil)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || relayMessageOf(body) != msgExpired || !strings.Contains(body, `data-origin="`+app+`"`) {
			t.Fatalf("check without a session: %d %s", rec.Code, body)
		}
		wantFrameAncestors(t, rec, "'self' "+app)
	})

	cookie := e.ssoSession()
	t.Run("trusted origin with a session", func(t *testing.T) {
		rec := get("/t/beta/saml/login", url.Values{"passive": {"frame"}, "origin": {app}}, cookie)
		if rec.Code != http.StatusFound || !strings.HasPrefix(rec.Header().Get("Location"), e.idpBase) {
			t.Fatalf("check: %d to %q, want a redirect to the IdP", rec.Code, rec.Header().Get("Location"))
		}
	})

	t.Run("sign-in window", func(t *testing.T) {
		rec := get(popupDonePath, url.Values{"origin": {app}}, cookie)
		body := rec.Body.String()
		if rec.Code != http.StatusOK || relayMessageOf(body) != msgSignedIn || !strings.Contains(body, `data-origin="`+app+`"`) {
			t.Fatalf("popup-done: %d %s", rec.Code, body)
		}
		wantFrameAncestors(t, rec, "'self' "+app)
	})

}

// otherPort is a port other than p.
func otherPort(p string) string {
	n, _ := strconv.Atoi(p)
	return strconv.Itoa(n%60000 + 1)
}

// portOfURL is the port of an http URL with an explicit port.
func portOfURL(u string) string {
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
	return port
}
