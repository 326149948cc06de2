package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testidp"
)

// TestIdPImportLegacyEncryption: --legacy-encryption is stored, warned
// about on import and by idp list; a re-import without it turns it off.
func TestIdPImportLegacyEncryption(t *testing.T) {
	idp, err := testidp.New("https://legacy.test/saml", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(file, md, 0o600); err != nil {
		t.Fatal(err)
	}
	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme")
	r := mustCLI(t, env, "", "idp", "import", "--tenant", "acme", "--metadata", file, "--legacy-encryption")
	for _, want := range []string{"warning: " + admin.LegacyEncryptionWarning, "Legacy encryption:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, r.stdout)
		}
	}
	if r := mustCLI(t, env, "", "idp", "list", "--tenant", "acme"); !strings.Contains(r.stdout, "warning: IdP https://legacy.test/saml: "+admin.LegacyEncryptionWarning) {
		t.Errorf("list:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "idp", "import", "--tenant", "acme", "--metadata", file)
	if strings.Contains(r.stdout, "Legacy encryption") || strings.Contains(r.stdout, "warning:") {
		t.Errorf("re-import without the flag:\n%s", r.stdout)
	}
	if r := mustCLI(t, env, "", "idp", "list", "--tenant", "acme"); strings.Contains(r.stdout, "warning:") {
		t.Errorf("list after turning it off:\n%s", r.stdout)
	}
}
