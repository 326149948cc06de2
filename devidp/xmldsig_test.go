package devidp_test

import (
	"crypto/x509"
	"strings"
	"testing"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// An independent XML-DSig implementation (goxmldsig, with its own
// exclusive C14N over etree) must accept what the IdP signs, and agree
// with Lanyard's validator: values with characters that canonicalisation
// escapes or normalises are the interesting part.
func TestSignaturesVerifyWithGoxmldsig(t *testing.T) {
	tricky := devidp.User{Username: "carol", Password: "pw", Attributes: map[string][]string{
		"mail":        {"carol+test@example.com"},
		"displayName": {`Carol "C" <O'Hara> & Sons`},
		"note":        {"tab\there, CR\rhere, LF\nhere", "  spaces  ", "ünïcödé ✓ 𝄞", "]]> >"},
		"groups":      {"a&b", "<admins>"},
	}}
	f := newFixture(t, func(c *devidp.Config, _ *saml.ServiceProvider) {
		c.SignResponse = true
		c.Users = []devidp.User{tricky}
	})
	in := f.response(f.login(f.startSSO(saml.AuthnRequestOptions{RelayState: "x"}), "carol", "pw"))
	a, err := f.validate(in)
	if err != nil {
		t.Fatalf("Lanyard refuses the response: %v", err)
	}
	for name, want := range tricky.Attributes {
		if got := a.Attribute(name); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("attribute %s = %q, want %q", name, got, want)
		}
	}

	doc := etree.NewDocument()
	if err := doc.ReadFromString(decoded(t, in.SAMLResponse)); err != nil {
		t.Fatal(err)
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{f.idp.Certificate()}})
	response := doc.Root()
	if _, err := ctx.Validate(response); err != nil {
		t.Errorf("goxmldsig refuses the Response signature: %v", err)
	}
	assertion := response.FindElement("./Assertion")
	if assertion == nil {
		t.Fatal("no Assertion")
	}
	if _, err := ctx.Validate(assertion); err != nil {
		t.Errorf("goxmldsig refuses the Assertion signature: %v", err)
	}

	// And a changed value breaks the signature for both.
	tampered := strings.Replace(decoded(t, in.SAMLResponse), "carol+test@example.com", "carol@example.com", 1)
	doc = etree.NewDocument()
	if err := doc.ReadFromString(tampered); err != nil {
		t.Fatal(err)
	}
	if _, err := ctx.Validate(doc.Root().FindElement("./Assertion")); err == nil {
		t.Error("goxmldsig accepts a tampered assertion")
	}
}

func TestEncryptedAssertion(t *testing.T) {
	f := newFixture(t, func(c *devidp.Config, _ *saml.ServiceProvider) { c.EncryptAssertions = true })
	in := f.response(f.login(f.startSSO(saml.AuthnRequestOptions{}), "alice", devidp.DemoPassword))
	if xml := decoded(t, in.SAMLResponse); !strings.Contains(xml, "EncryptedAssertion") || strings.Contains(xml, "alice@example.com") {
		t.Fatalf("the assertion is not encrypted:\n%s", xml)
	}
	a, err := f.validate(in)
	if err != nil {
		t.Fatalf("Lanyard refuses the encrypted response: %v", err)
	}
	if !a.Encrypted || a.Attribute("mail")[0] != "alice@example.com" {
		t.Errorf("assertion %+v", a)
	}
}

func TestNameIDFormats(t *testing.T) {
	f := newFixture(t, nil)
	f.signIn()
	for _, c := range []struct{ format, want string }{
		{saml.NameIDFormatEmailAddress, "alice@example.com"},
		{saml.NameIDFormatPersistent, "alice"},
		{saml.NameIDFormatUnspecified, "alice"},
	} {
		a, err := f.validate(f.response(f.startSSO(saml.AuthnRequestOptions{NameIDFormat: c.format})))
		if err != nil {
			t.Fatalf("%s: %v", c.format, err)
		}
		if a.NameID.Value != c.want {
			t.Errorf("%s: NameID %q, want %q", c.format, a.NameID.Value, c.want)
		}
	}
	t1, err := f.validate(f.response(f.startSSO(saml.AuthnRequestOptions{NameIDFormat: saml.NameIDFormatTransient})))
	if err != nil {
		t.Fatal(err)
	}
	if t1.NameID.Format != saml.NameIDFormatTransient || t1.NameID.Value == "alice" {
		t.Errorf("transient NameID %+v", t1.NameID)
	}
	_, err = f.validate(f.response(f.startSSO(saml.AuthnRequestOptions{NameIDFormat: "urn:example:unknown"})))
	if saml.ReasonOf(err) != saml.ReasonStatusNotSuccess || !strings.Contains(err.Error(), "InvalidNameIDPolicy") {
		t.Errorf("an unknown format: %v", err)
	}
}
