package xmldsig

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The golden fixtures of ../testdata/golden are signed and encrypted by
// xmlsec1 (regen.sh there): this package verifies and decrypts them, and
// refuses variants changed after signing.

const goldenDir = "../testdata/golden"

func goldenPEM(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "keys", name))
	if err != nil {
		tb.Fatal(err)
	}
	p, _ := pem.Decode(b)
	if p == nil {
		tb.Fatalf("%s: no PEM block", name)
	}
	return p.Bytes
}

// goldenKeys returns the IdP's certificate (which signed) and the SP's key
// (for which the content keys are encrypted).
func goldenKeys(tb testing.TB) (*x509.Certificate, *rsa.PrivateKey) {
	tb.Helper()
	cert, err := x509.ParseCertificate(goldenPEM(tb, "idp.cert.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	k, err := x509.ParsePKCS8PrivateKey(goldenPEM(tb, "sp.key.pem"))
	if err != nil {
		tb.Fatal(err)
	}
	return cert, k.(*rsa.PrivateKey)
}

// goldenDocs returns the golden documents by name (without .xml).
func goldenDocs(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(goldenDir, "*.xml"))
	if err != nil || len(files) < 10 {
		tb.Fatalf("golden fixtures: %v (%d files)", err, len(files))
	}
	docs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		docs[strings.TrimSuffix(filepath.Base(f), ".xml")] = b
	}
	return docs
}

// signedElements returns the elements of doc that hold a Signature.
func signedElements(tb testing.TB, doc *Document) (els, sigs []*Node) {
	tb.Helper()
	for n := range doc.All() {
		if !n.IsElement() || n.AttrValue("ID") == "" {
			continue
		}
		sig, err := SignatureOf(n)
		if err != nil {
			tb.Fatal(err)
		}
		if sig != nil {
			els, sigs = append(els, n), append(sigs, sig)
		}
	}
	return els, sigs
}

// verifyAll verifies every signature of data; it returns the number of
// signatures and the first error.
func verifyAll(tb testing.TB, data []byte, cert *x509.Certificate) (int, error) {
	tb.Helper()
	doc, err := Parse(data, Limits{})
	if err != nil {
		return 0, err
	}
	defer doc.Release()
	els, sigs := signedElements(tb, doc)
	opts := &VerifyOptions{Keys: []Key{NewKey(cert)}, What: "document"}
	for i := range els {
		if err := VerifyEnveloped(els[i], sigs[i], opts); err != nil {
			return len(els), err
		}
	}
	return len(els), nil
}

