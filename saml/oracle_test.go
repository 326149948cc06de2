package saml

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// encryptRaw encrypts plaintext as it is (no padding added) with
// AES-128-CBC, the key wrapped for pub with keyAlg (RSA-OAEP or rsa-1_5).
func encryptRaw(tb testing.TB, plain []byte, pub *rsa.PublicKey, keyAlg string) string {
	tb.Helper()
	key := make([]byte, 16)
	iv := make([]byte, aes.BlockSize)
	rand.Read(key)
	rand.Read(iv)
	block, _ := aes.NewCipher(key)
	out := make([]byte, len(plain))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, plain)
	var ek []byte
	var err error
	if keyAlg == algRSA15 {
		//lint:ignore SA1019 the legacy key transport under test
		ek, err = rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	} else {
		ek, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf(`<saml2:EncryptedAssertion xmlns:saml2="%s"><xenc:EncryptedData xmlns:xenc="%s" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="%s"/><ds:KeyInfo xmlns:ds="%s"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="%s"/><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></saml2:EncryptedAssertion>`,
		nsSAML, nsXEnc, algAES128CBC, nsDSig, keyAlg, base64.StdEncoding.EncodeToString(ek), base64.StdEncoding.EncodeToString(append(iv, out...)))
}

func pkcs7(b []byte) []byte {
	pad := aes.BlockSize - len(b)%aes.BlockSize
	for i := 0; i < pad; i++ {
		b = append(b, byte(pad))
	}
	return b
}

// oracleVariants are encrypted responses that fail before (or at) the
// inner signature, each in a way an attacker altering a ciphertext could
// provoke; "valid" is the control.
func oracleVariants(tb testing.TB) (valid string, bad map[string]string) {
	tb.Helper()
	testKeys(tb)
	f := defaultFixture("okta")
	signed := f.signedAssertion(tb)
	as := signed[strings.Index(signed, "<saml2:Assertion"):strings.Index(signed, "</saml2p:Response>")]
	wrap := func(enc string) string { return strings.Replace(signed, as, enc, 1) }
	unsigned := strings.Replace(as, cut(tb, as, "<ds:Signature", "</ds:Signature>"), "", 1)
	badPad := append([]byte(as), make([]byte, aes.BlockSize-len(as)%aes.BlockSize+aes.BlockSize)...)
	return wrap(encryptRaw(tb, pkcs7([]byte(as)), &spKey.PublicKey, algRSAOAEP)), map[string]string{
		"wrong key":            wrap(encryptRaw(tb, pkcs7([]byte(as)), &evilKey.PublicKey, algRSAOAEP)),
		"bad padding":          wrap(encryptRaw(tb, badPad, &spKey.PublicKey, algRSAOAEP)),
		"unparseable":          wrap(encryptRaw(tb, pkcs7([]byte(as[:len(as)/2])), &spKey.PublicKey, algRSAOAEP)),
		"parseable unsigned":   wrap(encryptRaw(tb, pkcs7([]byte(unsigned)), &spKey.PublicKey, algRSAOAEP)),
		"bad inner signature":  wrap(encryptRaw(tb, pkcs7([]byte(strings.Replace(as, "alice@example.com", "mallory@example.com", 1))), &spKey.PublicKey, algRSAOAEP)),
		"not an assertion":     wrap(encryptRaw(tb, pkcs7([]byte(`<x xmlns="urn:x"/>`)), &spKey.PublicKey, algRSAOAEP)),
		"rsa-1_5 refused":      wrap(encryptRaw(tb, pkcs7([]byte(as)), &spKey.PublicKey, algRSA15)),
		"unparseable, padding": wrap(encryptRaw(tb, pkcs7([]byte("\x00\x01garbage")), &spKey.PublicKey, algRSAOAEP)),
	}
}

