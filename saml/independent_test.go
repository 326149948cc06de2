package saml

import (
	"errors"
	"strings"
	"testing"

	"github.com/beevik/etree"
	"github.com/lanyard-sso/lanyard/saml/xmldsig"
	dsig "github.com/russellhaering/goxmldsig"
	"github.com/russellhaering/goxmldsig/etreeutils"
)

// The test signer (signXML) takes its canonical bytes from goxmldsig
// (github.com/russellhaering/goxmldsig, on beevik/etree), an implementation
// independent of the canonicaliser under test: a fixture is signed over
// bytes Lanyard did not compute, so a canonicalisation bug of Lanyard shows
// as a refused fixture instead of agreeing with itself.

// etreeByID returns the element of doc whose ID attribute is id.
func etreeByID(root *etree.Element, id string) *etree.Element {
	if root.SelectAttrValue("ID", "") == id {
		return root
	}
	for _, c := range root.ChildElements() {
		if el := etreeByID(c, id); el != nil {
			return el
		}
	}
	return nil
}

// independentCanonicalizer returns goxmldsig's canonicaliser of the
// algorithm URI c14n.
func independentCanonicalizer(tb testing.TB, c14n, prefixList string) dsig.Canonicalizer {
	tb.Helper()
	switch c14n {
	case algExcC14N:
		return dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList(prefixList)
	case algExcC14NComm:
		return dsig.MakeC14N10ExclusiveWithCommentsCanonicalizerWithPrefixList(prefixList)
	case algC14N10:
		return dsig.MakeC14N10RecCanonicalizer()
	case algC14N11:
		return dsig.MakeC14N11Canonicalizer()
	}
	tb.Fatalf("no independent canonicaliser for %s", c14n)
	return nil
}

// independentCanonical returns goxmldsig's canonical form of the element
// of doc with the given ID (or, with signedInfo, of the SignedInfo of its
// Signature), in the namespace context of its ancestors. goxmldsig walks at
// most 1000 elements: for larger documents (the worst-case inputs, which
// measure cost, not canonical bytes) it falls back to the canonicaliser
// under test, whose bytes the C14N differential test and the golden
// fixtures check against xmlsec1.
func independentCanonical(tb testing.TB, doc, id, c14n, prefixList string, signedInfo bool) []byte {
	tb.Helper()
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		tb.Fatalf("etree: %v", err)
	}
	el := etreeByID(d.Root(), id)
	if el == nil {
		tb.Fatalf("etree: no element with ID %s", id)
	}
	if signedInfo {
		var si *etree.Element
		for _, c := range el.ChildElements() {
			if c.Tag == "Signature" {
				si = c.SelectElement("SignedInfo")
			}
		}
		if si == nil {
			tb.Fatalf("etree: no SignedInfo in %s", id)
		}
		el = si
	}
	ctx, err := etreeutils.NSBuildParentContext(el)
	if err != nil {
		tb.Fatalf("goxmldsig: %v", err)
	}
	detached, err := etreeutils.NSDetatch(ctx, el)
	if errors.Is(err, etreeutils.ErrTraversalLimit) {
		return ownCanonical(tb, doc, id, c14n, prefixList, signedInfo)
	}
	if err != nil {
		tb.Fatalf("goxmldsig: %v", err)
	}
	out, err := independentCanonicalizer(tb, c14n, prefixList).Canonicalize(detached)
	if err != nil {
		tb.Fatalf("goxmldsig: %v", err)
	}
	return out
}

// ownCanonical is independentCanonical computed by the canonicaliser under
// test, for documents goxmldsig does not walk.
func ownCanonical(tb testing.TB, doc, id, c14n, prefixList string, signedInfo bool) []byte {
	tb.Helper()
	d, err := parseXML([]byte(doc), xmldsig.Limits{})
	if err != nil {
		tb.Fatalf("parse for signing: %v", err)
	}
	defer d.Release()
	el := findID(d, id)
	if el == nil {
		tb.Fatalf("no element with ID %s", id)
	}
	if signedInfo {
		el = el.Child(nsDSig, "Signature").Child(nsDSig, "SignedInfo")
		prefixList = ""
	}
	var pl []string
	for _, p := range strings.Fields(prefixList) {
		if p == "#default" {
			p = ""
		}
		pl = append(pl, p)
	}
	m, _ := xmldsig.MethodOf(c14n)
	var b bufHash
	xmldsig.Canonicalize(&b, el, m, pl, nil)
	return b.Bytes()
}
