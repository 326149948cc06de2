package tenantcfg

import (
	"context"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/saml"
)

// TestArtifactBindingSetting: artifact_binding makes the SP advertise the
// artifact ACS, and an IdP that cannot resolve artifacts is named as a
// problem (its logins go on through HTTP-POST).
func TestArtifactBindingSetting(t *testing.T) {
	ctx := context.Background()
	store := testdb.SQLite(t)
	tenant := setup(t, store, "acme")
	reg := New(store, Options{BaseURL: base, CheckInterval: -1})
	s, err := reg.Snapshot(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if s.SP.ArtifactACS || strings.Contains(string(s.Metadata), saml.BindingHTTPArtifact) || len(s.Problems) != 0 {
		t.Fatalf("off by default: ArtifactACS %v, problems %v", s.SP.ArtifactACS, s.Problems)
	}
	if _, err := store.UpdateTenant(ctx, tenant.ID, func(t *lanyard.Tenant) error { t.SSO.ArtifactBinding = true; return nil }); err != nil {
		t.Fatal(err)
	}
	reg.Invalidate()
	s, err = reg.Snapshot(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !s.SP.ArtifactACS || !strings.Contains(string(s.Metadata), `Binding="`+saml.BindingHTTPArtifact+`"`) {
		t.Fatalf("on: ArtifactACS %v\n%s", s.SP.ArtifactACS, s.Metadata)
	}
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0], "https://idp.example.org") || !strings.Contains(s.Problems[0], "ArtifactResolutionService") {
		t.Fatalf("problems %v, want the IdP without an ArtifactResolutionService named", s.Problems)
	}
}
