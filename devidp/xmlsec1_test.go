package devidp_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// XPath expressions for xmlsec1's --node-xpath: the signature of the
// message, and the signature of the assertion inside a Response.
const (
	messageSignature   = "/*/*[local-name()='Signature']"
	assertionSignature = "/*/*[local-name()='Assertion']/*[local-name()='Signature']"
)

// xmlsec1Path finds xmlsec1, or skips the test (fails it in CI).
func xmlsec1Path(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("xmlsec1")
	if err != nil {
		const msg = "xmlsec1 not found (Debian package xmlsec1); scripts/test.sh installs it"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return bin
}

// xmlsec1Verify checks with xmlsec1, a third XML-DSig implementation
// (libxml2's canonicaliser and OpenSSL), the signature of doc that xpath
// selects, trusting the key of cert alone.
func xmlsec1Verify(t *testing.T, bin, doc string, cert *x509.Certificate, xpath string) error {
	t.Helper()
	dir := t.TempDir()
	certFile, docFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "message.xml")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--verify", "--pubkey-cert-pem", certFile, "--node-xpath", xpath}
	// SAML's ID attributes are not declared by a DTD: name them.
	for _, el := range []string{
		"urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
		"urn:oasis:names:tc:SAML:2.0:protocol:Response",
		"urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest",
		"urn:oasis:names:tc:SAML:2.0:protocol:LogoutResponse",
	} {
		args = append(args, "--id-attr:ID", el)
	}
	out, err := exec.Command(bin, append(args, docFile)...).CombinedOutput()
	if err != nil {
		return &xmlsec1Error{err: err, output: string(out)}
	}
	return nil
}

type xmlsec1Error struct {
	err    error
	output string
}

func (e *xmlsec1Error) Error() string { return e.err.Error() + ":\n" + e.output }

// ecdsaKeyPair returns a new P-256 key and a self-signed certificate.
func ecdsaKeyPair(t *testing.T, name string) (*ecdsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// Everything the IdP signs verifies with xmlsec1: Responses and their
// assertions (with values that canonicalisation escapes), status
// Responses, ECDSA signatures, and logout messages sent over HTTP-POST.
// A changed value does not.
func TestSignaturesVerifyWithXmlsec1(t *testing.T) {
	bin := xmlsec1Path(t)
	verify := func(t *testing.T, doc string, cert *x509.Certificate, xpaths ...string) {
		t.Helper()
		for _, xpath := range xpaths {
			if err := xmlsec1Verify(t, bin, doc, cert, xpath); err != nil {
				t.Errorf("xmlsec1 refuses the signature at %s: %v\n%s", xpath, err, doc)
			}
		}
	}

	t.Run("Response and Assertion", func(t *testing.T) {
		tricky := devidp.User{Username: "carol", Password: "pw", Attributes: map[string][]string{
			"displayName": {`Carol "C" <O'Hara> & Sons`},
			"note":        {"tab\there, CR\rhere, LF\nhere", "  spaces  ", "ünïcödé ✓ 𝄞", "]]> >"},
		}}
		f := newFixture(t, func(c *devidp.Config, _ *saml.ServiceProvider) {
			c.SignResponse = true
			c.Users = []devidp.User{tricky}
		})
		doc := decoded(t, f.response(f.login(f.startSSO(saml.AuthnRequestOptions{}), "carol", "pw")).SAMLResponse)
		verify(t, doc, idpCert, messageSignature, assertionSignature)

		// The check can fail: a changed value, or another key.
		tampered := strings.Replace(doc, "Sons", "Daughters", 1)
		for _, xpath := range []string{messageSignature, assertionSignature} {
			if err := xmlsec1Verify(t, bin, tampered, idpCert, xpath); err == nil {
				t.Errorf("xmlsec1 accepts the signature at %s of a changed document", xpath)
			}
			if err := xmlsec1Verify(t, bin, doc, otherCert, xpath); err == nil {
				t.Errorf("xmlsec1 accepts the signature at %s with another key", xpath)
			}
		}
	})

	t.Run("status Response", func(t *testing.T) {
		f := newFixture(t, nil)
		doc := decoded(t, f.response(f.startSSO(saml.AuthnRequestOptions{IsPassive: true})).SAMLResponse)
		if !strings.Contains(doc, "NoPassive") {
			t.Fatalf("expected a NoPassive status:\n%s", doc)
		}
		verify(t, doc, idpCert, messageSignature)
	})

	t.Run("ECDSA", func(t *testing.T) {
		key, cert := ecdsaKeyPair(t, "ecdsa IdP")
		f := newFixture(t, func(c *devidp.Config, _ *saml.ServiceProvider) { c.Key, c.Cert, c.SignResponse = key, cert, true })
		doc := decoded(t, f.response(f.login(f.startSSO(saml.AuthnRequestOptions{}), "alice", devidp.DemoPassword)).SAMLResponse)
		verify(t, doc, cert, messageSignature, assertionSignature)
	})

	t.Run("logout over HTTP-POST", func(t *testing.T) {
		f := newFixture(t, nil)
		a := f.signIn()
		sp := f.idp.SPs()[0]
		sp.SLOBinding = devidp.BindingHTTPPOST
		if err := f.idp.AddSP(sp); err != nil {
			t.Fatal(err)
		}
		// The IdP answers the SP's LogoutRequest with a LogoutResponse.
		msg, err := f.sp.MakeLogoutRequest(context.Background(), f.trusted, saml.LogoutRequestOptions{NameID: a.NameID, SessionIndex: a.SessionIndex, BrowserBinding: binding})
		if err != nil {
			t.Fatal(err)
		}
		p := f.get(msg.URL)
		if p.status != http.StatusOK || formAction(p.body) != spSLO {
			t.Fatalf("expected a form posting the LogoutResponse to the SP:\n%s", p.body)
		}
		verify(t, decoded(t, hidden(p.body, "SAMLResponse")), idpCert, messageSignature)

		// IdP-initiated logout sends a LogoutRequest.
		f.signIn()
		p = f.get(f.server.URL + "/idp/logout")
		p = f.post(f.server.URL+"/idp/logout", url.Values{"csrf": {hidden(p.body, "csrf")}})
		if p.status != http.StatusOK || formAction(p.body) != spSLO {
			t.Fatalf("expected a form posting the LogoutRequest to the SP:\n%s", p.body)
		}
		verify(t, decoded(t, hidden(p.body, "SAMLRequest")), idpCert, messageSignature)
	})
}

// xmlsec1Sign signs the Signature template in doc with xmlsec1 and key.
func xmlsec1Sign(t *testing.T, bin, doc string, key crypto.Signer) string {
	t.Helper()
	dir := t.TempDir()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, docFile, outFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "template.xml"), filepath.Join(dir, "signed.xml")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--sign", "--privkey-pem", keyFile, "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest",
		"--output", outFile, docFile).CombinedOutput()
	if err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, out)
	}
	signed, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

