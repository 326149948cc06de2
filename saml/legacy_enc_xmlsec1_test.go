package saml

import (
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// xmlsec1Encrypt encrypts data with xmlsec1 (libxmlsec and OpenSSL, as
// pysaml2 does) for cert: content algorithm content (a 3DES session key
// with --session-key des-192), key transport keyAlg. It skips the test when
// xmlsec1 is not installed (fails it in CI).
func xmlsec1Encrypt(t *testing.T, data, content, keyAlg, sessionKey string) string {
	t.Helper()
	bin := xmlsecBin(t)
	dir := t.TempDir()
	certFile, dataFile, tplFile := filepath.Join(dir, "sp.pem"), filepath.Join(dir, "data.xml"), filepath.Join(dir, "tpl.xml")
	tpl := `<xenc:EncryptedData xmlns:xenc="` + nsXEnc + `" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="` + content + `"/><ds:KeyInfo xmlns:ds="` + nsDSig + `"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="` + keyAlg + `"/><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue/></xenc:CipherData></xenc:EncryptedData>`
	for f, b := range map[string][]byte{
		certFile: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: spCert.Raw}),
		dataFile: []byte(data),
		tplFile:  []byte(tpl),
	} {
		if err := os.WriteFile(f, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out, err := exec.Command(bin, "--encrypt", "--pubkey-cert-pem", certFile, "--session-key", sessionKey,
		"--xml-data", dataFile, "--node-xpath", "/*", tplFile).Output()
	if err != nil {
		t.Fatalf("xmlsec1 --encrypt: %v", err)
	}
	s := string(out)
	if i := strings.Index(s, "?>"); strings.HasPrefix(s, "<?xml") && i > 0 {
		s = s[i+2:]
	}
	return strings.TrimSpace(s)
}

// TestLegacyEncryptionXmlsec1: a signed assertion encrypted by xmlsec1 with
// 3DES-CBC (RSA-OAEP and rsa-1_5 key transport) is accepted with the IdP's
// legacy encryption opt-in and refused, naming the setting, without it.
func TestLegacyEncryptionXmlsec1(t *testing.T) {
	testKeys(t)
	f := defaultFixture("okta")
	signed := f.signedAssertion(t)
	as := signed[strings.Index(signed, "<saml2:Assertion"):strings.Index(signed, "</saml2p:Response>")]
	for _, keyAlg := range []string{algRSAOAEP, algRSA15} {
		enc := xmlsec1Encrypt(t, as, algTripleDES, keyAlg, "des-192")
		doc := strings.Replace(signed, as, `<saml2:EncryptedAssertion xmlns:saml2="`+nsSAML+`">`+enc+`</saml2:EncryptedAssertion>`, 1)
		e := newEnv(t)
		e.idp.AllowLegacyEncryption = true
		e.pending(t)
		if a, err := e.validate(doc); err != nil || a.NameID.Value != "alice@example.com" {
			t.Fatalf("%s, opted in: %v", keyAlg, err)
		}
		e = newEnv(t)
		e.pending(t)
		_, err := e.validate(doc)
		if se, ok := err.(*Error); !ok || se.Reason != ReasonEncryptedAssertionInvalid || !strings.Contains(se.Detail, "legacy_encryption") {
			t.Errorf("%s, refused: %#v", keyAlg, err)
		}
	}
}
