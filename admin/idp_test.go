package admin_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/idpsync"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// Test IdPs are costly to make (RSA keys): made once, shared.
var (
	idpOnce             sync.Once
	idpA, idpB, signerC *testidp.IdP
)

func testIdPs(t *testing.T) (a, b, signer *testidp.IdP) {
	t.Helper()
	idpOnce.Do(func() {
		var err error
		for _, p := range []struct {
			dst **testidp.IdP
			id  string
		}{{&idpA, "https://idp-a.test/saml"}, {&idpB, "https://idp-b.test/saml"}, {&signerC, "https://federation.test/signer"}} {
			if *p.dst, err = testidp.New(p.id, testidp.Options{}); err != nil {
				panic(err)
			}
		}
	})
	return idpA, idpB, signerC
}

// newService returns a service over store with a tenant "acme".
func newService(t *testing.T, store lanyard.Store) *admin.Service {
	t.Helper()
	svc := admin.New(store, admin.Options{Fetcher: &idpsync.HTTPFetcher{Timeout: 10 * time.Second, AllowPrivate: true}})
	if _, err := svc.CreateTenant(context.Background(), "cli", "acme", "", nil); err != nil {
		t.Fatal(err)
	}
	return svc
}

func metadata(t *testing.T, idp *testidp.IdP, o testidp.MetadataOptions) []byte {
	t.Helper()
	var md []byte
	var err error
	if o.SignWith != nil {
		md, err = idp.SignedMetadata(o)
	} else {
		md, err = idp.Metadata(o)
	}
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// auditOf lists the tenant's audit events of an action, newest first.
func auditOf(t *testing.T, store lanyard.Store, action string) []lanyard.AuditEvent {
	t.Helper()
	ev, err := store.AuditEvents(context.Background(), lanyard.AuditFilter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestImportIdPFromFile(t *testing.T) {
	a, b, _ := testIdPs(t)
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc := newService(t, store)
		md := metadata(t, a, testidp.MetadataOptions{})
		conn, warnings, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: md})
		if err != nil {
			t.Fatal(err)
		}
		if len(warnings) != 0 {
			t.Errorf("warnings %q, want none", warnings)
		}
		if conn.EntityID != a.EntityID || conn.MetadataXML != string(md) || conn.SourceURL != "" || len(conn.SigningCerts) != 1 || conn.RefreshedAt.IsZero() {
			t.Errorf("connection %+v", conn)
		}
		list, err := svc.IdPs(ctx, "acme")
		if err != nil || len(list) != 1 || list[0].ID != conn.ID {
			t.Fatalf("IdPs = %v, %v", list, err)
		}
		ev := auditOf(t, store, "idp.import")
		if len(ev) != 1 || !strings.Contains(ev[0].Message, "imported IdP "+a.EntityID) || !strings.Contains(ev[0].Message, saml.Fingerprint(a.Cert)) {
			t.Errorf("audit %+v", ev)
		}

		// Rollover: the IdP publishes a second certificate, then drops the first.
		md2 := metadata(t, a, testidp.MetadataOptions{ExtraCerts: []*x509.Certificate{b.Cert}})
		conn2, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: md2})
		if err != nil {
			t.Fatal(err)
		}
		if conn2.ID != conn.ID || len(conn2.SigningCerts) != 2 {
			t.Errorf("re-import: %+v, want the same connection with 2 certificates", conn2)
		}
		ev = auditOf(t, store, "idp.import")
		if len(ev) != 2 || !strings.Contains(ev[0].Message, "signing certificates added: "+saml.Fingerprint(b.Cert)) || strings.Contains(ev[0].Message, "removed") {
			t.Errorf("audit of the rollover: %q", ev[0].Message)
		}
		onlyB := *a
		onlyB.Cert = b.Cert
		if _, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: metadata(t, &onlyB, testidp.MetadataOptions{})}); err != nil {
			t.Fatal(err)
		}
		ev = auditOf(t, store, "idp.import")
		if !strings.Contains(ev[0].Message, "signing certificates removed: "+saml.Fingerprint(a.Cert)) || strings.Contains(ev[0].Message, "added") {
			t.Errorf("audit of the end of the rollover: %q", ev[0].Message)
		}

		// Removal.
		if err := svc.DeleteIdP(ctx, "cli", "acme", a.EntityID); err != nil {
			t.Fatal(err)
		}
		if list, _ := svc.IdPs(ctx, "acme"); len(list) != 0 {
			t.Errorf("after removal: %v", list)
		}
		err = svc.DeleteIdP(ctx, "cli", "acme", a.EntityID)
		if lanyard.ErrorKind(err) != lanyard.KindNotFound || !strings.Contains(lanyard.ErrorMessage(err), "lanyard idp list") {
			t.Errorf("removing again: %v", err)
		}
		if ev := auditOf(t, store, "idp.delete"); len(ev) != 1 {
			t.Errorf("idp.delete events: %d", len(ev))
		}
	})
}

