package devidp

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
)

// Verification of the enveloped signature of messages that SPs send
// through the HTTP-POST binding (AuthnRequest, LogoutRequest,
// LogoutResponse). goxmldsig canonicalises and checks the digest and the
// signature value. This file adds what SAML Core 5.4 asks of a signature
// and goxmldsig does not check, so that an SP breaking it is told so:
// one ds:Signature, a child of the root element, whose single Reference
// names the root's ID (5.4.2), exclusive C14N (5.4.3), the transforms
// enveloped-signature and exclusive C14N only (5.4.4), the latter with an
// optional InclusiveNamespaces PrefixList; and, as on the HTTP-Redirect
// binding, no SHA-1.

// Other algorithm URIs found in SPs' signatures.
const (
	algExcC14NComments = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
	algSHA384          = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	algSHA512          = "http://www.w3.org/2001/04/xmlenc#sha512"
)

var digestAlgs = map[string]bool{algSHA256: true, algSHA384: true, algSHA512: true}

// errNoSignature reports a POST message without an enveloped signature.
var errNoSignature = errors.New("no enveloped signature")

// goxmldsigDigestMismatch is how goxmldsig (v1.6) reports a digest that
// does not match, once the signature over SignedInfo has verified: the
// key is right and the message was changed.
const goxmldsigDigestMismatch = "Signature could not be verified"

// verifyEnveloped verifies the enveloped signature of the root element of
// data with the certificates, as described at the top of this file.
func verifyEnveloped(data []byte, certs []*x509.Certificate) error {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		return fmt.Errorf("not well-formed XML: %w", err)
	}
	if n := len(doc.ChildElements()); n != 1 {
		return fmt.Errorf("the message has %d root elements", n)
	}
	root := doc.Root()
	sig, err := envelopedSignature(root)
	if err != nil {
		return err
	}
	if err := checkSignatureProfile(root, sig); err != nil {
		return err
	}
	// The SP's key is the one its metadata gives, whatever the message
	// names: KeyInfo, which the signature does not cover, is dropped, and
	// goxmldsig verifies with the one certificate it is given.
	for _, keyInfo := range dsChildren(sig, "KeyInfo") {
		sig.RemoveChild(keyInfo)
	}
	value := dsChildren(sig, "SignatureValue")[0]
	for _, cert := range certs {
		err := verifyWith(root, value, cert)
		if err == nil {
			return nil
		}
		if err.Error() == goxmldsigDigestMismatch {
			return errors.New("the digest does not match: the message was changed after it was signed, or the SP canonicalises it differently")
		}
	}
	names := make([]string, len(certs))
	for i, c := range certs {
		names[i] = describeCert(c)
	}
	return fmt.Errorf("the signature does not verify with the SP's certificate (%s): the SP signs with another key, or the message was changed on the way", strings.Join(names, "; "))
}

// verifyWith verifies root's signature with goxmldsig and the key of cert.
// value is the signature's SignatureValue.
func verifyWith(root, value *etree.Element, cert *x509.Certificate) error {
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); ok {
		// ECDSA values are r||s (XML-DSig 1.1 section 6.4.3); goxmldsig
		// verifies through crypto/x509, which wants them in ASN.1.
		original := value.Text()
		raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(original), ""))
		size := (pub.Curve.Params().BitSize + 7) / 8
		if err == nil && len(raw) == 2*size {
			der, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(raw[:size]), new(big.Int).SetBytes(raw[size:])})
			if err != nil {
				return err
			}
			value.SetText(base64.StdEncoding.EncodeToString(der))
			defer value.SetText(original)
		}
	}
	ctx := dsig.NewDefaultValidationContext(&dsig.MemoryX509CertificateStore{Roots: []*x509.Certificate{cert}})
	// The SP's metadata makes its key trusted, not the certificate's
	// validity dates (SAML V2.0 Metadata Interoperability Profile), which
	// goxmldsig checks: it is given an instant they cover.
	ctx.Clock = dsig.NewFakeClockAt(cert.NotBefore)
	_, err := ctx.Validate(root)
	return err
}