func TestGoldenSignatures(t *testing.T) {
	cert, _ := goldenKeys(t)
	want := map[string]int{"both-signed": 2}
	for name, data := range goldenDocs(t) {
		if strings.HasPrefix(name, "enc-") {
			continue
		}
		n, err := verifyAll(t, data, cert)
		switch {
		case name == "assertion-withcomments":
			if e, ok := err.(*Error); !ok || e.Code != UnsupportedAlgorithm {
				t.Errorf("%s: %v, want unsupported_algorithm", name, err)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case n != max(1, want[name]):
			t.Errorf("%s: %d signatures verified", name, n)
		}
	}
}

// tamper lists edits made after signing, each of which changes bytes a
// signature covers (the element's canonical form or SignedInfo).
var tamper = []struct {
	name, from, to string
	last           bool   // the last occurrence, not the first
	only           string // in this fixture only
}{
	{"NameID", ">alice@example.com</saml2:NameID>", ">alice@example.con</saml2:NameID>", false, ""},
	{"attribute value", ">engineering<", ">Engineering<", false, ""},
	{"character reference", "Alice &amp; Co", "Alice &amp;&amp; Co", false, ""},
	{"attribute", `Recipient="https://sp.example.com/t/acme/saml/acs"`, `Recipient="https://sp.example.com/t/acme/saml/acs/"`, false, ""},
	// The innermost declaration of saml2, which the signed element uses.
	{"namespace name", `xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion"`, `xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertioN"`, true, ""},
	// xs is declared on the Response only and used in attribute values:
	// the PrefixList makes the signature cover it.
	{"PrefixList namespace", `xmlns:xs="http://www.w3.org/2001/XMLSchema"`, `xmlns:xs="http://www.w3.org/2001/XMLSchemA"`, false, "assertion-exc-prefixlist"},
	{"element added", "<saml2:AttributeStatement>", "<saml2:AttributeStatement><saml2:Attribute Name=\"x\"/>", false, ""},
	{"Reference URI", `<ds:Reference URI="#_`, `<ds:Reference URI="#__`, false, ""},
	{"digest", "<ds:DigestValue>", "<ds:DigestValue>AAAA", false, ""},
	{"signature value", "<ds:SignatureValue>", "<ds:SignatureValue>AAAA", false, ""},
	{"transforms", `<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>`, "", false, ""},
	{"signature method", "#rsa-sha256", "#rsa-sha384", false, ""},
	{"issuer", "<saml2:Issuer>https://idp.example.com/saml</saml2:Issuer><ds:Signature", "<saml2:Issuer>https://idp.example.com/saml/</saml2:Issuer><ds:Signature", false, ""},
}

func TestGoldenTampered(t *testing.T) {
	cert, _ := goldenKeys(t)
	checked := 0
	for name, data := range goldenDocs(t) {
		if strings.HasPrefix(name, "enc-") || name == "assertion-withcomments" {
			continue
		}
		doc := string(data)
		for _, e := range tamper {
			if !strings.Contains(doc, e.from) || e.only != "" && e.only != name {
				continue
			}
			i := strings.Index(doc, e.from)
			if e.last {
				i = strings.LastIndex(doc, e.from)
			}
			_, err := verifyAll(t, []byte(doc[:i]+e.to+doc[i+len(e.from):]), cert)
			if err == nil {
				t.Errorf("%s / %s: accepted", name, e.name)
			}
			checked++
		}
		// The signature of one element moved into another one.
		i := strings.Index(doc, "<ds:Signature ")
		j := strings.Index(doc, "</ds:Signature>") + len("</ds:Signature>")
		if i > 0 && strings.Count(doc, "<ds:Signature ") == 1 {
			sig := doc[i:j]
			moved := doc[:i] + doc[j:]
			if k := strings.Index(moved, "<saml2:Subject>"); strings.Contains(sig, `URI="#_r`) && k > 0 {
				moved = moved[:k] + sig + moved[k:]
			} else {
				k = strings.Index(moved, "<saml2p:Status>")
				moved = moved[:k] + sig + moved[k:]
			}
			if _, err := verifyAll(t, []byte(moved), cert); err == nil {
				t.Errorf("%s: signature moved and accepted", name)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("only %d tampered variants", checked)
	}
}

// TestGoldenDecrypt: Decrypt gives back the assertion xmlsec1 encrypted,
// whose signature still verifies in its new document; changed ciphertexts
// and the legacy algorithms without opt-in are refused.
func TestGoldenDecrypt(t *testing.T) {
	cert, key := goldenKeys(t)
	for name, data := range goldenDocs(t) {
		if !strings.HasPrefix(name, "enc-") {
			continue
		}
		legacy := strings.Contains(name, "3des") || strings.Contains(name, "rsa15")
		decrypt := func(data []byte, optIn bool) (*Document, error) {
			doc, err := Parse(data, Limits{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			defer doc.Release()
			var ea *Node
			for n := range doc.All() {
				if n.IsElement() && n.Local() == "EncryptedAssertion" {
					ea = n
				}
			}
			return Decrypt(ea, &DecryptOptions{Keys: []*rsa.PrivateKey{key}, AllowTripleDES: optIn, AllowRSA15: optIn, What: "assertion"})
		}
		plain, err := decrypt(data, true)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		as := plain.Root()
		if as.Local() != "Assertion" || as.Child(as.Space(), "Subject").Child(as.Space(), "NameID").TextContent() != "alice@example.com" {
			t.Errorf("%s: decrypted <%s>", name, as.Local())
		}
		sig, _ := SignatureOf(as)
		if err := VerifyEnveloped(as, sig, &VerifyOptions{Keys: []Key{NewKey(cert)}, What: "Assertion"}); err != nil {
			t.Errorf("%s: the decrypted assertion: %v", name, err)
		}
		plain.Release()
		if legacy {
			if _, err := decrypt(data, false); err == nil || err.(*Error).Code != UnsupportedAlgorithm {
				t.Errorf("%s without opt-in: %v", name, err)
			}
		}
		// One base64 character of each CipherValue (key, then content).
		s := string(data)
		for _, at := range []int{strings.Index(s, "<xenc:CipherValue>"), strings.LastIndex(s, "<xenc:CipherValue>")} {
			k := at + len("<xenc:CipherValue>") + 30
			c := "A"
			if s[k] == 'A' {
				c = "B"
			}
			if d, err := decrypt([]byte(s[:k]+c+s[k+1:]), true); err == nil {
				// A CBC change past the first block may still unpad: then
				// the plaintext differs, and its signature fails.
				sig, _ := SignatureOf(d.Root())
				if sig == nil || VerifyEnveloped(d.Root(), sig, &VerifyOptions{Keys: []Key{NewKey(cert)}, What: "Assertion"}) == nil {
					t.Errorf("%s: changed ciphertext at %d accepted", name, k)
				}
				d.Release()
			}
		}
	}
}

// goldenCanonical returns the SHA-256 of the canonical form of every
// signed element of the signed golden fixtures: the only elements a
// verifier may accept, as nobody but the test key's holder can sign.
func goldenCanonical(tb testing.TB) map[[32]byte]bool {
	tb.Helper()
	out := map[[32]byte]bool{}
	for name, data := range goldenDocs(tb) {
		if strings.HasPrefix(name, "enc-") {
			continue
		}
		doc, err := Parse(data, Limits{})
		if err != nil {
			tb.Fatal(err)
		}
		els, sigs := signedElements(tb, doc)
		for i := range els {
			h := sha256.New()
			Canonicalize(h, els[i], ExclusiveC14N, nil, sigs[i])
			out[[32]byte(h.Sum(nil))] = true
		}
		doc.Release()
	}
	return out
}
