package saml

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
)

// Signing of Lanyard's own messages: enveloped XML-DSig with exclusive C14N
// and SHA-256 (metadata, AuthnRequest and logout messages over HTTP-POST),
// and the query-string signature of the HTTP-Redirect binding.

// sigMarker is where signEnveloped puts the Signature; callers place it
// right after the Issuer, as SAML Core 5.4.1 (and the schemas) require.
const sigMarker = "<!--lanyard:signature-->"

func signatureAlgorithm(s crypto.Signer) (string, error) {
	switch s.Public().(type) {
	case *ecdsa.PublicKey:
		return algECDSASHA256, nil
	case interface{ Size() int }:
		return algRSASHA256, nil
	}
	return "", fmt.Errorf("saml: unsupported signing key type %T", s.Public())
}

// signRaw signs a SHA-256 digest; ECDSA signatures are returned as r||s
// (XML-DSig 1.1 section 6.4.3; also what SAML Bindings 3.4.4.1 uses).
func signRaw(s crypto.Signer, digest []byte) ([]byte, error) {
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

// signEnveloped signs the element with the given ID in doc (which holds
// sigMarker inside that element) and returns the document with the
// Signature in place of the marker.
func signEnveloped(doc, id string, kp KeyPair) (string, error) {
	alg, err := signatureAlgorithm(kp.Signer)
	if err != nil {
		return "", err
	}
	d, err := parseXML([]byte(doc), parseLimits{})
	if err != nil {
		return "", fmt.Errorf("saml: signing: %w", err)
	}
	var el *node
	for n := range d.all() {
		if n.kind == kindElement && n.attrValue("ID") == id {
			el = n
			break
		}
	}
	if el == nil {
		return "", fmt.Errorf("saml: signing: no element with ID %q", id)
	}
	h := sha256.New()
	canonicalize(h, el, c14nExclusive, nil, nil)
	digest := base64.StdEncoding.EncodeToString(h.Sum(nil))
	signedInfo := `<ds:SignedInfo xmlns:ds="` + nsDSig + `"><ds:CanonicalizationMethod Algorithm="` + algExcC14N + `"/><ds:SignatureMethod Algorithm="` + alg + `"/><ds:Reference URI="#` + id + `"><ds:Transforms><ds:Transform Algorithm="` + algEnveloped + `"/><ds:Transform Algorithm="` + algExcC14N + `"/></ds:Transforms><ds:DigestMethod Algorithm="` + algSHA256 + `"/><ds:DigestValue>` + digest + `</ds:DigestValue></ds:Reference></ds:SignedInfo>`
	// Canonical form of SignedInfo in its final context: exclusive C14N
	// renders only the ds prefix, declared on SignedInfo itself here.
	sd, err := parseXML([]byte(signedInfo), parseLimits{})
	if err != nil {
		return "", err
	}
	sh := sha256.New()
	canonicalize(sh, sd.root, c14nExclusive, nil, nil)
	sv, err := signRaw(kp.Signer, sh.Sum(nil))
	if err != nil {
		return "", fmt.Errorf("saml: signing: %w", err)
	}
	keyInfo := ""
	if kp.Certificate != nil {
		keyInfo = `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + base64.StdEncoding.EncodeToString(kp.Certificate.Raw) + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo>`
	}
	sig := `<ds:Signature xmlns:ds="` + nsDSig + `">` + strings.Replace(signedInfo, ` xmlns:ds="`+nsDSig+`"`, "", 1) +
		`<ds:SignatureValue>` + base64.StdEncoding.EncodeToString(sv) + `</ds:SignatureValue>` + keyInfo + `</ds:Signature>`
	return strings.Replace(doc, sigMarker, sig, 1), nil
}
