package admin_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// TestImportIdPKeepsArtifactResolution: an IdP's ArtifactResolutionService
// endpoints, with their indexes, survive the import, from a single
// EntityDescriptor and from a federation file (where only the chosen IdP is
// stored, rebuilt), on both engines; DescribeIdP lists them.
func TestImportIdPKeepsArtifactResolution(t *testing.T) {
	a, _, _ := testIdPs(t)
	ars := `<md:ArtifactResolutionService Binding="` + saml.BindingSOAP + `" Location="https://idp.example.com/ars" index="0"/>` +
		`<md:ArtifactResolutionService Binding="` + saml.BindingSOAP + `" Location="https://idp.example.com/ars2" index="3" isDefault="true"/>`
	withARS := func(ed string) string {
		i := strings.Index(ed, "<md:SingleSignOnService")
		if i < 0 {
			t.Fatalf("no SingleSignOnService in %s", ed)
		}
		return ed[:i] + ars + ed[i:]
	}
	single, err := a.EntityDescriptor(testidp.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	other := *a
	other.EntityID, other.SSOURL = "https://other.federation.test/saml", "https://other.federation.test/sso"
	otherED, _ := other.EntityDescriptor(testidp.MetadataOptions{})
	sources := map[string]admin.IdPSource{
		"entity descriptor": {Metadata: []byte(withARS(single))},
		"federation":        {Metadata: testidp.Aggregate("https://federation.test", []string{otherED, withARS(single)}), EntityID: a.EntityID},
	}
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		svc := newService(t, store)
		for name, src := range sources {
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				conn, _, err := svc.ImportIdP(ctx, "cli", "acme", src)
				if err != nil {
					t.Fatal(err)
				}
				stored, err := store.IdPs(ctx, conn.TenantID)
				if err != nil || len(stored) != 1 {
					t.Fatalf("%d connections stored: %v", len(stored), err)
				}
				d := admin.DescribeIdP(stored[0])
				got := d.ArtifactResolution
				if d.Problem != "" || len(got) != 2 || got[0].Index != 0 || got[0].Location != "https://idp.example.com/ars" ||
					got[1].Index != 3 || !got[1].IsDefault || got[1].Binding != saml.BindingSOAP {
					t.Fatalf("stored metadata reads back ArtifactResolution %+v (%s)", got, d.Problem)
				}
			})
		}
	})
}