// TestImportIdPRefused checks that refused imports say why and write
// nothing.
func TestImportIdPRefused(t *testing.T) {
	a, b, signer := testIdPs(t)
	signed := metadata(t, a, testidp.MetadataOptions{SignWith: signer.Key, SignWithCert: signer.Cert})
	cases := []struct {
		name string
		src  admin.IdPSource
		want string
	}{
		{"bad XML", admin.IdPSource{Metadata: []byte("<md:EntityDescriptor xmlns:md='urn:oasis:names:tc:SAML:2.0:metadata'><unclosed>")}, "IdP metadata refused"},
		{"not metadata", admin.IdPSource{Metadata: []byte("<html><body>Sign in</body></html>")}, "EntityDescriptor"},
		{"DTD", admin.IdPSource{Metadata: []byte(`<!DOCTYPE x [<!ENTITY e "x">]><x/>`)}, "IdP metadata refused"},
		{"nothing", admin.IdPSource{}, "no IdP metadata given"},
		{"both", admin.IdPSource{Metadata: signed, URL: "https://x.test/"}, "not both"},
		{"ftp URL", admin.IdPSource{URL: "ftp://idp.test/metadata"}, "must start with https://"},
		{"wrong entity ID", admin.IdPSource{Metadata: signed, EntityID: "https://other.test"}, "check --entity-id"},
		{"wrong pin", admin.IdPSource{Metadata: signed, PinnedCertsPEM: b.CertPEM()}, "pinned certificate"},
		{"pin, unsigned", admin.IdPSource{Metadata: metadata(t, a, testidp.MetadataOptions{}), PinnedCertsPEM: signer.CertPEM()}, "not signed"},
		{"pin not PEM", admin.IdPSource{Metadata: signed, PinnedCertsPEM: []byte("hello")}, "no PEM certificate"},
		{"unknown tenant", admin.IdPSource{Metadata: signed}, "tenant \"nope\" not found"},
	}
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc := newService(t, store)
		for _, c := range cases {
			tenant := "acme"
			if c.name == "unknown tenant" {
				tenant = "nope"
			}
			_, _, err := svc.ImportIdP(ctx, "cli", tenant, c.src)
			if err == nil {
				t.Errorf("%s: accepted", c.name)
				continue
			}
			if k := lanyard.ErrorKind(err); k != lanyard.KindInvalid && k != lanyard.KindNotFound {
				t.Errorf("%s: kind %v (%v), want invalid", c.name, k, err)
			}
			if msg := lanyard.ErrorMessage(err); !strings.Contains(msg, c.want) {
				t.Errorf("%s: message %q, want it to contain %q", c.name, msg, c.want)
			}
		}
		if list, _ := svc.IdPs(ctx, "acme"); len(list) != 0 {
			t.Errorf("refused imports wrote %d connections", len(list))
		}
		if ev := auditOf(t, store, "idp.import"); len(ev) != 0 {
			t.Errorf("refused imports wrote audit events: %+v", ev)
		}

		// The right pin is accepted, and kept for refreshes.
		conn, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: signed, PinnedCertsPEM: signer.CertPEM()})
		if err != nil {
			t.Fatal(err)
		}
		if len(conn.MetadataSigners) != 1 {
			t.Errorf("pinned signers %d, want 1", len(conn.MetadataSigners))
		}
	})
}

