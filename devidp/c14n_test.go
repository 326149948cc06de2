package devidp

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// goxmldsigC14N returns goxmldsig's exclusive canonical form of doc.
func goxmldsigC14N(t *testing.T, doc, prefixList string) string {
	t.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		t.Fatal(err)
	}
	out, err := dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList).Canonicalize(d.Root())
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The verifier's canonicaliser agrees with goxmldsig's.
func TestCanonicalizeAgreesWithGoxmldsig(t *testing.T) {
	docs := []string{
		`<a:root xmlns:a="urn:a" xmlns:b="urn:b" xmlns:unused="urn:u" z="1" b:y="2" a:x="3"><b:child>t &amp; &lt; &gt; "q"</b:child><plain/></a:root>`,
		`<root xmlns="urn:d" xmlns:p="urn:p"><p:x><y xmlns="">in no namespace</y></p:x><!-- comment --><z attr="a&#9;b&#10;c&#13;&quot;"/></root>`,
		`<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_1">
  <saml:Issuer>sp</saml:Issuer>
  <saml:NameID Format="f">ünï &#x1D11E;</saml:NameID>
  <samlp:SessionIndex xml:lang="en">s</samlp:SessionIndex>
</samlp:LogoutRequest>`,
	}
	for i, doc := range docs {
		for _, prefixList := range []string{"", "saml b #default"} {
			root, err := parseTree([]byte(doc))
			if err != nil {
				t.Fatalf("doc %d: %v", i, err)
			}
			var b strings.Builder
			var inclusive []string
			for _, p := range strings.Fields(prefixList) {
				if p == "#default" {
					p = ""
				}
				inclusive = append(inclusive, p)
			}
			canonicalize(&b, root, map[string]string{}, inclusive, nil)
			if want := goxmldsigC14N(t, doc, prefixList); b.String() != want {
				t.Errorf("doc %d, prefix list %q:\n got %s\nwant %s", i, prefixList, b.String(), want)
			}
		}
	}
}

// What the IdP writes is already in canonical form: canonicalising it
// again, with goxmldsig and with the verifier, changes nothing.
func TestOutputIsCanonical(t *testing.T) {
	idp, err := New(Config{BaseURL: "http://localhost:8081", SignResponse: true, Now: func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	u := &User{Username: "x&y", Password: "p", Attributes: map[string][]string{"note": {"a\"b<c>d\re\tf\ng"}, "groups": {"]]>"}}}
	now := idp.now()
	s := &session{user: u, index: newID(), authnInstant: now, expires: now.Add(time.Hour)}
	sp := &SP{EntityID: "https://sp.example.com/?a=1&b=2", ACSURL: "https://sp.example.com/acs"}
	resp, err := idp.buildResponse(responseParams{sp: sp, acsURL: sp.ACSURL, inResponseTo: "_r", session: s, nameID: "x&y", nameIDFormat: NameIDFormatPersistent})
	if err != nil {
		t.Fatal(err)
	}
	if got := goxmldsigC14N(t, resp, ""); got != resp {
		t.Errorf("goxmldsig's canonical form differs:\n got %s\nwant %s", got, resp)
	}
	root, err := parseTree([]byte(resp))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	canonicalize(&b, root, map[string]string{}, nil, nil)
	if b.String() != resp {
		t.Errorf("the verifier's canonical form differs:\n got %s\nwant %s", b.String(), resp)
	}
	if err := verifyEnveloped([]byte(resp), []*x509.Certificate{idp.signer.cert}); err != nil {
		t.Errorf("the IdP's own verifier refuses its Response: %v", err)
	}
	md := strings.TrimSpace(strings.TrimPrefix(string(idp.Metadata()), `<?xml version="1.0" encoding="UTF-8"?>`))
	if got := goxmldsigC14N(t, md, ""); got != md {
		t.Errorf("metadata is not canonical:\n got %s\nwant %s", got, md)
	}
}
