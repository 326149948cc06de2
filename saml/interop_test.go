package saml

import (
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// Interoperability with xmlsec1 (libxml2 and OpenSSL): documents it signs
// must validate, whatever their encoding and PrefixList.

// xmlsecBin finds xmlsec1, or skips the test (fails it in CI).
func xmlsecBin(t testing.TB) string {
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

// xmlsecSign has xmlsec1 sign doc, which holds a Signature template (empty
// DigestValue and SignatureValue) in an Assertion, Response or other SAML
// element with an ID.
func xmlsecSign(tb testing.TB, doc string, key crypto.Signer) string {
	tb.Helper()
	bin := xmlsecBin(tb)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	dir := tb.TempDir()
	keyFile, docFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "doc.xml")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(docFile, []byte(doc), 0o600); err != nil {
		tb.Fatal(err)
	}
	args := []string{"--sign", "--privkey-pem", keyFile}
	for _, n := range samlIDElements {
		args = append(args, "--id-attr:ID", n)
	}
	out, err := exec.Command(bin, append(args, "--output", "-", docFile)...).Output()
	if err != nil {
		tb.Fatalf("xmlsec1 --sign: %v", err)
	}
	return string(out)
}

// samlIDElements are the elements whose ID attribute xmlsec1 is told about.
var samlIDElements = []string{nsMD + ":EntityDescriptor", nsSAMLP + ":AuthnRequest", nsSAMLP + ":LogoutRequest", nsSAMLP + ":LogoutResponse", nsSAMLP + ":ArtifactResolve", nsSAMLP + ":Response", nsSAML + ":Assertion"}

// xmlsecVerify checks the signature of doc (signed by Lanyard) with xmlsec1
// and cert, failing the test when xmlsec1 refuses it.
func xmlsecVerify(t *testing.T, doc []byte, cert *x509.Certificate) {
	t.Helper()
	bin := xmlsecBin(t)
	dir := t.TempDir()
	certFile, docFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "doc.xml")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docFile, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"--verify", "--enabled-reference-uris", "same-doc", "--pubkey-cert-pem", certFile}
	for _, n := range samlIDElements {
		args = append(args, "--id-attr:ID", n)
	}
	if out, err := exec.Command(bin, append(args, docFile)...).CombinedOutput(); err != nil {
		t.Fatalf("xmlsec1 --verify refuses Lanyard's signature: %v\n%s\n%s", err, out, doc)
	}
}

