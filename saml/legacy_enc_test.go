package saml

import (
	"crypto/cipher"
	"crypto/des"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

// encrypt3DES builds an EncryptedAssertion the way pysaml2 (through
// xmlsec1) does by default: 3DES-CBC content encryption, the IV before the
// ciphertext, XML Encryption padding (random bytes, the last one the
// count), the session key wrapped for pub with keyAlg in the KeyInfo of
// EncryptedData, a KeyName beside it.
func encrypt3DES(tb testing.TB, plain []byte, pub *rsa.PublicKey, keyAlg string) string {
	tb.Helper()
	key := make([]byte, 24)
	iv := make([]byte, des.BlockSize)
	rand.Read(key)
	rand.Read(iv)
	block, err := des.NewTripleDESCipher(key)
	if err != nil {
		tb.Fatal(err)
	}
	pad := des.BlockSize - len(plain)%des.BlockSize
	filler := make([]byte, pad)
	rand.Read(filler)
	filler[pad-1] = byte(pad)
	padded := append(append([]byte{}, plain...), filler...)
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, padded)
	var ek []byte
	if keyAlg == algRSA15 {
		//lint:ignore SA1019 the legacy key transport under test
		ek, err = rsa.EncryptPKCS1v15(rand.Reader, pub, key)
	} else {
		ek, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf(`<ns0:EncryptedAssertion xmlns:ns0="%s"><ns1:EncryptedData xmlns:ns1="%s" Id="ED" Type="http://www.w3.org/2001/04/xmlenc#Element"><ns1:EncryptionMethod Algorithm="%s"/><ns2:KeyInfo xmlns:ns2="%s"><ns1:EncryptedKey Id="EK"><ns1:EncryptionMethod Algorithm="%s"/><ns2:KeyInfo><ns2:KeyName>my-rsa-key</ns2:KeyName></ns2:KeyInfo><ns1:CipherData><ns1:CipherValue>%s</ns1:CipherValue></ns1:CipherData></ns1:EncryptedKey></ns2:KeyInfo><ns1:CipherData><ns1:CipherValue>%s</ns1:CipherValue></ns1:CipherData></ns1:EncryptedData></ns0:EncryptedAssertion>`,
		nsSAML, nsXEnc, algTripleDES, nsDSig, keyAlg, base64.StdEncoding.EncodeToString(ek), base64.StdEncoding.EncodeToString(append(iv, out...)))
}

// legacyResponses: a signed assertion encrypted with each legacy
// combination.
func legacyResponses(tb testing.TB) map[string]string {
	tb.Helper()
	testKeys(tb)
	f := defaultFixture("okta")
	signed := f.signedAssertion(tb)
	as := signed[strings.Index(signed, "<saml2:Assertion"):strings.Index(signed, "</saml2p:Response>")]
	wrap := func(enc string) string { return strings.Replace(signed, as, enc, 1) }
	return map[string]string{
		"3des oaep":    wrap(encrypt3DES(tb, []byte(as), &spKey.PublicKey, algRSAOAEP)),
		"3des rsa-1_5": wrap(encrypt3DES(tb, []byte(as), &spKey.PublicKey, algRSA15)),
		"aes rsa-1_5":  wrap(encryptRaw(tb, pkcs7([]byte(as)), &spKey.PublicKey, algRSA15)),
	}
}

// TestLegacyEncryptionOptIn: 3DES-CBC and rsa-1_5 are accepted with the
// IdP's AllowLegacyEncryption, and refused without it with the uniform
// encrypted_assertion_invalid, the detail naming the setting.
func TestLegacyEncryptionOptIn(t *testing.T) {
	for name, doc := range legacyResponses(t) {
		e := newEnv(t)
		e.idp.AllowLegacyEncryption = true
		e.pending(t)
		a, err := e.validate(doc)
		if err != nil || a.NameID.Value != "alice@example.com" || !a.Encrypted {
			t.Fatalf("%s, opted in: %v", name, err)
		}

		e = newEnv(t)
		e.pending(t)
		_, err = e.validate(doc)
		se, ok := err.(*Error)
		if !ok || se.Reason != ReasonEncryptedAssertionInvalid {
			t.Fatalf("%s, refused: %#v", name, err)
		}
		if strings.Contains(se.Message, "legacy") || strings.Contains(se.Message, "3DES") {
			t.Errorf("%s: the uniform message tells the algorithm: %q", name, se.Message)
		}
		want := "rsa-1_5"
		if strings.HasPrefix(name, "3des") {
			want = "3DES-CBC"
		}
		if !strings.Contains(se.Detail, want) || !strings.Contains(se.Detail, "legacy_encryption") {
			t.Errorf("%s: detail %q does not name %s and the setting", name, se.Detail, want)
		}
	}
}

// TestLegacyEncryptionFailuresUniform: with the opt-in, a 3DES assertion
// for a foreign key or with a broken plaintext fails like any other.
func TestLegacyEncryptionFailuresUniform(t *testing.T) {
	testKeys(t)
	f := defaultFixture("okta")
	signed := f.signedAssertion(t)
	as := signed[strings.Index(signed, "<saml2:Assertion"):strings.Index(signed, "</saml2p:Response>")]
	wrap := func(enc string) string { return strings.Replace(signed, as, enc, 1) }
	for name, doc := range map[string]string{
		"foreign key":         wrap(encrypt3DES(t, []byte(as), &evilKey.PublicKey, algRSAOAEP)),
		"foreign key rsa15":   wrap(encrypt3DES(t, []byte(as), &evilKey.PublicKey, algRSA15)),
		"bad inner signature": wrap(encrypt3DES(t, []byte(strings.Replace(as, "alice@example.com", "mallory@example.com", 1)), &spKey.PublicKey, algRSAOAEP)),
	} {
		e := newEnv(t)
		e.idp.AllowLegacyEncryption = true
		e.pending(t)
		if _, err := e.validate(doc); ReasonOf(err) != ReasonEncryptedAssertionInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}