// The IdP accepts POST requests that xmlsec1 signs, whatever the
// namespace layout, an InclusiveNamespaces PrefixList included, and
// refuses them changed.
func TestPOSTRequestSignedByXmlsec1(t *testing.T) {
	bin := xmlsec1Path(t)
	f := newFixture(t, nil)
	now := time.Now().UTC().Format(time.RFC3339)
	signature := func(id, prefixList, keyInfo string) string {
		c14n := `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>`
		if prefixList != "" {
			c14n = `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"><ec:InclusiveNamespaces xmlns:ec="http://www.w3.org/2001/10/xml-exc-c14n#" PrefixList="` + prefixList + `"/></ds:Transform>`
		}
		return `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>` +
			`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
			`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>` +
			`<ds:Reference URI="#` + id + `"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` + c14n + `</ds:Transforms>` +
			`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>` +
			`</ds:SignedInfo><ds:SignatureValue/>` + keyInfo + `</ds:Signature>`
	}
	templates := map[string]string{
		"prefixes": `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:unused="urn:x" ID="_x1" Version="2.0" IssueInstant="` + now +
			`" Destination="` + f.idp.SSOURL() + `">` + "\n  " + `<saml:Issuer>` + spEntityID + `</saml:Issuer>` + "\n  " + signature("_x1", "", "") +
			"\n  " + `<samlp:NameIDPolicy AllowCreate="true" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"/>` + "\n</samlp:AuthnRequest>",
		"prefix list": `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:unused="urn:x" ID="_x2" Version="2.0" IssueInstant="` + now +
			`"><saml:Issuer>` + spEntityID + `</saml:Issuer>` + signature("_x2", "saml unused", "") + `<samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>`,
		"default namespace": `<AuthnRequest xmlns="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x3" Version="2.0" IssueInstant="` + now +
			`" AssertionConsumerServiceURL="` + spACS + `"><Issuer xmlns="urn:oasis:names:tc:SAML:2.0:assertion">` + spEntityID + `</Issuer>` + signature("_x3", "", "") +
			`<!-- a comment --><NameIDPolicy AllowCreate="true"/></AuthnRequest>`,
		// The key is the one in the SP's metadata, whatever KeyInfo says.
		"key name": `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="_x4" Version="2.0" IssueInstant="` + now +
			`"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">` + spEntityID + `</saml:Issuer>` +
			signature("_x4", "", "<ds:KeyInfo><ds:KeyName>sp signing key</ds:KeyName></ds:KeyInfo>") + `<samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>`,
	}
	for name, template := range templates {
		t.Run(name, func(t *testing.T) {
			signed := xmlsec1Sign(t, bin, template, spKey)
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

	// The SP's metadata makes its key trusted, not the validity dates of
	// its certificate: an expired one still verifies.
	t.Run("expired certificate", func(t *testing.T) {
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "expired SP"},
			NotBefore: time.Now().AddDate(-2, 0, 0), NotAfter: time.Now().AddDate(-1, 0, 0)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &spKey.PublicKey, spKey)
		if err != nil {
			t.Fatal(err)
		}
		expired, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		sp := f.idp.SPs()[0]
		sp.SigningCertificates = []*x509.Certificate{expired}
		if err := f.idp.AddSP(sp); err != nil {
			t.Fatal(err)
		}
		signed := xmlsec1Sign(t, bin, strings.Replace(templates["prefixes"], "_x1", "_x5", 2), spKey)
		p := f.post(f.idp.SSOURL(), url.Values{"SAMLRequest": {base64.StdEncoding.EncodeToString([]byte(signed))}})
		if p.status != http.StatusOK || !strings.Contains(p.body, `<label for="username">`) {
			t.Fatalf("expected the login form, got %d:\n%s", p.status, p.body)
		}
	})
}
