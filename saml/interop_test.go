package saml

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Interoperability with xmlsec1 (libxml2 and OpenSSL): documents it signs
// must validate, whatever their encoding and PrefixList.

// xmlsecBin finds xmlsec1, or skips the test (fails it in CI).
func xmlsecBin(t *testing.T) string {
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
	d, err := parseXML([]byte(doc), parseLimits{})
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
		var got strings.Builder
		canonicalize(writerHash{&got}, b, c14nExclusive, tc.list, nil)
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
		d, err := parseXML([]byte(in), parseLimits{})
		if err != nil {
			t.Fatal(err)
		}
		if set, err := inclusivePrefixes(d.root); err != nil || !slices.Equal(set, want) {
			t.Errorf("PrefixList %q: %q, %v; want %q", pl, set, err, want)
		}
	}
}

// writerHash is a hash.Hash that records what is written.
type writerHash struct{ b *strings.Builder }

func (w writerHash) Write(p []byte) (int, error) { return w.b.Write(p) }
func (w writerHash) Sum(b []byte) []byte         { return b }
func (w writerHash) Reset()                      { w.b.Reset() }
func (w writerHash) Size() int                   { return 0 }
func (w writerHash) BlockSize() int              { return 1 }
