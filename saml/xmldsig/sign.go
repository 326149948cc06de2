package xmldsig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
)

// Signing: enveloped XML-DSig with exclusive C14N and SHA-256, and raw
// signatures of a SHA-256 digest (the query-string signature of the SAML
// HTTP-Redirect binding).

// SignatureMarker is where SignEnveloped puts the Signature; SAML callers
// place it right after the Issuer, as SAML Core 5.4.1 (and the schemas)
// require.
const SignatureMarker = "<!--lanyard:signature-->"

// SignatureAlgorithm returns the SignatureMethod URI SignDigest and
// SignEnveloped use with s: RSA or ECDSA with SHA-256.
func SignatureAlgorithm(s crypto.Signer) (string, error) {
	switch s.Public().(type) {
	case *ecdsa.PublicKey:
		return AlgECDSASHA256, nil
	case interface{ Size() int }:
		return AlgRSASHA256, nil
	}
	return "", fmt.Errorf("xmldsig: unsupported signing key type %T", s.Public())
}

// SignDigest signs a SHA-256 digest; ECDSA signatures are returned as r||s
// (XML-DSig 1.1 section 6.4.3; also what SAML Bindings 3.4.4.1 uses).
func SignDigest(s crypto.Signer, digest []byte) ([]byte, error) {
	sig, err := s.Sign(rand.Reader, digest, crypto.SHA256)
	if err != nil {
		return nil, err
	}
	if k, ok := s.Public().(*ecdsa.PublicKey); ok {
		var parsed struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(sig, &parsed); err != nil {
			return nil, err
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		parsed.R.FillBytes(out[:size])
		parsed.S.FillBytes(out[size:])
		return out, nil
	}
	return sig, nil
}

// SignEnveloped signs the element with the given ID in doc (which holds
// SignatureMarker inside that element) and returns the document with the
// Signature in place of the marker. The KeyInfo carries cert when it is not
// nil.
func SignEnveloped(doc, id string, signer crypto.Signer, cert *x509.Certificate) (string, error) {
	alg, err := SignatureAlgorithm(signer)
	if err != nil {
		return "", err
	}
	d, err := Parse([]byte(doc), Limits{})
	if err != nil {
		return "", fmt.Errorf("xmldsig: signing: %w", err)
	}
	var el *Node
	for n := range d.All() {
		if n.kind == kindElement && n.AttrValue("ID") == id {
			el = n
			break
		}
	}
	if el == nil {
		return "", fmt.Errorf("xmldsig: signing: no element with ID %q", id)
	}
	h := sha256.New()
	Canonicalize(h, el, ExclusiveC14N, nil, nil)
	digest := base64.StdEncoding.EncodeToString(h.Sum(nil))
	signedInfo := `<ds:SignedInfo xmlns:ds="` + NSDSig + `"><ds:CanonicalizationMethod Algorithm="` + AlgExcC14N + `"/><ds:SignatureMethod Algorithm="` + alg + `"/><ds:Reference URI="#` + id + `"><ds:Transforms><ds:Transform Algorithm="` + AlgEnveloped + `"/><ds:Transform Algorithm="` + AlgExcC14N + `"/></ds:Transforms><ds:DigestMethod Algorithm="` + AlgSHA256 + `"/><ds:DigestValue>` + digest + `</ds:DigestValue></ds:Reference></ds:SignedInfo>`
	// Canonical form of SignedInfo in its final context: exclusive C14N
	// renders only the ds prefix, declared on SignedInfo itself here.
	sd, err := Parse([]byte(signedInfo), Limits{})
	if err != nil {
		return "", err
	}
	sh := sha256.New()
	Canonicalize(sh, sd.root, ExclusiveC14N, nil, nil)
	sv, err := SignDigest(signer, sh.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("xmldsig: signing: %w", err)
	}
	keyInfo := ""
	if cert != nil {
		keyInfo = `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(cert.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`
	}
	sig := `<ds:Signature xmlns:ds="` + NSDSig + `">` + strings.Replace(signedInfo, ` xmlns:ds="`+NSDSig+`"`, "", 1) +
		`<ds:SignatureValue>` + base64.StdEncoding.EncodeToString(sv) + `</ds:SignatureValue>` + keyInfo + `</ds:Signature>`
	return strings.Replace(doc, SignatureMarker, sig, 1), nil
}
