package saml

import (
	"strings"
	"testing"
)

// The IdP's name for people comes from mdui:DisplayName, else the
// organisation's display name; spaces are collapsed and the length bounded.
func TestIdPDisplayName(t *testing.T) {
	testKeys(t)
	const mdui = `<md:Extensions><mdui:UIInfo xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui">%s</mdui:UIInfo></md:Extensions>`
	long := strings.Repeat("Ä", 300)
	for _, c := range []struct {
		name, extensions, organization, want string
	}{
		{"none", "", "", ""},
		{"mdui", `<mdui:DisplayName xml:lang="en">Acme Staff</mdui:DisplayName>`, "", "Acme Staff"},
		{"mdui first of several", `<mdui:DisplayName xml:lang="en">Acme</mdui:DisplayName><mdui:DisplayName xml:lang="de">Acme DE</mdui:DisplayName>`, "", "Acme"},
		{"mdui before organisation", `<mdui:DisplayName>Acme Staff</mdui:DisplayName>`, "Acme Inc.", "Acme Staff"},
		{"organisation", "", "Acme Inc.", "Acme Inc."},
		{"empty mdui, organisation", `<mdui:DisplayName>  </mdui:DisplayName>`, "Acme Inc.", "Acme Inc."},
		{"spaces collapsed", `<mdui:DisplayName>
			Acme   Staff
		</mdui:DisplayName>`, "", "Acme Staff"},
		{"long", `<mdui:DisplayName>` + long + `</mdui:DisplayName>`, "", strings.Repeat("Ä", maxDisplayNameRunes) + "…"},
	} {
		ed := strings.Replace(idpDescriptor(testIdPEntity, idpCert), `<md:EntityDescriptor `, `<md:EntityDescriptor `+mdNS+` `, 1)
		if c.extensions != "" {
			ed = strings.Replace(ed, `protocol">`, `protocol">`+strings.Replace(mdui, "%s", c.extensions, 1), 1)
		}
		if c.organization != "" {
			ed = strings.Replace(ed, `</md:IDPSSODescriptor>`, `</md:IDPSSODescriptor><md:Organization><md:OrganizationName xml:lang="en">acme</md:OrganizationName><md:OrganizationDisplayName xml:lang="en">`+c.organization+`</md:OrganizationDisplayName><md:OrganizationURL xml:lang="en">https://acme.example</md:OrganizationURL></md:Organization>`, 1)
		}
		idp, err := ParseIdPMetadata([]byte(ed), MetadataOptions{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if idp.DisplayName != c.want {
			t.Errorf("%s: display name %q, want %q", c.name, idp.DisplayName, c.want)
		}
	}
}