func TestImportIdPWarnings(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc := newService(t, store)
		soon, err := testidp.New("https://soon.test", testidp.Options{Bits: 1024, NotAfter: time.Now().Add(10 * 24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		expired, err := testidp.New("https://expired.test", testidp.Options{Bits: 1024, NotAfter: time.Now().Add(-24 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		_, warnings, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: metadata(t, soon, testidp.MetadataOptions{NoBrowserSSO: true})})
		if err != nil {
			t.Fatal(err)
		}
		joined := strings.Join(warnings, "\n")
		for _, want := range []string{"expires on", "(in 10 days)", "no SingleSignOnService for HTTP-Redirect or HTTP-POST"} {
			if !strings.Contains(joined, want) {
				t.Errorf("warnings %q lack %q", warnings, want)
			}
		}
		_, warnings, err = svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: metadata(t, expired, testidp.MetadataOptions{ValidUntil: time.Now().Add(-time.Hour)})})
		if err != nil {
			t.Fatal(err)
		}
		joined = strings.Join(warnings, "\n")
		for _, want := range []string{"expired on", "the metadata was valid until"} {
			if !strings.Contains(joined, want) {
				t.Errorf("warnings %q lack %q", warnings, want)
			}
		}
	})
}

// federation builds an aggregate of n IdPs sharing a's key; the one at
// index pick is a itself.
func federation(a *testidp.IdP, n, pick int) []byte {
	entities := make([]string, n)
	for i := range entities {
		idp := *a
		if i != pick {
			idp.EntityID = fmt.Sprintf("https://idp%04d.federation.test/saml", i)
			idp.SSOURL = fmt.Sprintf("https://idp%04d.federation.test/sso", i)
		}
		entities[i], _ = idp.EntityDescriptor(testidp.MetadataOptions{})
	}
	return testidp.Aggregate("https://federation.test", entities)
}

func TestImportIdPFromFederation(t *testing.T) {
	a, _, _ := testIdPs(t)
	const n = 2000
	fed := federation(a, n, n/2)
	t.Logf("federation file: %d entities, %d KiB", n, len(fed)>>10)
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc := newService(t, store)

		_, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: fed})
		msg := lanyard.ErrorMessage(err)
		if !strings.Contains(msg, fmt.Sprintf("federation file with %d IdPs", n)) || !strings.Contains(msg, "https://idp0000.federation.test/saml") || !strings.Contains(msg, "--entity-id") {
			t.Errorf("without --entity-id: %v", err)
		}
		_, _, err = svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: fed, EntityID: "https://missing.test"})
		if msg := lanyard.ErrorMessage(err); !strings.Contains(msg, "no IdP with entity ID") || !strings.Contains(msg, "idp0000") {
			t.Errorf("unknown --entity-id: %v", err)
		}
		if list, _ := svc.IdPs(ctx, "acme"); len(list) != 0 {
			t.Fatalf("refused imports wrote %d connections", len(list))
		}

		start := time.Now()
		conn, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: fed, EntityID: a.EntityID})
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("import of one IdP out of %d took %s", n, took)
		if took > 3*time.Second {
			t.Errorf("import took %s, want well under a second", took)
		}
		if len(conn.MetadataXML) > 8<<10 || !strings.Contains(conn.MetadataXML, "Extracted by Lanyard") {
			t.Errorf("stored %d bytes, want the chosen IdP only", len(conn.MetadataXML))
		}
		d := admin.DescribeIdP(conn)
		if d.Problem != "" || len(d.SSO) != 2 || len(d.Certificates) != 1 || d.Certificates[0].Fingerprint != saml.Fingerprint(a.Cert) {
			t.Errorf("stored metadata reads back as %+v", d)
		}
	})
}

