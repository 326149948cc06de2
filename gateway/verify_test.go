package gateway_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/identity/verify"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// verifyEnv is a gateway over a store with one signed-in user, without
// HTTP servers: for the details of the forward-auth answers.
type verifyEnv struct {
	gw      *gateway.Gateway
	handler http.Handler
	session string // the session ID of ada (tenant acme, role staff)
	keys    *identity.KeyRing
}

func newVerifyEnv(tb testing.TB, store lanyard.Store) *verifyEnv {
	tb.Helper()
	ctx := context.Background()
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
	if err := store.CreateTenant(ctx, &tenant); err != nil {
		tb.Fatal(err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "ada", Email: "ada@example.com", FirstName: "Ada", LastName: "Love\nlace",
		WebAccess: true, Roles: []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleIdP}, {Role: "billing", Source: lanyard.RoleManual}}}
	user.Normalize()
	if err := store.CreateUser(ctx, &user); err != nil {
		tb.Fatal(err)
	}
	mgr := session.NewManager(store, session.Options{})
	id, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionSSO, session.Meta{})
	if err != nil {
		tb.Fatal(err)
	}
	keys := identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: "https://sso.example.com"})
	if err := keys.Refresh(ctx); err != nil {
		tb.Fatal(err)
	}
	base, _ := url.Parse("https://sso.example.com")
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{TTL: time.Minute}), Keys: keys})
	if err != nil {
		tb.Fatal(err)
	}
	return &verifyEnv{gw: gw, handler: gw.Verify(), session: id, keys: keys}
}

func (e *verifyEnv) verify(query string, withSession bool, headers ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/auth/verify"+query, nil)
	if withSession {
		req.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: e.session})
		req.AddCookie(&http.Cookie{Name: "__Host-" + gateway.SessionCookie, Value: e.session})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

func TestVerifyAnswers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		e := newVerifyEnv(t, store)
		login := func(tenant, path string) string {
			return "https://sso.example.com/t/" + tenant + "/saml/login?return_to=" + url.QueryEscape(path)
		}
		type verifyCase struct {
			name     string
			query    string
			session  bool
			headers  []string
			status   int
			location string // Location (302)
			loginHdr string // X-Lanyard-Login
			wantUser bool
		}
		tests := []verifyCase{
			{name: "signed in", session: true, status: 200, wantUser: true},
			{name: "signed in, tenant matches", query: "?tenant=acme", session: true, status: 200, wantUser: true},
			{name: "signed in, every role held", query: "?roles=staff,billing", session: true, status: 200, wantUser: true},
			{name: "a role missing", query: "?roles=staff,admin", session: true, status: 403},
			{name: "another tenant's session", query: "?tenant=other", session: true, status: 401,
				headers: []string{"X-Original-URI", "/x"}, loginHdr: login("other", "/x")},
			{name: "nginx", status: 401, headers: []string{"X-Original-URI", "/a/b?c=d"}, loginHdr: login("default", "/a/b?c=d")},
			{name: "traefik without redirect", status: 401, headers: []string{"X-Forwarded-Uri", "/p?q=1", "X-Forwarded-Host", "app.example.com"}, loginHdr: login("default", "/p?q=1")},
			{name: "traefik redirect for a browser", query: "?redirect=true&tenant=acme", status: 302,
				headers: []string{"X-Forwarded-Uri", "/p", "X-Forwarded-Method", "GET", "Accept", "text/html"}, location: login("acme", "/p"), loginHdr: login("acme", "/p")},
			{name: "no redirect for a POST", query: "?redirect=true", status: 401,
				headers: []string{"X-Forwarded-Uri", "/p", "X-Forwarded-Method", "POST", "Accept", "text/html"}, loginHdr: login("default", "/p")},
			{name: "no redirect for a script", query: "?redirect=true", status: 401,
				headers: []string{"X-Forwarded-Uri", "/p", "Accept", "application/json"}, loginHdr: login("default", "/p")},
			{name: "an absolute URL never becomes the return path", status: 401, headers: []string{"X-Original-URL", "//evil.example.com/x"}, loginHdr: login("default", "/")},
			{name: "a plain path, dots in the query", session: true, status: 200, wantUser: true, headers: []string{"X-Original-URI", "/a/b.txt?x=../..//%2f;"}},
			{name: "X-Original-URL", status: 401, headers: []string{"X-Original-URL", "https://app.example.com/deep/link?x=1"}, loginHdr: login("default", "/deep/link?x=1")},
		}
		// The proxy in front matched its location on its own reading of an
		// ambiguous path: refused, whoever asks.
		for _, p := range []string{"//evil.example.com/x", "/a/../b", "/a/./b", "/a/%2e%2e/b", "/a/.%2E/b", "/a//b", "/a%2fb", "/a%5Cb", "/a\\b",
			"/a;b", "/a/..;/b", "/a%252e%252e/b", "/a%25%32%65", "/admin./x", "/admin%20/x", "/ADMINI~1/x", "/a::$DATA", "/a%00", "/a%0a",
			"/%c0%ae%c0%ae/b", "/a%ef%bc%8fb", "/.."} {
			for _, h := range []string{"X-Original-URI", "X-Forwarded-Uri"} {
				tests = append(tests, verifyCase{name: h + " " + p, session: true, status: 403, headers: []string{h, p + "?q=1"}})
			}
		}
		// Identity headers the client sent, in any spelling an application
		// reads as HTTP_X_LANYARD_*: refused.
		for _, name := range []string{"X-Lanyard-User", "x-lanyard-roles", "X_Lanyard_User", "X.Lanyard.User", "X~Lanyard~Roles", "X-Lanyard_Tenant", "X-Lanyard-Anything"} {
			tests = append(tests, verifyCase{name: "forged " + name, session: true, status: 403, headers: []string{name, "mallory"}})
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				rec := e.verify(tc.query, tc.session, tc.headers...)
				if rec.Code != tc.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
				}
				if got := rec.Header().Get("Location"); got != tc.location {
					t.Errorf("Location %q, want %q", got, tc.location)
				}
				if got := rec.Header().Get(gateway.HeaderLogin); got != tc.loginHdr {
					t.Errorf("X-Lanyard-Login %q, want %q", got, tc.loginHdr)
				}
				if rec.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", rec.Header().Get("Cache-Control"))
				}
				h := rec.Header()
				if !tc.wantUser {
					if h.Get(gateway.HeaderUser) != "" || h.Get(gateway.HeaderJWT) != "" {
						t.Errorf("identity headers on a refusal: %v", h)
					}
					return
				}
				want := map[string]string{gateway.HeaderUser: "ada", gateway.HeaderEmail: "ada@example.com",
					gateway.HeaderName: "Ada Lovelace", gateway.HeaderRoles: "billing,staff", gateway.HeaderGroups: "staff",
					gateway.HeaderTenant: "acme"}
				for name, value := range want {
					if got := h.Get(name); got != value {
						t.Errorf("%s %q, want %q", name, got, value)
					}
				}
				if h.Get(gateway.HeaderJWT) == "" {
					t.Error("no X-Lanyard-JWT")
				}
			})
		}
	})
}

