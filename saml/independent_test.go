package saml

import (
	"errors"
	"testing"

	"github.com/beevik/etree"
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
// Signature), in the namespace context of its ancestors, or nil when the
// document is too large for goxmldsig (it walks at most 1000 elements: the
// worst-case inputs), which signXML then has xmlsec1 sign.
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
		return nil
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