// xmlsecSignAssertion returns a Response holding the fixture's assertion
// signed by xmlsec1 with idpKey (RSA-SHA256, exclusive C14N whose
// InclusiveNamespaces PrefixList is prefixList, none if empty).
func xmlsecSignAssertion(t *testing.T, f fixture, prefixList string) string {
	t.Helper()
	bin := xmlsecBin(t)
	testKeys(t)
	incl := ""
	if prefixList != "" {
		incl = fmt.Sprintf(`<ec:InclusiveNamespaces xmlns:ec="%s" PrefixList="%s"/>`, algExcC14N, prefixList)
	}
	tmpl := fmt.Sprintf(`<ds:Signature xmlns:ds="%s"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="%s">%s</ds:CanonicalizationMethod><ds:SignatureMethod Algorithm="%s"/><ds:Reference URI="#%s"><ds:Transforms><ds:Transform Algorithm="%s"/><ds:Transform Algorithm="%s">%s</ds:Transform></ds:Transforms><ds:DigestMethod Algorithm="%s"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/></ds:Signature>`,
		nsDSig, algExcC14N, incl, algRSASHA256, f.asID, algEnveloped, algExcC14N, incl, algSHA256)
	doc := strings.Replace(f.responseXML(f.assertionXML()), "<!--sig:"+f.asID+"-->", tmpl, 1)
	doc = stripMarkers(doc)

	dir := t.TempDir()
	keyDER, err := x509.MarshalPKCS8PrivateKey(idpKey)
	if err != nil {
		t.Fatal(err)
	}
	keyFile, docFile := filepath.Join(dir, "key.pem"), filepath.Join(dir, "in.xml")
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(docFile, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--sign", "--privkey-pem", keyFile, "--id-attr:ID", nsSAML+":Assertion", "--output", "-", docFile).Output()
	if err != nil {
		t.Fatalf("xmlsec1 --sign: %v\n%s", err, out)
	}
	return string(out)
}

func TestXmlsec1SignedPrefixList(t *testing.T) {
	for _, pl := range []string{"", "xs", "xml", "xml xs", "xs xml", "#default xml", "xml #default xs", "xml xml", "xml xs xml"} {
		t.Run(pl, func(t *testing.T) {
			f := defaultFixture("okta")
			f.extra = `<saml2:Advice xml:lang="en"/>`
			doc := xmlsecSignAssertion(t, f, pl)
			e := newEnv(t)
			e.pending(t)
			a, err := e.validate(doc)
			if err != nil {
				t.Fatalf("refused: %v\n%s", err, doc)
			}
			if a.NameID.Value != "alice@example.com" {
				t.Fatalf("NameID %q", a.NameID.Value)
			}
		})
	}
}

// TestExcC14NPrefixListXML: a PrefixList naming xml, however spelled, never
// renders xmlns:xml, even where the document declares it explicitly.
func TestExcC14NPrefixListXML(t *testing.T) {
	const doc = `<a xmlns:xml="http://www.w3.org/XML/1998/namespace" xmlns:x="urn:x" xmlns="urn:d"><b xml:lang="en" ID="b1"><c/></b></a>`
	d, err := parseXML([]byte(doc), xmldsig.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := findID(d, "b1")
	for _, tc := range []struct {
		list []string // as inclusivePrefixes returns it ("" for #default)
		want string
	}{
		{nil, `<b xmlns="urn:d" ID="b1" xml:lang="en"><c></c></b>`},
		{[]string{"xml"}, `<b xmlns="urn:d" ID="b1" xml:lang="en"><c></c></b>`},
		{[]string{"xml", ""}, `<b xmlns="urn:d" ID="b1" xml:lang="en"><c></c></b>`},
		{[]string{"", "xml"}, `<b xmlns="urn:d" ID="b1" xml:lang="en"><c></c></b>`},
		{[]string{"x", "xml"}, `<b xmlns="urn:d" xmlns:x="urn:x" ID="b1" xml:lang="en"><c></c></b>`},
		{[]string{"xml", "x", ""}, `<b xmlns="urn:d" xmlns:x="urn:x" ID="b1" xml:lang="en"><c></c></b>`},
	} {
		var got bufHash
		xmldsig.Canonicalize(&got, b, xmldsig.ExclusiveC14N, tc.list, nil)
		if got.String() != tc.want {
			t.Errorf("PrefixList %q:\n got %s\nwant %s", tc.list, got.String(), tc.want)
		}
	}
	// The reading of the attribute: a set, repetitions dropped.
	for pl, want := range map[string][]string{
		"xml":                {"xml"},
		"xml xml":            {"xml"},
		" xml\t#default ":    {"xml", ""},
		"xs xml xs #default": {"xs", "xml", ""},
	} {
		in := fmt.Sprintf(`<t xmlns:ec="%s"><ec:InclusiveNamespaces PrefixList="%s"/></t>`, algExcC14N, pl)
		d, err := parseXML([]byte(in), xmldsig.Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if set, err := xmldsig.InclusivePrefixes(d.Root()); err != nil || !slices.Equal(set, want) {
			t.Errorf("PrefixList %q: %q, %v; want %q", pl, set, err, want)
		}
	}
}

// toUTF16 encodes s as UTF-16 with a byte order mark.
func toUTF16(s string, bigEndian bool) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 0, 2+2*len(u))
	for _, c := range append([]uint16{0xfeff}, u...) {
		if bigEndian {
			b = append(b, byte(c>>8), byte(c))
		} else {
			b = append(b, byte(c), byte(c>>8))
		}
	}
	return b
}

// TestUTF16Response: a response signed by xmlsec1, then converted to UTF-16
// (either byte order, with or without an XML declaration naming UTF-16),
// validates: canonical XML is UTF-8, so the signature covers the UTF-8 form.
func TestUTF16Response(t *testing.T) {
	f := defaultFixture("okta")
	f.nameID = "\u00e5lice\U0001F600@example.com" // a surrogate pair in UTF-16
	signed := xmlsecSignAssertion(t, f, "xs")
	const declUTF8 = `<?xml version="1.0" encoding="UTF-8"?>`
	if !strings.HasPrefix(signed, declUTF8) {
		t.Fatalf("xmlsec1 output starts %.60q", signed)
	}
	body := strings.TrimPrefix(signed, declUTF8)
	for _, tc := range []struct {
		name, doc string
	}{
		{"declared UTF-16", `<?xml version="1.0" encoding="UTF-16"?>` + body},
		{"declared utf-16, single quotes", `<?xml version='1.0' encoding='utf-16'?>` + body},
		{"no declaration", strings.TrimLeft(body, "\n")},
	} {
		for _, be := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/bigEndian=%v", tc.name, be), func(t *testing.T) {
				doc := string(toUTF16(tc.doc, be))
				// The caller serving several IdPs picks one by its Issuer.
				if iss, err := ResponseIssuer(b64(doc)); err != nil || iss != testIdPEntity {
					t.Fatalf("ResponseIssuer: %q, %v", iss, err)
				}
				e := newEnv(t)
				e.pending(t)
				a, err := e.validate(doc)
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if a.NameID.Value != f.nameID {
					t.Fatalf("NameID %q, want %q", a.NameID.Value, f.nameID)
				}
			})
		}
	}
}

