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
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/web"
)

// The hot paths through the whole server (middleware, routing, the face):
// the ACS of an IdP-initiated login and forward-auth's GET /auth/verify.
// They use only the server's public API, so the same file measures any
// revision of the tree:
//
//	go test -run '^$' -bench 'ServerACS|ServerVerify' -benchmem -count 6 ./web/

// BenchmarkServerACS posts signed IdP-initiated responses to the ACS of a
// tenant with JIT on; 100 users, so nearly every login links an existing
// account, opens a session and writes its audit event; on each engine.
func BenchmarkServerACS(b *testing.B) {
	for _, engine := range testdb.Engines {
		b.Run(engine, func(b *testing.B) { benchmarkServerACS(b, testdb.Open(b, engine)) })
	}
}

func benchmarkServerACS(b *testing.B, db lanyard.Store) {
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
	srv := web.New(web.Config{BaseURL: base, Store: db, Admin: svc})
	srv.SetReady()

	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/bench/saml/metadata", nil))
	m := regexp.MustCompile(`entityID="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("SP metadata without entityID: %d %s", rec.Code, rec.Body.String())
	}
	acs := base.String() + "/t/bench/saml/acs"
	bodies := make([]string, b.N)
	now := time.Now()
	for i := range bodies {
		user := fmt.Sprintf("user%03d", i%100)
		resp, err := idp.Response(testidp.Login{
			Destination: acs, Audience: m[1], NameID: user + "@bench.test",
			Attributes: [][2]string{{"uid", user}, {"mail", user + "@bench.test"}, {"givenName", "User"}, {"sn", user}},
			Now:        now, Validity: time.Hour,
		})
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = url.Values{"SAMLResponse": {resp}}.Encode()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		req := httptest.NewRequest(http.MethodPost, "/t/bench/saml/acs", strings.NewReader(bodies[i]))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			b.Fatalf("login %d: status %d\n%s", i, rec.Code, rec.Body.String())
		}
	}
}

// BenchmarkServerVerify asks GET /auth/verify with a live session, through
// the server's middleware and routes, from every core at once.
func BenchmarkServerVerify(b *testing.B) {
	ctx := context.Background()
	db := testdb.SQLite(b)
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
	if err := db.CreateTenant(ctx, &tenant); err != nil {
		b.Fatal(err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "ada", Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace",
		WebAccess: true, Roles: []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleIdP}}}
	user.Normalize()
	if err := db.CreateUser(ctx, &user); err != nil {
		b.Fatal(err)
	}
	mgr := session.NewManager(db, session.Options{})
	id, _, err := mgr.Open(ctx, tenant, user, lanyard.SessionSSO, session.Meta{})
	if err != nil {
		b.Fatal(err)
	}
	keys := identity.NewKeyRing(db, identity.KeyRingOptions{})
	if err := keys.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	base := &url.URL{Scheme: "https", Host: "sso.example.com"}
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, db, session.CacheOptions{TTL: time.Minute}), Keys: keys})
	if err != nil {
		b.Fatal(err)
	}
	srv := web.New(web.Config{BaseURL: base, Store: db, Gateway: gw})
	srv.SetReady()
	req := httptest.NewRequest(http.MethodGet, "/auth/verify?tenant=acme&roles=staff", nil)
	req.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: id})
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Errorf("status %d", rec.Code)
				return
			}
		}
	})
}