// TestVerifyTokenReused checks that the token is signed once per session,
// not per request, and signed again when half its lifetime has passed.
func TestVerifyTokenReused(t *testing.T) {
	e := newVerifyEnv(t, testdb.SQLite(t))
	first := e.verify("", true).Header().Get(gateway.HeaderJWT)
	for range 10 {
		if got := e.verify("", true).Header().Get(gateway.HeaderJWT); got != first {
			t.Fatal("the token was signed again within its lifetime")
		}
	}
}

// TestVerifyTokenAudience: each application gets a token of its own
// audience (the aud parameter, else the origin the user reached), which
// another application's verifier refuses.
func TestVerifyTokenAudience(t *testing.T) {
	e := newVerifyEnv(t, testdb.SQLite(t))
	now := time.Now()
	check := func(tok, audience, tenant string) error {
		_, err := verify.Check(tok, e.keys.PublicKeys(), now, verify.Expect{Issuer: "https://sso.example.com", Audience: audience, Tenant: tenant, Leeway: time.Minute})
		return err
	}
	tokenOf := func(query string, headers ...string) string {
		t.Helper()
		rec := e.verify(query, true, headers...)
		if rec.Code != http.StatusOK {
			t.Fatalf("verify%s: %d", query, rec.Code)
		}
		return rec.Header().Get(gateway.HeaderJWT)
	}
	wiki := tokenOf("?aud=wiki")
	blog := tokenOf("?aud=blog")
	app := tokenOf("", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "App.Example.com:443")
	appPort := tokenOf("", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "app.example.com:8443")
	if wiki == blog || wiki == app || app == appPort {
		t.Fatal("two applications got the same token")
	}
	if tokenOf("?aud=wiki") != wiki {
		t.Error("the token of an audience was signed again within its lifetime")
	}
	for _, tc := range []struct {
		token, audience, tenant string
		want                    error
	}{
		{wiki, "wiki", "acme", nil},
		{blog, "blog", "acme", nil},
		{app, "https://app.example.com", "acme", nil},
		{appPort, "https://app.example.com:8443", "acme", nil},
		{wiki, "blog", "acme", verify.ErrAudience},
		{blog, "wiki", "acme", verify.ErrAudience},
		{app, "https://app.example.com:8443", "acme", verify.ErrAudience},
		{appPort, "https://app.example.com", "acme", verify.ErrAudience},
		{app, "http://app.example.com", "acme", verify.ErrAudience},
		{wiki, "wiki", "globex", verify.ErrTenant},
	} {
		if err := check(tc.token, tc.audience, tc.tenant); !errors.Is(err, tc.want) {
			t.Errorf("token for %s, checked as %s of %s: %v, want %v", tc.token[len(tc.token)-8:], tc.audience, tc.tenant, err, tc.want)
		}
	}
}

// BenchmarkVerify measures the forward-auth check of a signed-in user on
// a warm cache: cookie, cache lookup, headers and the cached token.
func BenchmarkVerify(b *testing.B) {
	e := newVerifyEnv(b, testdb.SQLite(b))
	req := httptest.NewRequest(http.MethodGet, "/auth/verify?tenant=acme&roles=staff", nil)
	req.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: e.session})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			e.handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}

// TestVerifyOtherHost: behind a proxy on another host (X-Forwarded-Host),
// the login returns through the hand-off, which goes only to trusted hosts.
func TestVerifyOtherHost(t *testing.T) {
	store := testdb.SQLite(t)
	newVerifyEnv(t, store)
	base, _ := url.Parse("https://sso.example.com")
	mgr := session.NewManager(store, session.Options{})
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{}),
		Store: store, TrustedHosts: []string{"app.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "/auth/verify?tenant=acme", nil)
	req.Header.Set("X-Forwarded-Host", "app.example.com")
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("X-Forwarded-Uri", "/p?q=1")
	rec := httptest.NewRecorder()
	gw.Verify().ServeHTTP(rec, req)
	if want := "https://app.example.com/auth/start?tenant=acme&to=%2Fp%3Fq%3D1"; rec.Code != http.StatusUnauthorized || rec.Header().Get(gateway.HeaderLogin) != want {
		t.Fatalf("verify from another host: %d, login %q, want %q", rec.Code, rec.Header().Get(gateway.HeaderLogin), want)
	}
}
