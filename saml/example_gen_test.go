package saml

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWriteExample regenerates testdata/example (run with
// LANYARD_WRITE_EXAMPLE=1): IdP metadata with a fresh test key, and an
// IdP-initiated response signed by it, issued at 2026-03-01T12:00:00Z.
func TestWriteExample(t *testing.T) {
	if os.Getenv("LANYARD_WRITE_EXAMPLE") == "" {
		t.Skip("set LANYARD_WRITE_EXAMPLE=1 to regenerate testdata/example")
	}
	testKeys(t)
	dir := filepath.Join("testdata", "example")
	os.MkdirAll(dir, 0o755)
	md := `<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/saml">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(idpCert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/slo"/>
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
`
	f := defaultFixture("ssp")
	f.inResponseTo = "-"
	f.issueInstant = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	f.notBefore = f.issueInstant.Add(-30 * time.Second)
	f.notOnOrAfter = f.issueInstant.Add(5 * time.Minute)
	f.scdNotAfter = f.notOnOrAfter
	f.attrs = 0
	f.extra = ""
	doc := f.responseXML(f.assertionXML())
	doc = strings.Replace(doc, "</saml:AuthnStatement>", `</saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="groups"><saml:AttributeValue xsi:type="xs:string">engineering</saml:AttributeValue><saml:AttributeValue xsi:type="xs:string">admins</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>`, 1)
	doc = stripMarkers(signXML(t, doc, f.asID, sigOpts{}))
	if err := os.WriteFile(filepath.Join(dir, "idp-metadata.xml"), []byte(md), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "response.b64"), []byte(base64.StdEncoding.EncodeToString([]byte(doc))), 0o644); err != nil {
		t.Fatal(err)
	}
}
