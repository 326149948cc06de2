package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/web"
)

// acsTenant is the tenant acme with a test IdP imported, served by srv:
// what a test needs to post logins to the tenant's ACS. (The benchmarks
// that are copied into older trees to measure them keep their own setup.)
type acsTenant struct {
	tenant lanyard.Tenant
	idp    *testidp.IdP
	svc    *admin.Service
	base   *url.URL
	srv    *web.Server
	// acs is the ACS URL, and audience the SP's entity ID: what a
	// response is addressed to.
	acs, audience string
}

// newACSTenant creates the tenant acme through the admin service over db,
// with logins enabled, JIT and IdP-initiated logins on and the further
// settings given, imports a test IdP, and serves the tenant with a server
// over store (db, or a store wrapping it).
func newACSTenant(t testing.TB, db, store lanyard.Store, settings ...string) acsTenant {
	t.Helper()
	ctx := context.Background()
	base := &url.URL{Scheme: "http", Host: "localhost:8080"}
	svc := admin.New(db, admin.Options{BaseURL: base})
	tenant, err := svc.CreateTenant(ctx, "acme", "acme", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	settings = append([]string{"enabled=true", "jit=true", "idp_initiated=true"}, settings...)
	if _, _, err := svc.SetTenant(ctx, "acme", "acme", settings); err != nil {
		t.Fatal(err)
	}
	idp, err := testidp.New("https://idp.acme.test", testidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ImportIdP(ctx, "acme", "acme", admin.IdPSource{Metadata: md}); err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Config{BaseURL: base, Store: store, Admin: svc})
	srv.SetReady()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/acme/saml/metadata", nil))
	m := regexp.MustCompile(`entityID="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		t.Fatalf("SP metadata without entityID: %d %s", rec.Code, rec.Body.String())
	}
	return acsTenant{tenant: tenant, idp: idp, svc: svc, base: base, srv: srv, acs: base.String() + "/t/acme/saml/acs", audience: m[1]}
}
