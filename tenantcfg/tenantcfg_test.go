package tenantcfg

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/spkeys"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

var base = &url.URL{Scheme: "https", Host: "sso.example.com"}

// idpMetadata is a minimal IdP EntityDescriptor trusting certPEM.
func idpMetadata(entityID, certPEM string) string {
	block, _ := pem.Decode([]byte(certPEM))
	b64 := strings.TrimSpace(strings.NewReplacer("-----BEGIN CERTIFICATE-----", "", "-----END CERTIFICATE-----", "", "\n", "").Replace(string(pem.EncodeToMemory(block))))
	return fmt.Sprintf(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.org/sso"/>
</md:IDPSSODescriptor>
</md:EntityDescriptor>`, entityID, b64)
}

// setup makes a tenant with a signing and an encryption key and one IdP.
func setup(t *testing.T, store lanyard.Store, slug string) lanyard.Tenant {
	t.Helper()
	ctx := context.Background()
	tenant := lanyard.Tenant{Slug: slug, SSO: lanyard.SSOSettings{Enabled: true}}
	if err := store.CreateTenant(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	for _, use := range []lanyard.KeyUse{lanyard.KeySigning, lanyard.KeyEncryption} {
		k, err := spkeys.Generate(slug, use, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		k.TenantID = tenant.ID
		if err := store.AddSPKey(ctx, &k); err != nil {
			t.Fatal(err)
		}
	}
	idpKey, err := spkeys.Generate("idp", lanyard.KeySigning, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c := lanyard.IdPConnection{TenantID: tenant.ID, EntityID: "https://idp.example.org", MetadataXML: idpMetadata("https://idp.example.org", idpKey.CertificatePEM)}
	if err := store.PutIdP(ctx, &c); err != nil {
		t.Fatal(err)
	}
	return tenant
}

func TestSnapshotBuiltOncePerConfigVersion(t *testing.T) {
	ctx := context.Background()
	store := testdb.SQLite(t)
	tenant := setup(t, store, "acme")
	reg := New(store, Options{BaseURL: base, CheckInterval: time.Hour})

	s1, err := reg.Snapshot(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s1.SP.EntityID != "https://sso.example.com/t/acme/saml/metadata" || s1.SP.ACSURL != "https://sso.example.com/t/acme/saml/acs" || s1.SP.SLOURL != "https://sso.example.com/t/acme/saml/slo" {
		t.Errorf("endpoints: %s %s %s", s1.SP.EntityID, s1.SP.ACSURL, s1.SP.SLOURL)
	}
	if len(s1.SP.SigningKeys) != 1 || len(s1.SP.EncryptionKeys) != 1 || len(s1.IdPs) != 1 || len(s1.Problems) != 0 {
		t.Errorf("keys %d/%d, IdPs %d, problems %v", len(s1.SP.SigningKeys), len(s1.SP.EncryptionKeys), len(s1.IdPs), s1.Problems)
	}
	if s1.SP.ClockSkew != lanyard.DefaultClockSkew || s1.SP.AllowUnsolicited {
		t.Errorf("skew %s, unsolicited %t", s1.SP.ClockSkew, s1.SP.AllowUnsolicited)
	}
	if !strings.Contains(string(s1.Metadata), `entityID="https://sso.example.com/t/acme/saml/metadata"`) {
		t.Errorf("metadata: %s", s1.Metadata)
	}
	s2, _ := reg.Snapshot(ctx, "acme")
	if s1 != s2 {
		t.Error("a second lookup rebuilt the snapshot without a configuration change")
	}

	// A change through the store (as the CLI makes it) is picked up at the
	// next check.
	if _, err := store.UpdateTenant(ctx, tenant.ID, func(t *lanyard.Tenant) error {
		t.SSO.IdPInitiated = true
		t.SSO.EntityIDScheme, t.SSO.EntitySubdomain = lanyard.EntityIDSubdomain, "dev"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if s3, _ := reg.Snapshot(ctx, "acme"); s3 != s1 {
		t.Error("rebuilt before the check interval")
	}
	reg.checkMu.Lock()
	reg.checkedAt = time.Now().Add(-2 * time.Hour) // the interval has passed
	reg.checkMu.Unlock()
	s4, err := reg.Snapshot(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s4 == s1 || !s4.SP.AllowUnsolicited || s4.SP.EntityID != "https://dev.sso.example.com/sp" || s4.Version <= s1.Version {
		t.Errorf("after the change: unsolicited %t, entity ID %s, version %d → %d", s4.SP.AllowUnsolicited, s4.SP.EntityID, s1.Version, s4.Version)
	}
}

func TestSnapshotUnknownTenantAndBadIdP(t *testing.T) {
	ctx := context.Background()
	store := testdb.SQLite(t)
	tenant := setup(t, store, "acme")
	reg := New(store, Options{BaseURL: base, CheckInterval: -1})
	if _, err := reg.Snapshot(ctx, "nosuch"); !errors.Is(err, lanyard.ErrNotFound) {
		t.Errorf("unknown tenant: %v, want ErrNotFound", err)
	}
	if len(reg.entries) != 0 {
		t.Errorf("a failed build was kept: %v", reg.entries)
	}
	bad := lanyard.IdPConnection{TenantID: tenant.ID, EntityID: "https://broken.example.org", MetadataXML: "<nope"}
	if err := store.PutIdP(ctx, &bad); err != nil {
		t.Fatal(err)
	}
	s, err := reg.Snapshot(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.IdPs) != 1 || len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "broken.example.org") {
		t.Errorf("IdPs %d, problems %v: the broken IdP must be left out and reported", len(s.IdPs), s.Problems)
	}
	// One usable IdP: it validates every response (and refuses junk).
	if idp, err := s.IdPForResponse("anything"); err != nil || idp.EntityID != "https://idp.example.org" {
		t.Errorf("IdPForResponse: %v, %v", idp, err)
	}
}

func TestRequestStoreKeepsBindingHashed(t *testing.T) {
	ctx := context.Background()
	store := testdb.SQLite(t)
	a, b := setup(t, store, "a"), setup(t, store, "b")
	now := time.Now
	ra := &requestStore{store: store, tenantID: a.ID, now: now}
	rb := &requestStore{store: store, tenantID: b.ID, now: now}
	binding := BrowserBinding("cookie-secret")
	if err := ra.Save(ctx, saml.PendingRequest{ID: "id1", ReturnTo: "/x?y=1", BrowserBinding: binding, IdPEntityID: "idp", Expires: now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := ra.Save(ctx, saml.PendingRequest{ID: "id2", BrowserBinding: "cookie-secret", Expires: now().Add(time.Minute)}); err == nil {
		t.Error("a raw cookie value was accepted as a binding; only its hash may be stored")
	}
	if _, err := rb.Take(ctx, "id1"); !errors.Is(err, saml.ErrRequestNotFound) {
		t.Errorf("another tenant took the request: %v", err)
	}
	if err := ra.Save(ctx, saml.PendingRequest{ID: "id3", ReturnTo: "/x?y=1", BrowserBinding: binding, IdPEntityID: "idp", Expires: now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got, err := ra.Take(ctx, "id3")
	if err != nil || got.BrowserBinding != binding || got.ReturnTo != "/x?y=1" || got.IdPEntityID != "idp" {
		t.Errorf("took %+v, %v", got, err)
	}
	if _, err := ra.Take(ctx, "id3"); !errors.Is(err, saml.ErrRequestNotFound) {
		t.Errorf("second take: %v, want ErrRequestNotFound", err)
	}

	rc := &replayCache{store: store, now: now}
	for i, want := range []bool{true, false} {
		if first, err := rc.MarkUsed(ctx, "assertion-1", now().Add(time.Minute)); err != nil || first != want {
			t.Errorf("mark %d: first=%t, %v; want %t", i, first, err, want)
		}
	}
}

// TestChangeFromAnotherProcessAppliesWithinASecond: two "nodes" (two store
// connections to one database, as two servers or the CLI and a server
// have) — a change written through one is seen by the other's Registry
// within the default check interval, without a restart.
func TestChangeFromAnotherProcessAppliesWithinASecond(t *testing.T) {
	open := map[string]func(t *testing.T) (node, cli lanyard.Store){
		"sqlite": func(t *testing.T) (lanyard.Store, lanyard.Store) {
			path := filepath.Join(t.TempDir(), "lanyard.db")
			return openTwice(t, func(ctx context.Context) (*sqlstore.DB, error) { return sqlite.Open(ctx, path) })
		},
		"postgres": func(t *testing.T) (lanyard.Store, lanyard.Store) {
			u := testdb.PostgresURL(t)
			return openTwice(t, func(ctx context.Context) (*sqlstore.DB, error) { return postgres.Open(ctx, u) })
		},
	}
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			node, cli := open[engine](t)
			tenant := setup(t, cli, "acme")
			reg := New(node, Options{BaseURL: base})
			before, err := reg.Snapshot(ctx, "acme")
			if err != nil {
				t.Fatal(err)
			}
			if before.Tenant.SSO.JIT {
				t.Fatal("jit already on")
			}
			if _, err := cli.UpdateTenant(ctx, tenant.ID, func(t *lanyard.Tenant) error { t.SSO.JIT = true; return nil }); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(DefaultCheckInterval + 500*time.Millisecond)
			for {
				s, err := reg.Snapshot(ctx, "acme")
				if err != nil {
					t.Fatal(err)
				}
				if s.Tenant.SSO.JIT {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("the change was not seen within %s", DefaultCheckInterval+500*time.Millisecond)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// openTwice opens two stores on one database and migrates it once.
func openTwice(t *testing.T, open func(context.Context) (*sqlstore.DB, error)) (lanyard.Store, lanyard.Store) {
	t.Helper()
	ctx := context.Background()
	var dbs [2]*sqlstore.DB
	for i := range dbs {
		db, err := open(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	if err := dbs[0].Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return dbs[0], dbs[1]
}

// TestClockSkewAndLifetime: a tenant's explicit zero skew reaches saml as
// "none" (negative), unset as the default; the message lifetime follows.
func TestClockSkewAndLifetime(t *testing.T) {
	ctx := context.Background()
	store := testdb.SQLite(t)
	tenant := setup(t, store, "acme")
	reg := New(store, Options{BaseURL: base, CheckInterval: time.Hour})
	s, err := reg.Snapshot(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s.SP.ClockSkew != lanyard.DefaultClockSkew || s.SP.MessageLifetime != lanyard.DefaultMessageLifetime {
		t.Errorf("defaults: skew %s, lifetime %s", s.SP.ClockSkew, s.SP.MessageLifetime)
	}
	if _, err := store.UpdateTenant(ctx, tenant.ID, func(t *lanyard.Tenant) error {
		t.SSO.ClockSkew = lanyard.DurationOf(0)
		t.SSO.MessageLifetime = lanyard.Duration(5 * time.Minute)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	reg = New(store, Options{BaseURL: base, CheckInterval: time.Hour})
	if s, err = reg.Snapshot(ctx, "acme"); err != nil {
		t.Fatal(err)
	}
	if s.SP.ClockSkew >= 0 || s.SP.MessageLifetime != 5*time.Minute {
		t.Errorf("explicit: skew %s, lifetime %s", s.SP.ClockSkew, s.SP.MessageLifetime)
	}
}
