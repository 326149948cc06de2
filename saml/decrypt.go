package saml

import "github.com/lanyard-sso/lanyard/saml/xmldsig"

// legacyHint names the setting that accepts the legacy algorithms, for
// the administrator's detail of a refusal.
const legacyHint = "configure the IdP to use AES and RSA-OAEP, or, if it cannot, turn on legacy encryption for this IdP (legacy_encryption; lanyard idp import --legacy-encryption)"

// encryptedKind is what an EncrypedElementType holds (SAML Core 2.2.4):
// the container's name, the element it decrypts to and how that element
// is named in messages.
type encryptedKind struct {
	container, want, what string
}

var (
	kindAssertion = encryptedKind{"EncryptedAssertion", "Assertion", "assertion"}
	kindID        = encryptedKind{"EncryptedID", "NameID", "identifier"}
)

// decryptAssertion decrypts an EncryptedAssertion and returns the Assertion
// element of the decrypted document, parsed in the namespace context of the
// EncryptedAssertion.
func (v *validation) decryptAssertion(ea *xmldsig.Node) (*xmldsig.Node, error) {
	return v.decryptElement(ea, kindAssertion)
}

// decryptID decrypts an EncryptedID (SAML Core 2.2.4) with the SP keys and
// returns its NameID (a BaseID or an encrypted attribute is refused). The
// caller makes every failure look the same, as for an EncryptedAssertion.
func (v *validation) decryptID(eid *xmldsig.Node) (*xmldsig.Node, error) {
	return v.decryptElement(eid, kindID)
}

// decryptElement decrypts ea, an element of kind k, with the SP keys and
// returns the root of the decrypted document, which v releases. The
// legacy algorithms are accepted only with the IdP's AllowLegacyEncryption
// (rsa-1_5 also with the SP's AllowRSA15).
func (v *validation) decryptElement(ea *xmldsig.Node, k encryptedKind) (*xmldsig.Node, error) {
	doc, err := xmldsig.Decrypt(ea, &xmldsig.DecryptOptions{
		Keys:           v.st.decrypt,
		AllowTripleDES: v.idp.AllowLegacyEncryption,
		AllowRSA15:     v.sp.AllowRSA15 || v.idp.AllowLegacyEncryption,
		LegacyHint:     legacyHint,
		MaxSize:        v.st.maxSize,
		What:           k.what,
		Accept:         func(d *xmldsig.Document) error { return acceptDecrypted(d, k) },
	})
	if err != nil {
		return nil, fromXML(err)
	}
	v.decrypted = append(v.decrypted, doc)
	return doc.Root(), nil
}

// acceptDecrypted checks that a decrypted document is one element of the
// kind expected: no assertion inside, and a NameID holds text only.
func acceptDecrypted(doc *xmldsig.Document, k encryptedKind) error {
	as := doc.Root()
	if !as.Is(nsSAML, k.want) {
		return errorf(ReasonMalformed, "the %s decrypts to <%s>, not a saml:%s", k.container, as.Local(), k.want)
	}
	for n := range doc.All() {
		if n != as && n.Is(nsSAML, "Assertion") {
			return errorf(ReasonMultipleAssertions, "the decrypted %s contains an assertion", k.what)
		}
		if n != as && k == kindID && n.IsElement() {
			return errorf(ReasonMalformed, "the decrypted NameID contains <%s>", n.Local())
		}
	}
	return nil
}
