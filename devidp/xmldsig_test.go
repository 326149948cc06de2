package devidp_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// Lanyard's validator accepts what the IdP signs, and so does goxmldsig's
// validator (the IdP signs with goxmldsig: this checks it is used
// rightly), while a changed value breaks the signature: values with
// characters that canonicalisation escapes or normalises are the
// interesting part. TestSignaturesVerifyWithXmlsec1 checks the signatures
// with an implementation neither side shares.
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

// signWithGoxmldsig signs the root of doc with goxmldsig (exclusive C14N
// with the prefix list, RSA-SHA256) as the SP.
func signWithGoxmldsig(t *testing.T, doc, prefixList string) string {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		t.Fatal(err)
	}
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{spCert.Raw}, PrivateKey: spKey}))
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList)
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		t.Fatal(err)
	}
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	d.SetRoot(signed)
	s, err := d.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The IdP accepts POST requests that goxmldsig signs, as SPs built on it
// do, whatever the namespace layout; it refuses them changed, signed by
// another key, or unsigned when they must be signed.
// TestPOSTRequestSignedByXmlsec1 does the same with an implementation the
// IdP does not share.
func TestPOSTRequestSignedByGoxmldsig(t *testing.T) {
	f := newFixture(t, nil)
	now := time.Now().UTC().Format(time.RFC3339)
	layouts := map[string]string{
		"prefixes": `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:unused="urn:x" ID="_p1" Version="2.0" IssueInstant="` + now +
			`" Destination="` + f.idp.SSOURL() + `"><saml:Issuer>` + spEntityID + `</saml:Issuer>` + "\n  " + `<samlp:NameIDPolicy AllowCreate="true" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"/></samlp:AuthnRequest>`,
		"default namespace": `<AuthnRequest xmlns="urn:oasis:names:tc:SAML:2.0:protocol" ID="_p2" Version="2.0" IssueInstant="` + now +
			`" AssertionConsumerServiceURL="` + spACS + `"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` + spEntityID + `</Issuer><!-- a comment --><NameIDPolicy AllowCreate="true"/></AuthnRequest>`,
	}
	for name, doc := range layouts {
		// goxmldsig does not write an InclusiveNamespaces PrefixList into
		// the signature it makes, so only the empty list can be tested so
		// (TestPOSTRequestSignedByXmlsec1 tests one).
		for _, prefixList := range []string{""} {
			t.Run(name, func(t *testing.T) {
				signed := signWithGoxmldsig(t, doc, prefixList)
				p := f.post(f.idp.SSOURL(), url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(signed))}})
				if p.status != http.StatusOK || !strings.Contains(p.body, `<label for="username">`) {
					t.Fatalf("expected the login form, got %d:\n%s\n%s", p.status, p.body, signed)
				}
				tampered := strings.Replace(signed, `AllowCreate="true"`, `AllowCreate="false"`, 1)
				p = f.post(f.idp.SSOURL(), url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(tampered))}})
				if p.status != http.StatusBadRequest || !strings.Contains(p.body, "digest does not match") {
					t.Fatalf("a changed request must be refused, got %d:\n%s", p.status, p.body)
				}
			})
		}
	}
	// Signed by a key the SP's metadata does not have.
	d := etree.NewDocument()
	d.ReadFromString(layouts["prefixes"])
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{otherCert.Raw}, PrivateKey: otherKey}))
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	d.SetRoot(signed)
	s, _ := d.WriteToString()
	p := f.post(f.idp.SSOURL(), url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(s))}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "does not verify") {
		t.Fatalf("a foreign key must be refused, got %d:\n%s", p.status, p.body)
	}
	// Unsigned, while the SP's metadata says AuthnRequestsSigned.
	p = f.post(f.idp.SSOURL(), url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(layouts["prefixes"]))}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "without a signature") {
		t.Fatalf("an unsigned request must be refused, got %d:\n%s", p.status, p.body)
	}
}

// An SP that signs with an ECDSA key sends r||s signature values
// (XML-DSig 1.1 section 6.4.3), which the IdP verifies.
func TestPOSTRequestSignedWithECDSA(t *testing.T) {
	key, cert := ecdsaKeyPair(t, "ecdsa SP")
	f := newFixture(t, func(_ *devidp.Config, sp *saml.ServiceProvider) {
		sp.SigningKeys = []saml.KeyPair{{Signer: key, Certificate: cert}}
	})
	msg, err := f.sp.MakeAuthnRequest(context.Background(), f.trusted, saml.AuthnRequestOptions{Binding: saml.BindingHTTPPOST, BrowserBinding: binding})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(decoded(t, msg.Value), "ecdsa-sha256") {
		t.Fatalf("the SP did not sign the request with ECDSA:\n%s", decoded(t, msg.Value))
	}
	tampered := strings.Replace(decoded(t, msg.Value), `AllowCreate="true"`, `AllowCreate="false"`, 1)
	p := f.post(msg.URL, url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(tampered))}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "digest does not match") {
		t.Fatalf("a changed request must be refused, got %d:\n%s", p.status, p.body)
	}
	p = f.post(msg.URL, url.Values{"SAMLRequest": {msg.Value}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `<label for="username">`) {
		t.Fatalf("expected the login form, got %d:\n%s", p.status, p.body)
	}
	if _, err := f.validate(f.response(f.login(p, "alice", devidp.DemoPassword))); err != nil {
		t.Fatal(err)
	}
}
