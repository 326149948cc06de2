package xmldsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSignEnvelopedXmlsec1: what SignEnveloped signs, xmlsec1 verifies (RSA
// and ECDSA, whose r||s values XML-DSig 1.1 requires), in documents whose
// signed element inherits namespaces and holds escaped text; and a byte
// changed after signing makes xmlsec1 refuse it.
func TestSignEnvelopedXmlsec1(t *testing.T) {
	bin := xmlsecBin(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	docs := []string{
		`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" ID="_x1" entityID="https://sp.example.com/m">` + SignatureMarker + `<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>`,
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<r xmlns="urn:outer" xmlns:a="urn:a"><samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x1" Version="2.0"><saml:Issuer>https://sp.example.com/m</saml:Issuer>` + SignatureMarker + `<saml:NameID a:x="1&amp;2">alice &lt;&amp;&gt; "bob"` + "\r\n\t" + `</saml:NameID><e/></samlp:LogoutRequest></r>`,
	}
	for _, signer := range []crypto.Signer{rsaKey, ecKey} {
		cert := selfSigned(t, signer)
		for i, doc := range docs {
			signed, err := SignEnveloped(doc, "_x1", signer, cert)
			if err != nil {
				t.Fatal(err)
			}
			if err := xmlsecVerifyDoc(bin, t.TempDir(), signed, cert); err != nil {
				t.Errorf("%T, document %d: xmlsec1 refuses our signature: %v\n%s", signer, i, err, signed)
			}
			tampered := strings.Replace(signed, "https://sp.example.com/m", "https://sp.example.com/n", 1)
			if xmlsecVerifyDoc(bin, t.TempDir(), tampered, cert) == nil {
				t.Errorf("%T, document %d: xmlsec1 accepts a changed document", signer, i)
			}
		}
	}
}

func xmlsecVerifyDoc(bin, dir, doc string, cert *x509.Certificate) error {
	certFile, docFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "doc.xml")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(docFile, []byte(doc), 0o600); err != nil {
		return err
	}
	out, err := exec.Command(bin, "--verify", "--enabled-reference-uris", "same-doc", "--pubkey-cert-pem", certFile,
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
		"--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:protocol:LogoutRequest", docFile).CombinedOutput()
	if err != nil {
		return &Error{Code: SignatureInvalid, Message: err.Error() + ": " + string(out)}
	}
	return nil
}

func selfSigned(t *testing.T, k crypto.Signer) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "TEST KEY"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
