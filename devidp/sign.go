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
	"io"
	"math/big"
	"net/url"
	"strings"

	"github.com/beevik/etree"
	dsig "github.com/russellhaering/goxmldsig"
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
// their hash. SHA-1 is refused with its own message (see signatureHash).
var verifyAlgs = map[string]crypto.Hash{
	algRSASHA256: crypto.SHA256, algRSASHA384: crypto.SHA384, algRSASHA512: crypto.SHA512,
	algECDSASHA256: crypto.SHA256, algECDSASHA384: crypto.SHA384, algECDSASHA512: crypto.SHA512,
}

// signer signs the IdP's messages with one key, always with SHA-256.
type signer struct {
	key  crypto.Signer // signs r||s for ECDSA (see rawECDSASigner)
	cert *x509.Certificate
	alg  string // signature algorithm URI
	// xml makes the enveloped XML signatures: goxmldsig, with exclusive
	// C14N (SAML Core 5.4.3) and SHA-256 digests.
	xml *dsig.SigningContext
}

func newSigner(key crypto.Signer, cert *x509.Certificate) (*signer, error) {
	s := &signer{key: key, cert: cert}
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		s.alg = algRSASHA256
	case *ecdsa.PublicKey:
		s.alg = algECDSASHA256
		s.key = rawECDSASigner{Signer: key, size: (pub.Curve.Params().BitSize + 7) / 8}
	default:
		return nil, fmt.Errorf("devidp: unsupported key type %T: use RSA or ECDSA", pub)
	}
	if !publicKeysEqual(key.Public(), cert.PublicKey) {
		return nil, errors.New("devidp: the certificate does not belong to the private key")
	}
	ctx, err := dsig.NewSigningContext(s.key, [][]byte{cert.Raw})
	if err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	ctx.Canonicalizer = dsig.MakeC14N10ExclusiveCanonicalizerWithPrefixList("")
	if err := ctx.SetSignatureMethod(s.alg); err != nil {
		return nil, fmt.Errorf("devidp: %w", err)
	}
	s.xml = ctx
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// rawECDSASigner makes an ECDSA key sign in the form XML-DSig 1.1
// (section 6.4.3) and the HTTP-Redirect binding use, r||s each padded to
// the size of the curve, instead of the ASN.1 that crypto.Signer returns
// and goxmldsig would send as it is.
type rawECDSASigner struct {
	crypto.Signer
	size int
}

func (k rawECDSASigner) Sign(random io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := k.Signer.Sign(random, digest, opts)
	if err != nil {
		return nil, err
	}
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(sig, &rs); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("the ECDSA signature is not ASN.1: %v", err)
	}
	out := make([]byte, 2*k.size)
	rs.R.FillBytes(out[:k.size])
	rs.S.FillBytes(out[k.size:])
	return out, nil
}

// sign returns the signature of the SHA-256 digest of data.
func (s *signer) sign(data []byte) ([]byte, error) {
	digest := sha256.Sum256(data)
	sig, err := s.key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devidp: signing: %w", err)
	}
	return sig, nil
}

// canonicalWriting writes signed documents with the character references
// of canonical XML (CR in text; tab, LF and CR in attribute values), so
// that the receiver parses back the very characters that were signed:
// written raw, XML parsers normalise them.
var canonicalWriting = etree.WriteSettings{CanonicalEndTags: true, CanonicalText: true, CanonicalAttrVal: true}

// signEnveloped signs an element written by this package (an assertion or
// a protocol message, its namespaces declared within it) with goxmldsig:
// an enveloped signature with a single Reference to the element's ID and
// the certificate in KeyInfo. The Signature goes right after the Issuer,
// where SAML Core 5.4.1 and the schemas want it (goxmldsig's SignEnveloped
// would append it last).
func (s *signer) signEnveloped(unsigned string) (string, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromString(unsigned); err != nil {
		return "", fmt.Errorf("devidp: signing: %w", err)
	}
	root := doc.Root()
	signature, err := s.xml.ConstructSignature(root, true)
	if err != nil {
		return "", fmt.Errorf("devidp: signing: %w", err)
	}
	issuer := root.SelectElement("Issuer")
	if issuer == nil {
		return "", fmt.Errorf("devidp: signing: the %s has no Issuer", root.Tag)
	}
	root.InsertChildAt(issuer.Index()+1, signature)
	doc.WriteSettings = canonicalWriting
	return doc.WriteToString()
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

// signatureHash returns the hash of a signature algorithm accepted from
// SPs, or the error that refuses it.
func signatureHash(sigAlg string) (crypto.Hash, error) {
	if sigAlg == algRSASHA1 || sigAlg == algECDSASHA1 {
		return 0, fmt.Errorf("the signature uses SHA-1 (%s), which is refused: configure the SP to sign with SHA-256", sigAlg)
	}
	h, ok := verifyAlgs[sigAlg]
	if !ok {
		return 0, fmt.Errorf("the signature algorithm %q is not supported (RSA or ECDSA with SHA-256, -384 or -512 are)", sigAlg)
	}
	return h, nil
}

// verifySignature checks a signature over data made with sigAlg by the
// key of one of certs: the query-string signature of the HTTP-Redirect
// binding. It returns nil when one of them verifies it.
func verifySignature(sigAlg string, data, sig []byte, certs []*x509.Certificate) error {
	h, err := signatureHash(sigAlg)
	if err != nil {
		return err
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