// TestUTF16Malformed: broken UTF-16, UTF-16 without a byte order mark, a
// declaration naming another encoding, and a document that exceeds the size
// bound only once converted to UTF-8 are all refused.
func TestUTF16Malformed(t *testing.T) {
	testKeys(t)
	f := defaultFixture("okta")
	doc := f.signedAssertion(t)
	body := strings.TrimPrefix(doc, `<?xml version="1.0" encoding="UTF-8"?>`)
	le := toUTF16(body, false)
	be := toUTF16(body, true)
	// A lone surrogate placed inside the NameID, in each byte order.
	surrogate := func(b []byte, bigEndian bool, units ...uint16) []byte {
		at := strings.Index(body, "alice@")
		i := 2 + 2*len(utf16.Encode([]rune(body[:at])))
		var ins []byte
		for _, u := range units {
			if bigEndian {
				ins = append(ins, byte(u>>8), byte(u))
			} else {
				ins = append(ins, byte(u), byte(u>>8))
			}
		}
		return append(append(append([]byte{}, b[:i]...), ins...), b[i:]...)
	}
	for _, tc := range []struct {
		name string
		doc  []byte
		want Reason
	}{
		{"odd length", le[:len(le)-1], ReasonMalformed},
		{"odd length, big endian", append(be, '>'), ReasonMalformed},
		{"lone high surrogate", surrogate(le, false, 0xd83d), ReasonMalformed},
		{"lone low surrogate", surrogate(be, true, 0xde00), ReasonMalformed},
		{"reversed pair", surrogate(le, false, 0xde00, 0xd83d), ReasonMalformed},
		{"high surrogate at the end", append(be, 0xd8, 0x3d), ReasonMalformed},
		{"no byte order mark", le[2:], ReasonMalformed},
		{"no byte order mark, big endian", be[2:], ReasonMalformed},
		{"UTF-16 declaring UTF-8", toUTF16(doc, true), ReasonMalformed},
		{"UTF-16 declaring ISO-8859-1", toUTF16(`<?xml version="1.0" encoding="ISO-8859-1"?>`+body, false), ReasonMalformed},
		{"UTF-8 declaring UTF-16", []byte(`<?xml version="1.0" encoding="UTF-16"?>` + body), ReasonMalformed},
		{"UTF-8 byte order mark declaring UTF-16", []byte("\xef\xbb\xbf" + `<?xml version="1.0" encoding="UTF-16"?>` + body), ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.pending(t)
			_, err := e.validate(string(tc.doc))
			if err == nil {
				t.Fatal("accepted")
			}
			if r := ReasonOf(err); r != tc.want {
				t.Fatalf("reason %q (%v), want %q", r, err, tc.want)
			}
		})
	}

	// The bound applies to the UTF-8 form: three UTF-8 bytes per two of
	// UTF-16 (U+4E00) in a comment push the document past it.
	t.Run("too large once converted", func(t *testing.T) {
		e := newEnv(t)
		e.pending(t)
		pad := (DefaultMaxSize - 2*len(utf16.Encode([]rune(body)))) / 2
		big := toUTF16(strings.Replace(body, "<saml2p:Status>", "<!--"+strings.Repeat("\u4e00", pad-8)+"--><saml2p:Status>", 1), false)
		if len(big) > DefaultMaxSize {
			t.Fatalf("the UTF-16 input is %d bytes, over the bound itself", len(big))
		}
		_, err := e.validate(string(big))
		if r := ReasonOf(err); r != ReasonTooLarge {
			t.Fatalf("reason %q (%v), want %q", r, err, ReasonTooLarge)
		}
	})
}

// TestUTF16LogoutRequest: a LogoutRequest (HTTP-POST) converted to UTF-16
// after signing validates, with the same NameID.
func TestUTF16LogoutRequest(t *testing.T) {
	testKeys(t)
	e := newEnv(t)
	in := idpLogoutRequest(t, BindingHTTPPOST, nil)
	raw, err := base64.StdEncoding.DecodeString(in.SAMLRequest)
	if err != nil {
		t.Fatal(err)
	}
	in.SAMLRequest = base64.StdEncoding.EncodeToString(toUTF16(string(raw), false))
	lr, err := e.sp.ValidateLogoutRequest(context.Background(), e.idp, in)
	if err != nil || lr.NameID.Value != "alice@example.com" {
		t.Fatalf("%+v, %v", lr, err)
	}
}
