package bench

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"

	"github.com/lanyard-sso/lanyard/saml"
)

// Cross-checks of Lanyard's XML-DSig against goxmldsig, an independent
// implementation, in both directions.

// TestLanyardVerifiesGoxmldsig: responses signed by goxmldsig are accepted
// by Lanyard, with exclusive and inclusive C14N 1.0, the assertion signed in
// the context of the Response (as IdPs do: inclusive C14N depends on the
// ancestors' namespaces), and the Response signed too. goxmldsig's
// PrefixList and C14N 1.1 signing are left out: goxmldsig does not verify
// its own signatures in those modes (nor do crewjam and gosaml2).
func TestLanyardVerifiesGoxmldsig(t *testing.T) {
	kk := testKeys()
	for name, c14n := range map[string]dsig.Canonicalizer{
		"exc-c14n": dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(""),
		"c14n 1.0": dsig.MakeC14N10RecCanonicalizer(),
	} {
		t.Run(name, func(t *testing.T) {
			ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{kk.idpCert.Raw}, PrivateKey: kk.idpKey}))
			ctx.Canonicalizer = c14n
			for _, both := range []bool{false, true} {
				d := parse(t, responseXML(assertionXML(3)))
				as := d.Root().SelectElement("Assertion")
				signed, err := ctx.SignEnveloped(as)
				if err != nil {
					t.Fatal(err)
				}
				d.Root().RemoveChildAt(as.Index())
				d.Root().AddChild(signed)
				root := d.Root()
				if both {
					if root, err = ctx.SignEnveloped(root); err != nil {
						t.Fatal(err)
					}
				}
				doc := serialize(t, root)
				for _, v := range []validator{lanyard(t), crewjamSP(t), gosaml2SP(t)} {
					if err := v.validate(base64.StdEncoding.EncodeToString([]byte(doc))); err != nil {
						t.Errorf("%s refuses (both=%v): %v", v.name, both, err)
					}
				}
			}
		})
	}
}

func goxmldsigVerify(t *testing.T, xml []byte, cert *x509.Certificate) {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromBytes(xml); err != nil {
		t.Fatal(err)
	}
	vc := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	vc.Clock = dsig.NewFakeClockAt(now)
	if _, err := vc.Validate(d.Root()); err != nil {
		t.Fatalf("goxmldsig refuses Lanyard's signature: %v\n%s", err, xml)
	}
}

// TestGoxmldsigVerifiesLanyard: Lanyard's signed metadata, AuthnRequest
// (HTTP-POST) and LogoutRequest (HTTP-POST) verify with goxmldsig.
func TestGoxmldsigVerifiesLanyard(t *testing.T) {
	kk := testKeys()
	idp, err := saml.ParseIdPMetadata([]byte(idpMetadata()), saml.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	idp.SLO = []saml.Endpoint{{Binding: saml.BindingHTTPPOST, Location: "https://idp.example.com/slo"}}
	sp := &saml.ServiceProvider{
		EntityID:      spEntity,
		ACSURL:        acsURL,
		SLOURL:        "https://sp.example.com/t/acme/saml/slo",
		SigningKeys:   []saml.KeyPair{{Signer: kk.spKey, Certificate: kk.spCert}},
		NameIDFormats: []string{"urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"},
		Requests:      saml.NewMemoryRequestStore(),
		Now:           func() time.Time { return now },
	}
	md, err := sp.Metadata(saml.SPMetadataOptions{Sign: true, CacheDuration: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	goxmldsigVerify(t, md, kk.spCert)

	m, err := sp.MakeAuthnRequest(context.Background(), idp, saml.AuthnRequestOptions{Binding: saml.BindingHTTPPOST, IsPassive: true})
	if err != nil {
		t.Fatal(err)
	}
	goxmldsigVerify(t, m.XML, kk.spCert)

	m, err = sp.MakeLogoutRequest(context.Background(), idp, saml.LogoutRequestOptions{Binding: saml.BindingHTTPPOST, NameID: saml.NameID{Value: "alice@example.com"}, SessionIndex: "_s1"})
	if err != nil {
		t.Fatal(err)
	}
	goxmldsigVerify(t, m.XML, kk.spCert)
}

// TestPrettyPrinted: an indented document signed by goxmldsig is accepted
// by all three implementations (whitespace text nodes are part of what is
// signed); then transformations that leave the XML information set (hence
// the canonical form) unchanged keep it acceptable for Lanyard: CRLF line
// ends, a character reference, a comment, a CDATA section.
func TestPrettyPrinted(t *testing.T) {
	kk := testKeys()
	d := parse(t, responseXML(assertionXML(3)))
	d.Indent(4)
	s, err := d.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	d = parse(t, s)
	as := d.Root().SelectElement("Assertion")
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{kk.idpCert.Raw}, PrivateKey: kk.idpKey}))
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(as)
	if err != nil {
		t.Fatal(err)
	}
	idx := as.Index()
	d.Root().RemoveChildAt(idx)
	d.Root().InsertChildAt(idx, signed)
	doc, err := d.WriteToString()
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []validator{lanyard(t), crewjamSP(t), gosaml2SP(t)} {
		if err := v.validate(base64.StdEncoding.EncodeToString([]byte(doc))); err != nil {
			t.Errorf("%s refuses the indented document: %v", v.name, err)
		}
	}
	same := strings.ReplaceAll(doc, "\n", "\r\n")
	same = strings.Replace(same, "alice.anderson@example.com</saml2:NameID>", "alice.<!-- x -->anderson&#x40;example.com</saml2:NameID>", 1)
	same = strings.Replace(same, ">Alice<", "><![CDATA[Alice]]><", 1)
	if err := lanyard(t).validate(base64.StdEncoding.EncodeToString([]byte(same))); err != nil {
		t.Errorf("lanyard refuses the equivalent document: %v", err)
	}
}
