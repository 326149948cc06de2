package web

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testidp"
)

// TestAdminIdPLegacyEncryption: the import form's legacy encryption
// setting is stored, and the import notice and the tenant page warn
// while it is on.
func TestAdminIdPLegacyEncryption(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", "correct horse battery", lanyard.RoleOperator)
	c := e.client()
	e.mustLogin(c, "root", "correct horse battery")
	csrf := e.csrfToken(e.get(c, "/admin/tenants/default"))
	idp, err := testidp.New("https://legacy-idp.test", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	warning := html.EscapeString(admin.LegacyEncryptionWarning)
	r := e.postMultipart(c, "/admin/tenants/default/idps", map[string]string{csrfField: csrf, "metadata_xml": string(md), "legacy_encryption": "true"}, "", "", "")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("import: %d\n%s", r.StatusCode, r.body)
	}
	if page := e.get(c, r.Header.Get("Location")); !strings.Contains(page.body, warning) {
		t.Errorf("the page after the import lacks the warning:\n%s", page.body)
	}
	conn, err := e.store.IdP(t.Context(), e.tenant.ID, idp.EntityID)
	if err != nil || !conn.LegacyEncryption {
		t.Fatalf("stored %+v, %v", conn.LegacyEncryption, err)
	}
	// The tenant page's list warns for that IdP, until it is imported again
	// without the setting.
	if page := e.get(c, "/admin/tenants/default"); strings.Count(page.body, warning) != 1 {
		t.Errorf("the tenant page does not warn once:\n%s", page.body)
	}
	r = e.postMultipart(c, "/admin/tenants/default/idps", map[string]string{csrfField: csrf, "metadata_xml": string(md)}, "", "", "")
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("re-import: %d\n%s", r.StatusCode, r.body)
	}
	if page := e.get(c, "/admin/tenants/default"); strings.Contains(page.body, warning) {
		t.Errorf("the tenant page warns after legacy encryption was turned off")
	}
}
