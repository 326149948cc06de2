package saml

import (
	"crypto/x509"
	"unsafe"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// The XML machinery (parser, canonicalisation, XML-DSig, XML Encryption)
// is the xmldsig package; these names give its results this package's
// errors, whose reasons carry the same codes.

// Fingerprint returns the SHA-256 fingerprint of a certificate as colon
// separated upper-case hex, the form administrators compare in IdP consoles.
func Fingerprint(cert *x509.Certificate) string { return xmldsig.Fingerprint(cert) }

// fromXML turns an *xmldsig.Error into an *Error with the same reason and
// message; other errors pass unchanged.
func fromXML(err error) error {
	if e, ok := err.(*xmldsig.Error); ok {
		return &Error{Reason: Reason(e.Code), Message: e.Message, Expected: e.Expected, Got: e.Got}
	}
	return err
}

func parseXML(data []byte, lim xmldsig.Limits) (*xmldsig.Document, error) {
	d, err := xmldsig.Parse(data, lim)
	if err != nil {
		return nil, fromXML(err)
	}
	return d, nil
}

// parseXMLOwned parses data without copying it: the document's strings,
// and the Assertion's read from it, point into data, which the caller
// hands over (it never reads, writes or reuses data afterwards).
func parseXMLOwned(data []byte, lim xmldsig.Limits) (*xmldsig.Document, error) {
	d, err := xmldsig.ParseString(unsafe.String(unsafe.SliceData(data), len(data)), lim)
	if err != nil {
		return nil, fromXML(err)
	}
	return d, nil
}

func signatureOf(el *xmldsig.Node) (*xmldsig.Node, error) {
	sig, err := xmldsig.SignatureOf(el)
	return sig, fromXML(err)
}

func verifyEnveloped(el, sig *xmldsig.Node, o *xmldsig.VerifyOptions) error {
	return fromXML(xmldsig.VerifyEnveloped(el, sig, o))
}

// signEnveloped signs the element with the given ID in doc, which holds
// xmldsig.SignatureMarker right after its Issuer.
func signEnveloped(doc, id string, kp KeyPair) (string, error) {
	return xmldsig.SignEnveloped(doc, id, kp.Signer, kp.Certificate)
}
