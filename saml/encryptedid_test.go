package saml

import (
	"context"
	"crypto/aes"
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

// encryptID builds a saml:EncryptedID holding plain, encrypted with
// content (AES-256-GCM or 3DES-CBC), its key wrapped for pub with RSA-OAEP
// either in the KeyInfo of EncryptedData or as a sibling EncryptedKey
// (both allowed by SAML Core 2.2.4).
func encryptID(tb testing.TB, plain string, pub *rsa.PublicKey, content string, keySibling bool) string {
	tb.Helper()
	var key, ct []byte
	switch content {
	case algAES256GCM:
		key = make([]byte, 32)
		rand.Read(key)
		block, _ := aes.NewCipher(key)
		g, _ := cipher.NewGCM(block)
		nonce := make([]byte, g.NonceSize())
		rand.Read(nonce)
		ct = g.Seal(nonce, nonce, []byte(plain), nil)
	case algTripleDES:
		key = make([]byte, 24)
		rand.Read(key)
		block, _ := des.NewTripleDESCipher(key)
		p := []byte(plain)
		pad := des.BlockSize - len(p)%des.BlockSize
		for i := 0; i < pad; i++ {
			p = append(p, byte(pad))
		}
		ct = make([]byte, des.BlockSize+len(p))
		rand.Read(ct[:des.BlockSize])
		cipher.NewCBCEncrypter(block, ct[:des.BlockSize]).CryptBlocks(ct[des.BlockSize:], p)
	default:
		tb.Fatalf("content algorithm %s", content)
	}
	ek, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	if err != nil {
		tb.Fatal(err)
	}
	encKey := fmt.Sprintf(`<xenc:EncryptedKey xmlns:xenc="%s"><xenc:EncryptionMethod Algorithm="%s"/><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>`,
		nsXEnc, algRSAOAEP, base64.StdEncoding.EncodeToString(ek))
	inside, sibling := encKey, ""
	if keySibling {
		inside, sibling = "", encKey
	}
	return fmt.Sprintf(`<saml2:EncryptedID xmlns:saml2="%s"><xenc:EncryptedData xmlns:xenc="%s" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="%s"/><ds:KeyInfo xmlns:ds="%s">%s</ds:KeyInfo><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>%s</saml2:EncryptedID>`,
		nsSAML, nsXEnc, content, nsDSig, inside, base64.StdEncoding.EncodeToString(ct), sibling)
}

// withEncryptedID returns a Response with f's assertion, its NameID
// replaced by enc, signed.
func withEncryptedID(tb testing.TB, f fixture, enc string) string {
	tb.Helper()
	a := shapeOf(f.style).ap
	nid := fmt.Sprintf(`<%sNameID Format="%s">%s</%sNameID>`, a, NameIDFormatEmailAddress, f.nameID, a)
	as := f.assertionXML()
	if !strings.Contains(as, nid) {
		tb.Fatalf("no %s in %s", nid, as)
	}
	return stripMarkers(signXML(tb, f.responseXML(strings.Replace(as, nid, enc, 1)), f.asID, f.sigOpts()))
}

const testNameIDPlain = `<saml2:NameID xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" SPNameQualifier="https://sp.example.com">opaque-4711</saml2:NameID>`

// TestEncryptedID: an EncryptedID in the Subject is decrypted with the SP
// keys into the NameID, the EncryptedKey in KeyInfo or beside the
// EncryptedData, in a plain or an encrypted assertion.
func TestEncryptedID(t *testing.T) {
	testKeys(t)
	for _, style := range []string{"okta", "adfs", "ssp"} {
		for _, sibling := range []bool{false, true} {
			f := defaultFixture(style)
			doc := withEncryptedID(t, f, encryptID(t, testNameIDPlain, &spKey.PublicKey, algAES256GCM, sibling))
			e := newEnv(t)
			e.pending(t)
			a, err := e.validate(doc)
			if err != nil {
				t.Fatalf("%s, key sibling %t: %v", style, sibling, err)
			}
			if a.NameID.Value != "opaque-4711" || a.NameID.Format != NameIDFormatPersistent || a.NameID.SPNameQualifier != "https://sp.example.com" || !a.EncryptedID || a.Encrypted {
				t.Errorf("%s: %+v, EncryptedID %t", style, a.NameID, a.EncryptedID)
			}
		}
	}

	// The assertion encrypted too: two decryptions.
	f := defaultFixture("okta")
	signed := withEncryptedID(t, f, encryptID(t, testNameIDPlain, &spKey.PublicKey, algAES256GCM, false))
	as := signed[strings.Index(signed, "<saml2:Assertion"):strings.Index(signed, "</saml2p:Response>")]
	doc := strings.Replace(signed, as, encryptRaw(t, pkcs7([]byte(as)), &spKey.PublicKey, algRSAOAEP), 1)
	e := newEnv(t)
	e.pending(t)
	a, err := e.validate(doc)
	if err != nil || a.NameID.Value != "opaque-4711" || !a.EncryptedID || !a.Encrypted {
		t.Fatalf("encrypted assertion with an EncryptedID: %+v, %v", a, err)
	}
}

// TestEncryptedIDRefused: every failure to decrypt an EncryptedID gives
// the one reason and message of an encrypted assertion, the detail saying
// what failed; 3DES needs the IdP's legacy encryption opt-in.
func TestEncryptedIDRefused(t *testing.T) {
	testKeys(t)
	f := defaultFixture("okta")
	var message string
	for _, c := range []struct{ name, enc, says string }{
		{"foreign key", encryptID(t, testNameIDPlain, &evilKey.PublicKey, algAES256GCM, false), "GCM"},
		{"not a NameID", encryptID(t, `<saml2:BaseID xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"/>`, &spKey.PublicKey, algAES256GCM, false), "not a saml:NameID"},
		{"child element", encryptID(t, `<saml2:NameID xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion">a<x/></saml2:NameID>`, &spKey.PublicKey, algAES256GCM, false), "contains <x>"},
		{"unparseable", encryptID(t, `<saml2:NameID`, &spKey.PublicKey, algAES256GCM, false), "in the decrypted identifier"},
		{"no EncryptedData", `<saml2:EncryptedID xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"/>`, "no xenc:EncryptedData"},
		{"3DES refused", encryptID(t, testNameIDPlain, &spKey.PublicKey, algTripleDES, false), "legacy_encryption"},
	} {
		e := newEnv(t)
		e.pending(t)
		_, err := e.validate(withEncryptedID(t, f, c.enc))
		se, ok := err.(*Error)
		if !ok || se.Reason != ReasonEncryptedAssertionInvalid {
			t.Fatalf("%s: %#v", c.name, err)
		}
		if message == "" {
			message = se.Message
		}
		if se.Message != message {
			t.Errorf("%s: message %q differs from %q", c.name, se.Message, message)
		}
		if !strings.Contains(se.Detail, c.says) {
			t.Errorf("%s: detail %q does not say %q", c.name, se.Detail, c.says)
		}
	}

	e := newEnv(t)
	e.idp.AllowLegacyEncryption = true
	e.pending(t)
	a, err := e.validate(withEncryptedID(t, f, encryptID(t, testNameIDPlain, &spKey.PublicKey, algTripleDES, true)))
	if err != nil || a.NameID.Value != "opaque-4711" {
		t.Fatalf("3DES with the opt-in: %v", err)
	}
}

// TestLogoutRequestEncryptedID: a LogoutRequest may name the user with an
// EncryptedID (SAML Core 3.7.1), decrypted like the Subject's.
func TestLogoutRequestEncryptedID(t *testing.T) {
	testKeys(t)
	nid := `<saml:NameID Format="` + NameIDFormatEmailAddress + `">alice@example.com</saml:NameID>`
	for _, binding := range []string{BindingHTTPRedirect, BindingHTTPPOST} {
		for name, c := range map[string]struct {
			key    *rsa.PublicKey
			reason Reason
		}{"own key": {&spKey.PublicKey, ""}, "foreign key": {&evilKey.PublicKey, ReasonEncryptedAssertionInvalid}} {
			enc := encryptID(t, testNameIDPlain, c.key, algAES256GCM, false)
			in := idpLogoutRequest(t, binding, func(s string) string { return strings.Replace(s, nid, enc, 1) })
			e := newEnv(t)
			lr, err := e.sp.ValidateLogoutRequest(context.Background(), e.idp, in)
			if c.reason != "" {
				if se, ok := err.(*Error); !ok || se.Reason != c.reason || !strings.Contains(se.Detail, "GCM") {
					t.Errorf("%s, %s: %#v", binding, name, err)
				}
				continue
			}
			if err != nil || lr.NameID.Value != "opaque-4711" || lr.NameID.Format != NameIDFormatPersistent || len(lr.SessionIndexes) != 1 {
				t.Errorf("%s, %s: %+v, %v", binding, name, lr, err)
			}
		}
	}
}
