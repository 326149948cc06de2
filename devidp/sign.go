package devidp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
)

// Signature algorithms (XML-DSig 1.1, RFC 6931), used both in XML
// signatures and as the SigAlg of the HTTP-Redirect binding.
const (
	algRSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algRSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	algRSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	algECDSASHA1   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	algECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	algECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	algECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

	algExcC14N   = "http://www.w3.org/2001/10/xml-exc-c14n#"
	algEnveloped = "http://www.w3.org/2000/09/xmldsig#enveloped-signature"
	algSHA256    = "http://www.w3.org/2001/04/xmlenc#sha256"
)

// verifyAlgs are the SigAlg values accepted on requests from SPs, with
// their hash. SHA-1 is refused with its own message (see verifyRedirect).
var verifyAlgs = map[string]crypto.Hash{
	algRSASHA256: crypto.SHA256, algRSASHA384: crypto.SHA384, algRSASHA512: crypto.SHA512,
	algECDSASHA256: crypto.SHA256, algECDSASHA384: crypto.SHA384, algECDSASHA512: crypto.SHA512,
}

// signer signs the IdP's messages with one key, always with SHA-256.
type signer struct {
	key  crypto.Signer
	cert *x509.Certificate
	alg  string // signature algorithm URI
}

func newSigner(key crypto.Signer, cert *x509.Certificate) (*signer, error) {
	s := &signer{key: key, cert: cert}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		s.alg = algRSASHA256
	case *ecdsa.PublicKey:
		s.alg = algECDSASHA256
	default:
		return nil, fmt.Errorf("devidp: unsupported key type %T: use RSA or ECDSA", pub)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, errors.New("devidp: the certificate does not belong to the private key")
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// sign returns the signature of the SHA-256 digest of data. ECDSA
// signatures are the raw r||s that XML-DSig 1.1 (section 6.4.3) and the
// HTTP-Redirect binding use, not ASN.1.
func (s *signer) sign(data []byte) ([]byte, error) {
	digest := sha256.Sum256(data)
	sig, err := s.key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devidp: signing: %w", err)
	}
	pub, ok := s.key.Public().(*ecdsa.PublicKey)
	if !ok {
		return sig, nil
	}
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(sig, &rs); err != nil {
		return nil, fmt.Errorf("devidp: signing: ECDSA signature: %w", err)
	}
	size := (pub.Curve.Params().BitSize + 7) / 8
	out := make([]byte, 2*size)
	rs.R.FillBytes(out[:size])
	rs.S.FillBytes(out[size:])
	return out, nil
}

// signedElement is an element to sign with an enveloped signature, split
// where the Signature goes: right after its Issuer (SAML Core 5.4.1).
// head and tail are canonical (see xml.go), and head+tail is the
// element's canonical form without the signature.
type signedElement struct {
	id         string
	head, tail string
}

// signEnveloped returns the element with an enveloped XML signature
// inserted after head: exclusive C14N, SHA-256 digest, RSA-SHA256 (or
// ECDSA-SHA256), a single Reference to the element's ID, and the
// certificate in KeyInfo. Since head+tail is already canonical, the
// digest is computed over it directly; the enveloped-signature transform
// removes exactly the inserted Signature again.
func (s *signer) signEnveloped(e signedElement) (string, error) {
	digest := sha256.Sum256([]byte(e.head + e.tail))
	reference := element("ds:Reference", []attr{{"URI", "#" + e.id}},
		element("ds:Transforms", nil,
			element("ds:Transform", []attr{{"Algorithm", algEnveloped}}),
			element("ds:Transform", []attr{{"Algorithm", algExcC14N}})),
		element("ds:DigestMethod", []attr{{"Algorithm", algSHA256}}),
		element("ds:DigestValue", nil, base64.StdEncoding.EncodeToString(digest[:])))
	content := element("ds:CanonicalizationMethod", []attr{{"Algorithm", algExcC14N}}) +
		element("ds:SignatureMethod", []attr{{"Algorithm", s.alg}}) +
		reference
	// SignedInfo is canonicalised on its own: the ds prefix, declared on
	// Signature in the document, is rendered on SignedInfo.
	sig, err := s.sign([]byte(element("ds:SignedInfo", []attr{ns("ds", nsDSig)}, content)))
	if err != nil {
		return "", err
	}
	signature := element("ds:Signature", []attr{ns("ds", nsDSig)},
		element("ds:SignedInfo", nil, content),
		element("ds:SignatureValue", nil, base64.StdEncoding.EncodeToString(sig)),
		element("ds:KeyInfo", nil, element("ds:X509Data", nil,
			element("ds:X509Certificate", nil, base64.StdEncoding.EncodeToString(s.cert.Raw)))))
	return e.head + signature + e.tail, nil
}

// redirectQuery returns the query string of an HTTP-Redirect binding
// message signed as SAML Bindings 3.4.4.1 says: the signature covers
// "SAMLRequest=...&RelayState=...&SigAlg=..." (or SAMLResponse) exactly
// as URL-encoded in the query.
func (s *signer) redirectQuery(param string, xml []byte, relayState string) (string, error) {
	value, err := deflateBase64(xml)
	if err != nil {
		return "", err
	}
	q := param + "=" + url.QueryEscape(value)
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	q += "&SigAlg=" + url.QueryEscape(s.alg)
	sig, err := s.sign([]byte(q))
	if err != nil {
		return "", err
	}
	return q + "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig)), nil
}

// verifySignature checks a signature over data made with sigAlg by the
// key of one of certs. It returns nil when one of them verifies it.
func verifySignature(sigAlg string, data, sig []byte, certs []*x509.Certificate) error {
	if sigAlg == algRSASHA1 || sigAlg == algECDSASHA1 {
		return fmt.Errorf("the signature uses SHA-1 (%s), which is refused: configure the SP to sign with SHA-256", sigAlg)
	}
	h, ok := verifyAlgs[sigAlg]
	if !ok {
		return fmt.Errorf("the signature algorithm %q is not supported (RSA or ECDSA with SHA-256, -384 or -512 are)", sigAlg)
	}
	hh := h.New()
	hh.Write(data)
	digest := hh.Sum(nil)
	isECDSA := strings.Contains(sigAlg, "ecdsa")
	for _, c := range certs {
		switch pub := c.PublicKey.(type) {
		case *rsa.PublicKey:
			if !isECDSA && rsa.VerifyPKCS1v15(pub, h, digest, sig) == nil {
				return nil
			}
		case *ecdsa.PublicKey:
			size := (pub.Curve.Params().BitSize + 7) / 8
			if isECDSA && len(sig) == 2*size {
				r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
				if ecdsa.Verify(pub, digest, r, s) {
					return nil
				}
			}
		}
	}
	names := make([]string, len(certs))
	for i, c := range certs {
		names[i] = describeCert(c)
	}
	return fmt.Errorf("the signature does not verify with the SP's certificate (%s): the SP signs with another key, or the message was changed on the way", strings.Join(names, "; "))
}

// describeCert names a certificate for messages: subject and SHA-256
// fingerprint.
func describeCert(c *x509.Certificate) string {
	return fmt.Sprintf("%q, SHA-256 %s", c.Subject.CommonName, Fingerprint(c))
}

// Fingerprint returns the SHA-256 fingerprint of a certificate as colon
// separated upper-case hex, the form administrators compare in consoles.
func Fingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