// envelopedSignature returns the ds:Signature child of root, or
// errNoSignature. A signature elsewhere in the message is not the
// message's, but it must not be there either: goxmldsig would take the
// first that names the root.
func envelopedSignature(root *etree.Element) (*etree.Element, error) {
	var all []*etree.Element
	var walk func(*etree.Element)
	walk = func(el *etree.Element) {
		for _, c := range el.ChildElements() {
			if isDS(c, "Signature") {
				all = append(all, c)
			}
			walk(c)
		}
	}
	walk(root)
	sigs := dsChildren(root, "Signature")
	switch {
	case len(sigs) == 0:
		return nil, errNoSignature
	case len(all) > 1:
		return nil, fmt.Errorf("the message holds %d signatures; SAML signs a message with one, a child of its root element", len(all))
	}
	return sigs[0], nil
}

// checkSignatureProfile checks the signature sig of root against the
// rules at the top of this file.
func checkSignatureProfile(root, sig *etree.Element) error {
	si := dsOne(sig, "SignedInfo")
	if si == nil || dsOne(sig, "SignatureValue") == nil {
		return errors.New("the signature must have one SignedInfo and one SignatureValue")
	}
	cm, sm := dsOne(si, "CanonicalizationMethod"), dsOne(si, "SignatureMethod")
	if cm == nil || sm == nil {
		return errors.New("the signature must have one CanonicalizationMethod and one SignatureMethod")
	}
	if a := cm.SelectAttrValue("Algorithm", ""); a != algExcC14N {
		return fmt.Errorf("the SignedInfo is canonicalised with %q; this IdP verifies exclusive C14N (%s) only", a, algExcC14N)
	}
	if _, err := signatureHash(sm.SelectAttrValue("Algorithm", "")); err != nil {
		return err
	}
	refs := dsChildren(si, "Reference")
	if len(refs) != 1 {
		return fmt.Errorf("the signature has %d References; SAML requires exactly one", len(refs))
	}
	ref := refs[0]
	if id, uri := root.SelectAttrValue("ID", ""), ref.SelectAttrValue("URI", ""); id == "" || uri != "#"+id {
		return fmt.Errorf("the Reference URI %q does not name the signed message (ID %q)", uri, id)
	}
	enveloped, c14n := false, false
	if transforms := dsOne(ref, "Transforms"); transforms != nil {
		for _, tr := range dsChildren(transforms, "Transform") {
			switch a := tr.SelectAttrValue("Algorithm", ""); a {
			case algEnveloped:
				enveloped = true
			case algExcC14N:
				c14n = true
			case algExcC14NComments:
				return errors.New("the #WithComments canonicalisation is not accepted")
			default:
				return fmt.Errorf("the transform %q is not accepted (enveloped-signature and exclusive C14N are)", a)
			}
		}
	}
	if !enveloped || !c14n {
		return errors.New("the Reference must have the enveloped-signature and exclusive C14N transforms")
	}
	dm := dsOne(ref, "DigestMethod")
	if dm == nil || dsOne(ref, "DigestValue") == nil {
		return errors.New("the Reference must have one DigestMethod and one DigestValue")
	}
	if a := dm.SelectAttrValue("Algorithm", ""); !digestAlgs[a] {
		return fmt.Errorf("the digest %q is not accepted (SHA-256, SHA-384 and SHA-512 are)", a)
	}
	return nil
}

// isDS reports whether el is the XML-DSig element named local.
func isDS(el *etree.Element, local string) bool {
	return el.Tag == local && el.NamespaceURI() == nsDSig
}

// dsChildren returns the children of el that are the XML-DSig element
// named local.
func dsChildren(el *etree.Element, local string) []*etree.Element {
	var out []*etree.Element
	for _, c := range el.ChildElements() {
		if isDS(c, local) {
			out = append(out, c)
		}
	}
	return out
}

// dsOne returns the child of el that is the XML-DSig element named local,
// or nil when there is none or more than one.
func dsOne(el *etree.Element, local string) *etree.Element {
	if c := dsChildren(el, local); len(c) == 1 {
		return c[0]
	}
	return nil
}