// TestDecryptionOracle: every failure before the inner signature is
// verified has one reason and one message; the detail differs.
func TestDecryptionOracle(t *testing.T) {
	valid, bad := oracleVariants(t)
	e := newEnv(t)
	e.pending(t)
	if _, err := e.validate(valid); err != nil {
		t.Fatalf("control: %v", err)
	}
	var message string
	details := map[string]string{}
	for name, doc := range bad {
		e := newEnv(t)
		e.pending(t)
		_, err := e.validate(doc)
		se, ok := err.(*Error)
		if !ok || se.Reason != ReasonEncryptedAssertionInvalid || se.Expected != "" || se.Got != "" || se.OutsideWindowBy != 0 {
			t.Fatalf("%s: %#v", name, err)
		}
		if message == "" {
			message = se.Message
		}
		if se.Message != message || se.Error() != "saml: "+string(ReasonEncryptedAssertionInvalid)+": "+message {
			t.Errorf("%s: message %q differs from %q", name, se.Message, message)
		}
		if se.Detail == "" {
			t.Errorf("%s: no detail for the administrator's log", name)
		}
		details[name] = se.Detail
	}
	for _, want := range []struct{ name, says string }{
		{"bad padding", "padding"}, {"unparseable", "in the decrypted assertion"}, {"parseable unsigned", "unsigned"},
		{"bad inner signature", "signature"}, {"rsa-1_5 refused", "rsa-1_5"},
	} {
		if !strings.Contains(details[want.name], want.says) {
			t.Errorf("%s: detail %q does not say %q", want.name, details[want.name], want.says)
		}
	}
}

// TestRSA15KeyRollover: with rsa-1_5 allowed and several SP keys, the
// right key is found whichever comes first (a wrong key yields a random
// content key, not an error).
func TestRSA15KeyRollover(t *testing.T) {
	testKeys(t)
	f := defaultFixture("okta")
	signed := f.signedAssertion(t)
	as := signed[strings.Index(signed, "<saml2:Assertion"):strings.Index(signed, "</saml2p:Response>")]
	doc := strings.Replace(signed, as, encryptRaw(t, pkcs7([]byte(as)), &spKey.PublicKey, algRSA15), 1)
	for _, keys := range [][]KeyPair{
		{{Signer: evilKey, Certificate: evilCert}, {Signer: spKey, Certificate: spCert}},
		{{Signer: spKey, Certificate: spCert}, {Signer: evilKey, Certificate: evilCert}},
	} {
		e := newEnv(t)
		e.sp = &ServiceProvider{EntityID: testSPEntity, ACSURL: testACS, Now: e.sp.Now, Requests: e.sp.Requests, AllowRSA15: true, EncryptionKeys: keys}
		e.pending(t)
		a, err := e.validate(doc)
		if err != nil || a.NameID.Value != "alice@example.com" {
			t.Fatalf("first key %s: %v", keys[0].Certificate.Subject.CommonName, err)
		}
	}
	e := newEnv(t)
	e.sp = &ServiceProvider{EntityID: testSPEntity, ACSURL: testACS, Now: e.sp.Now, Requests: e.sp.Requests, AllowRSA15: true, EncryptionKeys: []KeyPair{{Signer: evilKey, Certificate: evilCert}}}
	e.pending(t)
	if _, err := e.validate(doc); ReasonOf(err) != ReasonEncryptedAssertionInvalid {
		t.Fatalf("foreign key only: %v", err)
	}
}

// BenchmarkDecryptionOracle compares the time of each failure (figures
// only: no timed assertion). go test -run - -bench DecryptionOracle ./saml
func BenchmarkDecryptionOracle(b *testing.B) {
	valid, bad := oracleVariants(b)
	bad["valid (control)"] = valid
	for name, doc := range bad {
		in := b64(doc)
		b.Run(strings.ReplaceAll(name, " ", "_"), func(b *testing.B) {
			e := newEnv(b)
			e.sp.Replay = nil
			e.sp.AllowUnsolicited = true
			for b.Loop() {
				e.pending(b)
				e.sp.ValidateResponse(b.Context(), e.idp, ResponseInput{SAMLResponse: in, BrowserBinding: e.binding})
			}
		})
	}
}
