package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/web"
	"github.com/lanyard-sso/lanyard/web/oidc"
)

// The OpenID Provider's hot paths, through the whole server, on each
// engine: a whole login (SAML response at the ACS, then the authorization
// request and the code exchange) next to the SAML login alone, the code
// exchange alone, userinfo, and the cost of signing an ID token:
//
//	go test -run '^$' -bench 'OIDC' -benchmem -count 6 ./web/

type oidcBench struct {
	srv      *web.Server
	idp      *testidp.IdP
	entityID string
	secret   string
}

const benchRedirect = "https://app.bench.test/cb"

func newOIDCBench(b *testing.B, db lanyard.Store) *oidcBench {
	ctx := context.Background()
	base := &url.URL{Scheme: "http", Host: "localhost:8080"}
	svc := admin.New(db, admin.Options{BaseURL: base})
	if _, err := svc.CreateTenant(ctx, "bench", "bench", "", nil); err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.SetTenant(ctx, "bench", "bench", []string{"enabled=true", "jit=true", "idp_initiated=true"}); err != nil {
		b.Fatal(err)
	}
	idp, err := testidp.New("https://idp.bench.test", testidp.Options{})
	if err != nil {
		b.Fatal(err)
	}
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.ImportIdP(ctx, "bench", "bench", admin.IdPSource{Metadata: md}); err != nil {
		b.Fatal(err)
	}
	_, secret, err := svc.CreateOIDCClient(ctx, "bench", "bench", "app", []string{"redirect_uris=" + benchRedirect})
	if err != nil {
		b.Fatal(err)
	}
	srv := web.New(web.Config{BaseURL: base, Store: db, Admin: svc})
	srv.SetReady()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/bench/saml/metadata", nil))
	m := regexp.MustCompile(`entityID="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("SP metadata without entityID: %d", rec.Code)
	}
	return &oidcBench{srv: srv, idp: idp, entityID: m[1], secret: secret}
}

// responses makes n signed SAML responses for 100 users.
func (o *oidcBench) responses(b *testing.B, n int) []string {
	out := make([]string, n)
	now := time.Now()
	for i := range out {
		user := fmt.Sprintf("user%03d", i%100)
		resp, err := o.idp.Response(testidp.Login{
			Destination: "http://localhost:8080/t/bench/saml/acs", Audience: o.entityID, NameID: user + "@bench.test",
			Attributes: [][2]string{{"uid", user}, {"mail", user + "@bench.test"}, {"givenName", "User"}, {"sn", user}},
			Now:        now, Validity: time.Hour,
		})
		if err != nil {
			b.Fatal(err)
		}
		out[i] = url.Values{"SAMLResponse": {resp}}.Encode()
	}
	return out
}

// acs posts a SAML response and returns the session cookies.
func (o *oidcBench) acs(b *testing.B, body string) []*http.Cookie {
	req := httptest.NewRequest(http.MethodPost, "/t/bench/saml/acs", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	o.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("ACS: %d %s", rec.Code, rec.Body.String())
	}
	return rec.Result().Cookies()
}

var authorizeQuery = url.Values{"client_id": {"app"}, "redirect_uri": {benchRedirect}, "response_type": {"code"},
	"scope": {"openid profile email"}, "state": {"s"}, "nonce": {"n"}}.Encode()

// code runs an authorization request with the session cookies.
func (o *oidcBench) code(b *testing.B, cookies []*http.Cookie) string {
	req := httptest.NewRequest(http.MethodGet, "/t/bench/oidc/authorize?"+authorizeQuery, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	o.srv.ServeHTTP(rec, req)
	loc, err := url.Parse(rec.Header().Get("Location"))
	if rec.Code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		b.Fatalf("authorize: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	return loc.Query().Get("code")
}

// exchange redeems a code and returns the answer's body.
func (o *oidcBench) exchange(b *testing.B, code string) string {
	req := httptest.NewRequest(http.MethodPost, "/t/bench/oidc/token",
		strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {benchRedirect}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("app", url.QueryEscape(o.secret))
	rec := httptest.NewRecorder()
	o.srv.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("token: %d %s", rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// BenchmarkOIDCLogin: logins per second, SAML alone and the whole code flow.
func BenchmarkOIDCLogin(b *testing.B) {
	for _, engine := range testdb.Engines {
		for _, flow := range []string{"saml-only", "code-flow"} {
			b.Run(engine+"/"+flow, func(b *testing.B) {
				o := newOIDCBench(b, testdb.Open(b, engine))
				bodies := o.responses(b, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					cookies := o.acs(b, bodies[i])
					if flow == "code-flow" {
						o.exchange(b, o.code(b, cookies))
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "logins/s")
			})
		}
	}
}

// BenchmarkOIDCToken: the code exchange alone (client authentication, the
// code used once, three grants written, the ID token signed).
func BenchmarkOIDCToken(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			o := newOIDCBench(b, testdb.Open(b, engine))
			cookies := o.acs(b, o.responses(b, 1)[0])
			codes := make([]string, b.N)
			for i := range codes {
				codes[i] = o.code(b, cookies)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				o.exchange(b, codes[i])
			}
		})
	}
}

// BenchmarkOIDCUserinfo: one access token read again and again.
func BenchmarkOIDCUserinfo(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) {
			o := newOIDCBench(b, testdb.Open(b, engine))
			body := o.exchange(b, o.code(b, o.acs(b, o.responses(b, 1)[0])))
			access := regexp.MustCompile(`"access_token":"([^"]+)"`).FindStringSubmatch(body)[1]
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				req := httptest.NewRequest(http.MethodGet, "/t/bench/oidc/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+access)
				rec := httptest.NewRecorder()
				o.srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("userinfo: %d", rec.Code)
				}
			}
		})
	}
}

// BenchmarkOIDCSignIDToken: the signing cost inside each code exchange.
func BenchmarkOIDCSignIDToken(b *testing.B) {
	keys := oidc.NewKeys(testdb.SQLite(b), nil, nil)
	claims := map[string]any{"iss": "http://localhost:8080/t/bench", "sub": "x", "aud": "app", "exp": 1, "iat": 1, "email": "user@bench.test"}
	for _, alg := range []string{"RS256", "ES256"} {
		b.Run(alg, func(b *testing.B) {
			if _, err := keys.Sign(context.Background(), alg, claims); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := keys.Sign(context.Background(), alg, claims); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
