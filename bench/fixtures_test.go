package bench

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Responses are signed with goxmldsig, an implementation independent of
// Lanyard's, so that accepting them also cross-checks Lanyard's
// canonicalisation and verification.

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	spEntity  = "https://sp.example.com/t/acme/saml/metadata"
	acsURL    = "https://sp.example.com/t/acme/saml/acs"
	idpEntity = "https://idp.example.com/saml"
	reqID     = "_req0123456789abcdef0123456789abcdef"
)

type keys struct {
	idpKey  *rsa.PrivateKey
	idpCert *x509.Certificate
	spKey   *rsa.PrivateKey
	spCert  *x509.Certificate
}

var (
	keysOnce sync.Once
	k        keys
)

func testKeys() keys {
	keysOnce.Do(func() {
		k.idpKey, k.idpCert = newRSA("idp.example.com")
		k.spKey, k.spCert = newRSA("sp.example.com")
	})
	return k
}

func newRSA(cn string) (*rsa.PrivateKey, *x509.Certificate) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.AddDate(-1, 0, 0),
		NotAfter:     now.AddDate(5, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return key, cert
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// assertionXML is an Okta-shaped assertion with groups values.
func assertionXML(groups int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="_a9f2c7e1b3d54f6a8e0c2b4d6f8a0c2e" IssueInstant="%s" Version="2.0">`, ts(now.Add(-2*time.Second)))
	fmt.Fprintf(&b, `<saml2:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%s</saml2:Issuer>`, idpEntity)
	fmt.Fprintf(&b, `<saml2:Subject><saml2:NameID Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress">alice.anderson@example.com</saml2:NameID><saml2:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml2:SubjectConfirmationData InResponseTo="%s" NotOnOrAfter="%s" Recipient="%s"/></saml2:SubjectConfirmation></saml2:Subject>`, reqID, ts(now.Add(5*time.Minute)), acsURL)
	fmt.Fprintf(&b, `<saml2:Conditions NotBefore="%s" NotOnOrAfter="%s"><saml2:AudienceRestriction><saml2:Audience>%s</saml2:Audience></saml2:AudienceRestriction></saml2:Conditions>`, ts(now.Add(-5*time.Minute)), ts(now.Add(5*time.Minute)), spEntity)
	fmt.Fprintf(&b, `<saml2:AuthnStatement AuthnInstant="%s" SessionIndex="_s8d7f6e5c4b3a29180706f5e4d3c2b1a0" SessionNotOnOrAfter="%s"><saml2:AuthnContext><saml2:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</saml2:AuthnContextClassRef></saml2:AuthnContext></saml2:AuthnStatement>`, ts(now.Add(-3*time.Second)), ts(now.Add(8*time.Hour)))
	b.WriteString(`<saml2:AttributeStatement>`)
	attr := func(name string, values ...string) {
		fmt.Fprintf(&b, `<saml2:Attribute Name="%s" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified">`, name)
		for _, v := range values {
			fmt.Fprintf(&b, `<saml2:AttributeValue xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">%s</saml2:AttributeValue>`, v)
		}
		b.WriteString(`</saml2:Attribute>`)
	}
	attr("email", "alice.anderson@example.com")
	attr("firstName", "Alice")
	attr("lastName", "Anderson")
	attr("login", "alice.anderson")
	g := make([]string, groups)
	for i := range g {
		g[i] = fmt.Sprintf("Engineering-Team-%03d", i)
	}
	attr("groups", g...)
	b.WriteString(`</saml2:AttributeStatement></saml2:Assertion>`)
	return b.String()
}

func responseXML(body string) string {
	return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><saml2p:Response xmlns:saml2p="urn:oasis:names:tc:SAML:2.0:protocol" Destination="%s" ID="_r1e2d3c4b5a69788796a5b4c3d2e1f0a1" InResponseTo="%s" IssueInstant="%s" Version="2.0"><saml2:Issuer xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">%s</saml2:Issuer><saml2p:Status><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></saml2p:Status>%s</saml2p:Response>`,
		acsURL, reqID, ts(now.Add(-2*time.Second)), idpEntity, body)
}

// sign signs el with goxmldsig and moves the Signature right after the
// Issuer, where the SAML schema puts it.
func sign(tb testing.TB, el *etree.Element) *etree.Element {
	tb.Helper()
	kk := testKeys()
	ctx := dsig.NewDefaultSigningContext(dsig.TLSCertKeyStore(tls.Certificate{Certificate: [][]byte{kk.idpCert.Raw}, PrivateKey: kk.idpKey}))
	if err := ctx.SetSignatureMethod(dsig.RSASHA256SignatureMethod); err != nil {
		tb.Fatal(err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	signed, err := ctx.SignEnveloped(el)
	if err != nil {
		tb.Fatal(err)
	}
	idx := -1
	for i, c := range signed.Child {
		if e, ok := c.(*etree.Element); ok && e.Tag == "Signature" {
			idx = i
		}
	}
	sig := signed.RemoveChildAt(idx)
	signed.InsertChildAt(1, sig)
	return signed
}

func parse(tb testing.TB, s string) *etree.Document {
	tb.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(s); err != nil {
		tb.Fatal(err)
	}
	return d
}

func serialize(tb testing.TB, el *etree.Element) string {
	tb.Helper()
	d := etree.NewDocument()
	d.SetRoot(el.Copy())
	s, err := d.WriteToString()
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func signedAssertion(tb testing.TB, groups int) string {
	return serialize(tb, sign(tb, parse(tb, assertionXML(groups)).Root()))
}

// Cases of the benchmark, as decoded XML.
func caseSignedAssertion(tb testing.TB) string { return responseXML(signedAssertion(tb, 5)) }

func caseSignedBoth(tb testing.TB) string {
	d := parse(tb, responseXML(signedAssertion(tb, 5)))
	return `<?xml version="1.0" encoding="UTF-8"?>` + serialize(tb, sign(tb, d.Root()))
}

func caseGroups200(tb testing.TB) string { return responseXML(signedAssertion(tb, 200)) }

func caseEncrypted(tb testing.TB) string {
	return responseXML(encrypt(tb, signedAssertion(tb, 5)))
}

// encrypt wraps an assertion into an EncryptedAssertion: AES-128-CBC,
// RSA-OAEP (MGF1 SHA-1) for the SP's key, as most IdPs send it.
func encrypt(tb testing.TB, assertion string) string {
	tb.Helper()
	kk := testKeys()
	key := make([]byte, 16)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	pt := []byte(assertion)
	pad := aes.BlockSize - len(pt)%aes.BlockSize
	pt = append(pt, bytes.Repeat([]byte{byte(pad)}, pad)...)
	iv := make([]byte, aes.BlockSize)
	rand.Read(iv)
	ct := make([]byte, len(pt))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, pt)
	ek, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, &kk.spKey.PublicKey, key, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf(`<saml2:EncryptedAssertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"><xenc:EncryptedData xmlns:xenc="http://www.w3.org/2001/04/xmlenc#" Id="_ed1" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#aes128-cbc"/><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey Id="_ek1"><xenc:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml2:EncryptedAssertion>`,
		base64.StdEncoding.EncodeToString(kk.spCert.Raw), base64.StdEncoding.EncodeToString(ek), base64.StdEncoding.EncodeToString(append(iv, ct...)))
}

// idpMetadata is the IdP's metadata, parsed by every implementation.
func idpMetadata() string {
	kk := testKeys()
	return fmt.Sprintf(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="%s"><md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>`,
		idpEntity, base64.StdEncoding.EncodeToString(kk.idpCert.Raw))
}
