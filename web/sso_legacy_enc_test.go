package web

import (
	"context"
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/saml"
)

// encryptLikePysaml2 replaces the signed assertion of raw by an
// EncryptedAssertion as pysaml2 sends it by default (through xmlsec1):
// 3DES-CBC content, the session key wrapped for cert with keyAlg (RSA-OAEP
// or rsa-1_5) in the KeyInfo of EncryptedData.
func encryptLikePysaml2(t *testing.T, raw string, cert *x509.Certificate, keyAlg string) string {
	t.Helper()
	i, j := strings.Index(raw, "<saml:Assertion"), strings.Index(raw, "</saml:Assertion>")
	if i < 0 || j < i {
		t.Fatalf("no saml:Assertion in %s", raw)
	}
	j += len("</saml:Assertion>")
	plain := []byte(raw[i:j])
	key, iv := make([]byte, 24), make([]byte, des.BlockSize)
	rand.Read(key)
	rand.Read(iv)
	block, err := des.NewTripleDESCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	pad := des.BlockSize - len(plain)%des.BlockSize
	for k := 1; k <= pad; k++ {
		plain = append(plain, byte(pad))
	}
	ct := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, plain)
	pub := cert.PublicKey.(*rsa.PublicKey)
	var ek []byte
	if strings.HasSuffix(keyAlg, "rsa-1_5") {
		//lint:ignore SA1019 the legacy key transport under test
		ek, err = rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	} else {
		ek, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	enc := fmt.Sprintf(`<ns0:EncryptedAssertion xmlns:ns0="urn:oasis:names:tc:SAML:2.0:assertion"><ns1:EncryptedData xmlns:ns1="http://www.w3.org/2001/04/xmlenc#" Id="ED" Type="http://www.w3.org/2001/04/xmlenc#Element"><ns1:EncryptionMethod Algorithm="http://www.w3.org/2001/04/xmlenc#tripledes-cbc"/><ns2:KeyInfo xmlns:ns2="http://www.w3.org/2000/09/xmldsig#"><ns1:EncryptedKey Id="EK"><ns1:EncryptionMethod Algorithm="%s"/><ns2:KeyInfo><ns2:KeyName>my-rsa-key</ns2:KeyName></ns2:KeyInfo><ns1:CipherData><ns1:CipherValue>%s</ns1:CipherValue></ns1:CipherData></ns1:EncryptedKey></ns2:KeyInfo><ns1:CipherData><ns1:CipherValue>%s</ns1:CipherValue></ns1:CipherData></ns1:EncryptedData></ns0:EncryptedAssertion>`,
		keyAlg, base64.StdEncoding.EncodeToString(ek), base64.StdEncoding.EncodeToString(append(iv, ct...)))
	return raw[:i] + enc + raw[j:]
}

// encryptionCert is the tenant's SP encryption certificate.
func (e *ssoEnv) encryptionCert(t *testing.T, tenant lanyard.Tenant) *x509.Certificate {
	t.Helper()
	keys, err := e.store.SPKeys(context.Background(), tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Use == lanyard.KeyEncryption && k.Active {
			b, _ := pem.Decode([]byte(k.CertificatePEM))
			if b == nil {
				t.Fatal("bad certificate PEM")
			}
			cert, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return cert
		}
	}
	t.Fatal("no encryption key")
	return nil
}

// TestSSOLegacyEncryption posts a pysaml2-style 3DES assertion (the IdP's
// signed assertion, encrypted for the tenant): accepted with the IdP's
// legacy encryption opt-in; refused without it with the uniform page, the
// log line and the tracer hint naming the setting.
func TestSSOLegacyEncryption(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{idpUser("judy", "judy@example.com", "Judy", "Crypt", nil)})
	on := e.addTenant("des3", tenantOptions{legacyEncryption: true, settings: []string{"jit=true"}})
	off := e.addTenant("des3off", tenantOptions{settings: []string{"jit=true"}})
	login := func(slug string, tenant lanyard.Tenant, keyAlg string) acsAnswer {
		b := newBrowser()
		form := e.spLogin(b, slug, "/enc", "judy")
		raw := decodeForm(t, form)
		// The IdP signs the Response too: drop that signature, as a
		// re-encrypting test must (the assertion's own is kept).
		i, j := strings.Index(raw, "<ds:Signature"), strings.Index(raw, "</ds:Signature>")
		if i < 0 || j < i || strings.Index(raw, "<saml:Assertion") < j {
			t.Fatalf("no Response signature before the Assertion: %s", raw)
		}
		raw = raw[:i] + raw[j+len("</ds:Signature>"):]
		raw = encryptLikePysaml2(t, raw, e.encryptionCert(t, tenant), keyAlg)
		form.Fields.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(raw)))
		return b.post(t, form)
	}
	for _, keyAlg := range []string{"http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", "http://www.w3.org/2001/04/xmlenc#rsa-1_5"} {
		a := login("des3", on, keyAlg)
		if a.status != http.StatusSeeOther || a.location != "/enc" || a.session == "" {
			t.Fatalf("%s, opted in: %d to %q\n%s", keyAlg, a.status, a.location, a.body)
		}
		if ev := e.lastAudit(on); ev.Detail["encrypted"] != "true" {
			t.Errorf("%s: audit does not mark the assertion encrypted: %+v", keyAlg, ev.Detail)
		}
	}
	if u := e.user(on, "judy"); u.Email != "judy@example.com" {
		t.Errorf("attributes of the 3DES assertion not applied: %+v", u)
	}

	a := login("des3off", off, "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p")
	e.checkRefusal(t, off, a, http.StatusBadRequest, string(saml.ReasonEncryptedAssertionInvalid), "could not be accepted", "", "legacy_encryption")
	for _, leak := range []string{"3DES", "legacy", "tripledes"} {
		if strings.Contains(a.body, leak) {
			t.Errorf("the user's page says %q:\n%s", leak, a.body)
		}
	}
	traces, err := e.admin.LoginTraces(context.Background(), "des3off", "", 10, 0)
	if err != nil || len(traces) != 1 {
		t.Fatalf("%d traces, %v", len(traces), err)
	}
	if tr := traces[0]; tr.Reason != string(saml.ReasonEncryptedAssertionInvalid) || !strings.Contains(admin.TraceHint(tr.Reason), "--legacy-encryption") {
		t.Errorf("trace %s, hint %q", tr.Reason, admin.TraceHint(tr.Reason))
	}
}
