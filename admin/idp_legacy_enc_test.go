package admin_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
)

// TestImportIdPLegacyEncryption: the opt-in is stored, warned about on
// import, and its change is audited; off by default, without a warning.
func TestImportIdPLegacyEncryption(t *testing.T) {
	a, _, _ := testIdPs(t)
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		svc := newService(t, store)
		md := metadata(t, a, testidp.MetadataOptions{})
		conn, warnings, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: md})
		if err != nil || conn.LegacyEncryption || len(warnings) != 0 {
			t.Fatalf("default import: %+v %q %v", conn.LegacyEncryption, warnings, err)
		}
		conn, warnings, err = svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: md, LegacyEncryption: true})
		if err != nil || !conn.LegacyEncryption || !slices.Contains(warnings, admin.LegacyEncryptionWarning) {
			t.Fatalf("legacy import: %+v %q %v", conn.LegacyEncryption, warnings, err)
		}
		list, err := svc.IdPs(ctx, "acme")
		if err != nil || len(list) != 1 || !list[0].LegacyEncryption {
			t.Fatalf("stored: %+v %v", list, err)
		}
		if ev := auditOf(t, store, "idp.import"); !strings.Contains(ev[0].Message, "legacy encryption false → true") {
			t.Errorf("audit %q", ev[0].Message)
		}
		for _, want := range []string{"3DES-CBC", "rsa-1_5"} {
			if !strings.Contains(admin.LegacyEncryptionWarning, want) {
				t.Errorf("the warning does not name %s", want)
			}
		}
	})
}
