package saml

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

func TestSPMetadata(t *testing.T) {
	testKeys(t)
	sp := &ServiceProvider{
		EntityID:       testSPEntity,
		ACSURL:         testACS,
		SLOURL:         "https://sp.example.com/t/acme/saml/slo",
		SigningKeys:    []KeyPair{{Signer: spKey, Certificate: spCert}, {Signer: idpKey2, Certificate: idpCert2}},
		EncryptionKeys: []KeyPair{{Signer: spKey, Certificate: spCert}},
		NameIDFormats:  []string{NameIDFormatEmailAddress, NameIDFormatPersistent},
	}
	md, err := sp.Metadata(SPMetadataOptions{Sign: true, ValidUntil: testNow.Add(48 * time.Hour), CacheDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := parseXML(md, xmldsig.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	root := doc.Root()
	if !root.Is(nsMD, "EntityDescriptor") || root.AttrValue("entityID") != testSPEntity || root.AttrValue("cacheDuration") != "PT3600S" || root.AttrValue("validUntil") != "2026-03-03T12:00:00Z" {
		t.Errorf("root %s", md)
	}
	if sig, _ := signatureOf(root); sig == nil {
		t.Fatal("unsigned")
	}
	// Our signer's output, checked by xmlsec1, not by our verifier.
	xmlsecVerify(t, md, spCert)
	d := root.Child(nsMD, "SPSSODescriptor")
	if d.AttrValue("AuthnRequestsSigned") != "true" || d.AttrValue("WantAssertionsSigned") != "true" {
		t.Errorf("descriptor %s", md)
	}
	uses := map[string]int{}
	bindings := map[string]bool{}
	for c := d.FirstChild(); c != nil; c = c.NextSibling() {
		switch {
		case c.Is(nsMD, "KeyDescriptor"):
			uses[c.AttrValue("use")]++
		case c.Is(nsMD, "SingleLogoutService"):
			bindings[c.AttrValue("Binding")] = true
		case c.Is(nsMD, "AssertionConsumerService"):
			if c.AttrValue("Location") != testACS || c.AttrValue("Binding") != BindingHTTPPOST {
				t.Errorf("ACS %s", md)
			}
		}
	}
	if uses["signing"] != 2 || uses["encryption"] != 1 || !bindings[BindingHTTPRedirect] || !bindings[BindingHTTPPOST] {
		t.Errorf("uses %v bindings %v", uses, bindings)
	}
	if d.CountChildren(nsMD, "NameIDFormat") != 2 {
		t.Error("NameIDFormats")
	}
}

func TestDeriveEntityID(t *testing.T) {
	for _, c := range []struct {
		o    EntityIDOptions
		want string
		err  bool
	}{
		{EntityIDOptions{BaseURL: "https://sso.example.com", Tenant: "acme"}, "https://sso.example.com/t/acme/saml/metadata", false},
		{EntityIDOptions{BaseURL: "https://sso.example.com/", Tenant: "acme"}, "https://sso.example.com/t/acme/saml/metadata", false},
		{EntityIDOptions{BaseURL: "https://example.com", Subdomain: "dev"}, "https://dev.example.com/sp", false},
		{EntityIDOptions{Explicit: "urn:acme:sp", BaseURL: "https://x"}, "urn:acme:sp", false},
		{EntityIDOptions{BaseURL: "https://example.com", Subdomain: "a.b"}, "", true},
		{EntityIDOptions{BaseURL: "example.com", Tenant: "acme"}, "", true},
	} {
		got, err := DeriveEntityID(c.o)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%+v: got %q, %v", c.o, got, err)
		}
	}
}

func idpDescriptor(entityID string, certs ...*x509.Certificate) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<md:EntityDescriptor entityID="%s"><md:IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`, entityID)
	for _, c := range certs {
		fmt.Fprintf(&b, `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`, base64.StdEncoding.EncodeToString(c.Raw))
	}
	fmt.Fprintf(&b, `<md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`, base64.StdEncoding.EncodeToString(certs[0].Raw))
	fmt.Fprintf(&b, `<md:SingleLogoutService Binding="%s" Location="%s/slo" ResponseLocation="%s/slo-resp"/>`, BindingHTTPRedirect, entityID, entityID)
	fmt.Fprintf(&b, `<md:NameIDFormat>%s</md:NameIDFormat>`, NameIDFormatEmailAddress)
	fmt.Fprintf(&b, `<md:SingleSignOnService Binding="%s" Location="%s/sso"/><md:SingleSignOnService Binding="%s" Location="%s/sso-post"/>`, BindingHTTPRedirect, entityID, BindingHTTPPOST, entityID)
	b.WriteString(`</md:IDPSSODescriptor></md:EntityDescriptor>`)
	return b.String()
}

const mdNS = `xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`

func TestParseIdPMetadata(t *testing.T) {
	testKeys(t)
	ed := strings.Replace(idpDescriptor(testIdPEntity, idpCert, idpCert2), `<md:EntityDescriptor `, `<md:EntityDescriptor `+mdNS+` validUntil="2027-01-01T00:00:00Z" cacheDuration="P1DT2H" `, 1)
	idp, err := ParseIdPMetadata([]byte(ed), MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if idp.EntityID != testIdPEntity || len(idp.SigningCertificates) != 2 || len(idp.EncryptionCertificates) != 1 || !idp.WantAuthnRequestsSigned {
		t.Errorf("%+v", idp)
	}
	if len(idp.SSO) != 2 || idp.SSO[1].Binding != BindingHTTPPOST || idp.SLO[0].ResponseLocation != testIdPEntity+"/slo-resp" {
		t.Errorf("endpoints %+v %+v", idp.SSO, idp.SLO)
	}
	if idp.CacheDuration != 26*time.Hour || idp.ValidUntil.Year() != 2027 {
		t.Errorf("validity %v %v", idp.CacheDuration, idp.ValidUntil)
	}
	// Certificates expire in 2040; a warning only shortly before.
	if len(idp.ExpiringCertificates(testNow)) != 0 || len(idp.ExpiringCertificates(time.Date(2039, 12, 15, 0, 0, 0, 0, time.UTC))) != 2 {
		t.Error("ExpiringCertificates")
	}
	// A response signed with either certificate is accepted (rollover).
	for _, k := range []sigOpts{{}, {key: idpKey2, cert: idpCert2}} {
		e := newEnv(t)
		e.idp = idp
		e.pending(t)
		f := defaultFixture("okta")
		if _, err := e.validate(stripMarkers(signXML(t, f.responseXML(f.assertionXML()), f.asID, k))); err != nil {
			t.Fatal(err)
		}
	}
	// Refusals.
	for name, doc := range map[string]string{
		"no signing cert": strings.Replace(ed, `use="signing"`, `use="other"`, -1),
		"SP metadata":     strings.Replace(strings.Replace(ed, "IDPSSODescriptor", "SPSSODescriptor", -1), "", "", 1),
		"DTD":             `<!DOCTYPE x>` + ed,
		"SAML 1.1 only":   strings.Replace(ed, `protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"`, `protocolSupportEnumeration="urn:oasis:names:tc:SAML:1.1:protocol"`, 1),
	} {
		if _, err := ParseIdPMetadata([]byte(doc), MetadataOptions{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := ParseIdPMetadata([]byte(ed), MetadataOptions{EntityID: "https://other"}); ReasonOf(err) != ReasonIssuerMismatch {
		t.Errorf("entity ID mismatch: %v", err)
	}
}

func TestSignedIdPMetadata(t *testing.T) {
	testKeys(t)
	ed := strings.Replace(idpDescriptor(testIdPEntity, idpCert), `<md:EntityDescriptor `, `<md:EntityDescriptor `+mdNS+` ID="_md1" `, 1)
	ed = strings.Replace(ed, `<md:IDPSSODescriptor`, xmldsig.SignatureMarker+`<md:IDPSSODescriptor`, 1)
	signed := signXML(t, strings.Replace(ed, xmldsig.SignatureMarker, "<!--sig:_md1-->", 1), "_md1", sigOpts{key: evilKey, cert: evilCert})
	if _, err := ParseIdPMetadata([]byte(signed), MetadataOptions{VerifyWith: []*x509.Certificate{evilCert}}); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseIdPMetadata([]byte(signed), MetadataOptions{VerifyWith: []*x509.Certificate{idpCert}}); ReasonOf(err) != ReasonUntrustedKey {
		t.Fatalf("wrong pinned cert: %v", err)
	}
	tampered := strings.Replace(signed, "/sso-post", "/evil", 1)
	if _, err := ParseIdPMetadata([]byte(tampered), MetadataOptions{VerifyWith: []*x509.Certificate{evilCert}}); ReasonOf(err) != ReasonSignatureInvalid {
		t.Fatalf("tampered: %v", err)
	}
	unsigned := strings.Replace(ed, xmldsig.SignatureMarker, "", 1)
	if _, err := ParseIdPMetadata([]byte(unsigned), MetadataOptions{VerifyWith: []*x509.Certificate{evilCert}}); ReasonOf(err) != ReasonUnsigned {
		t.Fatalf("unsigned: %v", err)
	}
}

func federation(n int, cert *x509.Certificate) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<md:EntitiesDescriptor ` + mdNS + ` Name="urn:fed">`)
	for i := 0; i < n; i++ {
		b.WriteString(idpDescriptor(fmt.Sprintf("https://idp%05d.example.org/saml", i), cert))
		b.WriteString("\n")
	}
	b.WriteString(`</md:EntitiesDescriptor>`)
	return b.String()
}

func TestFederationMetadata(t *testing.T) {
	testKeys(t)
	fed := federation(3000, idpCert)
	for _, id := range []string{"https://idp00000.example.org/saml", "https://idp02999.example.org/saml", "https://idp01500.example.org/saml"} {
		start := time.Now()
		idp, err := ParseIdPMetadata([]byte(fed), MetadataOptions{EntityID: id})
		if err != nil {
			t.Fatal(err)
		}
		if idp.EntityID != id || len(idp.SSO) != 2 {
			t.Errorf("%+v", idp)
		}
		t.Logf("%d MB, picked %s in %v", len(fed)>>20, id, time.Since(start))
	}
	if _, err := ParseIdPMetadata([]byte(fed), MetadataOptions{EntityID: "https://nope"}); err == nil {
		t.Error("unknown entity accepted")
	}
	if _, err := ParseIdPMetadata([]byte(fed), MetadataOptions{}); err == nil {
		t.Error("ambiguous pick accepted")
	}
}

func BenchmarkFederationPick(b *testing.B) {
	testKeys(b)
	fed := []byte(federation(3000, idpCert))
	b.SetBytes(int64(len(fed)))
	for b.Loop() {
		if _, err := ParseIdPMetadata(fed, MetadataOptions{EntityID: "https://idp02999.example.org/saml"}); err != nil {
			b.Fatal(err)
		}
	}
}