func TestImportIdPFromURL(t *testing.T) {
	a, _, _ := testIdPs(t)
	md := metadata(t, a, testidp.MetadataOptions{})
	mux := http.NewServeMux()
	mux.HandleFunc("/metadata", func(w http.ResponseWriter, r *http.Request) { w.Write(md) })
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("<x>"))
		w.Write(make([]byte, 17<<20))
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/metadata", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc := admin.New(store, admin.Options{Fetcher: &idpsync.HTTPFetcher{Timeout: time.Second, AllowPrivate: true}})
		if _, err := svc.CreateTenant(ctx, "cli", "acme", "", nil); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]string{
			"/missing": "404",
			"/huge":    "larger than the 16 MiB",
			"/loop":    "redirects",
			"/slow":    "took more than 1s",
		} {
			_, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{URL: srv.URL + path})
			if msg := lanyard.ErrorMessage(err); err == nil || !strings.Contains(msg, want) {
				t.Errorf("%s: %v, want an error containing %q", path, err, want)
			}
		}
		if list, _ := svc.IdPs(ctx, "acme"); len(list) != 0 {
			t.Fatalf("failed fetches wrote %d connections", len(list))
		}
		conn, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{URL: srv.URL + "/moved"})
		if err != nil {
			t.Fatal(err)
		}
		if conn.SourceURL != srv.URL+"/moved" || conn.EntityID != a.EntityID {
			t.Errorf("connection %+v", conn)
		}
		// Without a fetcher, URL imports say what to do instead.
		_, _, err = admin.New(store, admin.Options{}).ImportIdP(ctx, "cli", "acme", admin.IdPSource{URL: srv.URL + "/metadata"})
		if !strings.Contains(lanyard.ErrorMessage(err), "import the file instead") {
			t.Errorf("without a fetcher: %v", err)
		}
	})
}

// TestImportIdPFromSimpleSAMLphp imports the metadata URL of a real
// SimpleSAMLphp IdP.
func TestImportIdPFromSimpleSAMLphp(t *testing.T) {
	idp := simplesamlphp.Start(t, nil)
	store := testdb.SQLite(t)
	svc := newService(t, store)
	conn, warnings, err := svc.ImportIdP(context.Background(), "cli", "acme", admin.IdPSource{URL: idp.MetadataURL})
	if err != nil {
		t.Fatal(err)
	}
	if conn.EntityID != idp.EntityID {
		t.Errorf("entity ID %q, want %q", conn.EntityID, idp.EntityID)
	}
	if len(conn.SigningCerts) == 0 || strings.TrimSpace(conn.SigningCerts[0]) != strings.TrimSpace(idp.CertPEM) {
		t.Errorf("signing certificates %q, want the IdP's", conn.SigningCerts)
	}
	d := admin.DescribeIdP(conn)
	if len(d.SSO) == 0 {
		t.Errorf("no SSO endpoint read: %+v", d)
	}
	t.Logf("warnings: %q; SSO %v", warnings, d.SSO)
}

// TestImportIdPFromSignedFederation imports one IdP out of a signed
// aggregate of 2,000, verifying the federation's signature (the whole
// document is parsed and digested then).
func TestImportIdPFromSignedFederation(t *testing.T) {
	a, _, signer := testIdPs(t)
	const n = 2000
	members := make([]string, n)
	for i := range members {
		idp := *a
		if i != n/3 {
			idp.EntityID = fmt.Sprintf("https://idp%04d.federation.test/saml", i)
		}
		members[i] = idp.AggregateMember(testidp.MetadataOptions{})
	}
	fed, err := testidp.SignedAggregate("https://federation.test", members, signer.Key, signer.Cert)
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc := newService(t, store)
		start := time.Now()
		conn, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: fed, EntityID: a.EntityID, PinnedCertsPEM: signer.CertPEM()})
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("verified import of one IdP out of %d (%d KiB) took %s", n, len(fed)>>10, took)
		if took > 5*time.Second {
			t.Errorf("import took %s", took)
		}
		if len(conn.MetadataSigners) != 1 || len(conn.MetadataXML) > 8<<10 {
			t.Errorf("connection: %d signers, %d bytes of metadata", len(conn.MetadataSigners), len(conn.MetadataXML))
		}
		// A tampered federation file is refused.
		tampered := []byte(strings.Replace(string(fed), "idp0001.federation.test", "evil0001.federation.test", 1))
		_, _, err = svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: tampered, EntityID: a.EntityID, PinnedCertsPEM: signer.CertPEM()})
		if err == nil || !strings.Contains(lanyard.ErrorMessage(err), "pinned certificate") {
			t.Errorf("tampered federation: %v", err)
		}
	})
}
