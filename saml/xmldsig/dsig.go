package saml

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"

	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"slices"
	"strings"

	// Register the hash functions used by XML-DSig.
	_ "crypto/sha512"
)

// XML-DSig (XML Signature Syntax and Processing 1.1) verification of the
// enveloped signatures SAML uses (SAML Core 5.4): one Reference whose URI is
// "#" + the ID of the element holding the Signature, the enveloped-signature
// transform and at most one canonicalisation transform.

const (
	nsDSig = "http://www.w3.org/2000/09/xmldsig#"

	algRSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	algRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	algRSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	algRSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	algECDSASHA1   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	algECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	algECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	algECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

	algSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	algSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	algSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	algSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

type sigAlg struct {
	hash  crypto.Hash
	ecdsa bool
}

var sigAlgs = map[string]sigAlg{
	algRSASHA1:     {crypto.SHA1, false},
	algRSASHA256:   {crypto.SHA256, false},
	algRSASHA384:   {crypto.SHA384, false},
	algRSASHA512:   {crypto.SHA512, false},
	algECDSASHA1:   {crypto.SHA1, true},
	algECDSASHA256: {crypto.SHA256, true},
	algECDSASHA384: {crypto.SHA384, true},
	algECDSASHA512: {crypto.SHA512, true},
}

var digestAlgs = map[string]crypto.Hash{
	algSHA1:   crypto.SHA1,
	algSHA256: crypto.SHA256,
	algSHA384: crypto.SHA384,
	algSHA512: crypto.SHA512,
}

// trustedKey is one certificate from the IdP's metadata, prepared once.
type trustedKey struct {
	cert        *x509.Certificate
	pub         crypto.PublicKey
	b64         string // base64 of the DER, to match KeyInfo without decoding
	fingerprint string
}

// Fingerprint returns the SHA-256 fingerprint of a certificate as colon
// separated upper-case hex, the form administrators compare in IdP consoles.
func Fingerprint(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return colonHex(sum[:])
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(':')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

func describeCert(c *x509.Certificate) string {
	return fmt.Sprintf("%q (SHA-256 %s, valid until %s)", c.Subject.String(), Fingerprint(c), c.NotAfter.UTC().Format("2006-01-02"))
}

func newTrustedKey(c *x509.Certificate) trustedKey {
	return trustedKey{cert: c, pub: c.PublicKey, b64: base64.StdEncoding.EncodeToString(c.Raw), fingerprint: Fingerprint(c)}
}

// stripSpace removes XML whitespace from base64 text (only copying when
// needed).
func stripSpace(s string) string {
	i := 0
	for i < len(s) && !isSpace(s[i]) {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if !isSpace(s[i]) {
			b = append(b, s[i])
		}
	}
	return string(b)
}

func decodeB64(s string) ([]byte, error) {
	s = stripSpace(s)
	return base64.StdEncoding.DecodeString(s)
}

// verifyOpts carries what the verifier needs from the configuration.
type verifyOpts struct {
	keys      []trustedKey
	allowSHA1 bool
	what      string // "Response", "Assertion", "LogoutRequest", for messages
}

// signatureOf returns the ds:Signature child of el, nil when there is none.
func signatureOf(el *node) (*node, error) {
	var sig *node
	for c := el.first; c != nil; c = c.next {
		if c.is(nsDSig, "Signature") {
			if sig != nil {
				return nil, errorf(ReasonSignatureInvalid, "<%s> holds two Signature elements", el.local)
			}
			sig = c
		}
	}
	return sig, nil
}

func onlyChild(parent *node, space, local string) (*node, error) {
	var found *node
	for c := parent.first; c != nil; c = c.next {
		if c.is(space, local) {
			if found != nil {
				return nil, errorf(ReasonSignatureInvalid, "<%s> holds more than one <%s>", parent.local, local)
			}
			found = c
		}
	}
	if found == nil {
		return nil, errorf(ReasonSignatureInvalid, "<%s> lacks <%s>", parent.local, local)
	}
	return found, nil
}

// c14nMethod is a canonicalisation algorithm Lanyard computes.
type c14nMethod uint8

const (
	c14nExclusive c14nMethod = iota
	c14nInclusive10
	c14nInclusive11
)

func c14nAlgorithm(alg string) (c14nMethod, error) {
	switch alg {
	case algExcC14N:
		return c14nExclusive, nil
	case algC14N10:
		return c14nInclusive10, nil
	case algC14N11:
		return c14nInclusive11, nil
	case algExcC14NComm, algC14N10Comments, algC14N11Comments:
		return 0, errorf(ReasonUnsupportedAlgorithm, "canonicalisation %s (with comments) is refused: comments would let a signed value differ from the value read", alg)
	}
	return 0, errorf(ReasonUnsupportedAlgorithm, "canonicalisation algorithm %q is not supported (use exclusive C14N)", alg)
}

// maxInclusivePrefixes bounds the InclusiveNamespaces PrefixList (IdPs send
// one or two prefixes, "xs" typically).
const maxInclusivePrefixes = 16

// inclusivePrefixes returns the InclusiveNamespaces PrefixList of the
// transform t as a set ("" for #default), refusing lists of more than
// maxInclusivePrefixes distinct prefixes. It reads the attribute once,
// without splitting it all first.
func inclusivePrefixes(t *node) ([]string, error) {
	in := t.child(algExcC14N, "InclusiveNamespaces")
	if in == nil {
		return nil, nil
	}
	var set []string
	rest := in.attrValue("PrefixList")
	for {
		i := 0
		for i < len(rest) && isSpace(rest[i]) {
			i++
		}
		j := i
		for j < len(rest) && !isSpace(rest[j]) {
			j++
		}
		if i == j {
			return set, nil
		}
		p := rest[i:j]
		rest = rest[j:]
		if p == "#default" {
			p = ""
		}
		if slices.Contains(set, p) {
			continue
		}
		if len(set) == maxInclusivePrefixes {
			return nil, errorf(ReasonTooLarge, "the InclusiveNamespaces PrefixList names more than %d prefixes", maxInclusivePrefixes)
		}
		set = append(set, p)
	}
}

// maxSignedInfoNodes bounds the elements and text nodes of SignedInfo (a
// SAML signature has about a dozen), so that canonicalising it before the
// signature check is cheap.
const maxSignedInfoNodes = 64

// withinNodes tells whether the subtree of n has at most max nodes.
func withinNodes(n *node, max int) bool {
	count := 0
	var walk func(*node) bool
	walk = func(e *node) bool {
		for c := e.first; c != nil; c = c.next {
			count++
			if count > max || c.kind == kindElement && !walk(c) {
				return false
			}
		}
		return true
	}
	return walk(n)
}

// verifyEnveloped checks the enveloped signature sig of element el. It
// returns nil only if the single Reference covers el itself, SignedInfo is
// signed by one of the trusted keys, and the digest matches the canonical
// form of el (without sig).
//
// The cheap checks come first and the digest of el, the expensive part,
// last: a document without a trusted key's signature costs the structure
// checks, the canonical form of a bounded SignedInfo and one signature
// verification per trusted key.
func verifyEnveloped(el, sig *node, o *verifyOpts) error {
	id := el.attrValue("ID")
	if id == "" {
		return errorf(ReasonSignatureInvalid, "the signed <%s> has no ID attribute", el.local)
	}
	if len(o.keys) == 0 {
		return &Error{Reason: ReasonSignatureInvalid, Expected: "(none configured)",
			Message: fmt.Sprintf("the %s's signature cannot be verified: the IdP has no trusted signing certificate", o.what)}
	}
	si, err := onlyChild(sig, nsDSig, "SignedInfo")
	if err != nil {
		return err
	}
	cm, err := onlyChild(si, nsDSig, "CanonicalizationMethod")
	if err != nil {
		return err
	}
	siMethod, err := c14nAlgorithm(cm.attrValue("Algorithm"))
	if err != nil {
		return err
	}
	sm, err := onlyChild(si, nsDSig, "SignatureMethod")
	if err != nil {
		return err
	}
	smAlg := sm.attrValue("Algorithm")
	alg, ok := sigAlgs[smAlg]
	if !ok {
		return errorf(ReasonUnsupportedAlgorithm, "signature algorithm %q is not supported", smAlg)
	}
	if alg.hash == crypto.SHA1 && !o.allowSHA1 {
		return errorf(ReasonSHA1Refused, "the %s is signed with %s (SHA-1), which is refused; configure the IdP to sign with SHA-256, or mark this IdP as legacy to accept SHA-1", o.what, smAlg)
	}
	// Exactly one Reference, to the element that holds the signature:
	// anything else is a signature-wrapping attempt.
	ref, err := onlyChild(si, nsDSig, "Reference")
	if err != nil {
		return err
	}
	if uri := ref.attrValue("URI"); uri != "#"+id {
		return &Error{Reason: ReasonSignatureInvalid, Expected: "#" + id, Got: uri,
			Message: fmt.Sprintf("the signature inside <%s ID=%q> references %q, not the element that holds it", el.local, id, uri)}
	}
	// At most the enveloped-signature transform then one canonicalisation:
	// the loop stops at the first transform beyond those.
	method, sawEnveloped, sawC14N := c14nInclusive10, false, false
	var prefixes []string
	if ts := ref.child(nsDSig, "Transforms"); ts != nil {
		for t := ts.first; t != nil; t = t.next {
			if t.kind != kindElement {
				continue
			}
			if !t.is(nsDSig, "Transform") {
				return errorf(ReasonSignatureInvalid, "unexpected <%s> in Transforms", t.local)
			}
			a := t.attrValue("Algorithm")
			switch {
			case a == algEnveloped && !sawEnveloped && !sawC14N:
				sawEnveloped = true
			case (a == algExcC14N || a == algC14N10 || a == algC14N11) && !sawC14N:
				sawC14N = true
				method, _ = c14nAlgorithm(a)
				if method == c14nExclusive {
					if prefixes, err = inclusivePrefixes(t); err != nil {
						return err
					}
				}
			default:
				if _, err := c14nAlgorithm(a); err != nil && a != algEnveloped {
					return err
				}
				return errorf(ReasonSignatureInvalid, "transform %q is not allowed here (SAML allows enveloped-signature and one canonicalisation)", a)
			}
		}
	}
	if !sawEnveloped {
		return errorf(ReasonSignatureInvalid, "the Reference lacks the enveloped-signature transform")
	}
	dm, err := onlyChild(ref, nsDSig, "DigestMethod")
	if err != nil {
		return err
	}
	dmAlg := dm.attrValue("Algorithm")
	dh, ok := digestAlgs[dmAlg]
	if !ok {
		return errorf(ReasonUnsupportedAlgorithm, "digest algorithm %q is not supported", dmAlg)
	}
	if dh == crypto.SHA1 && !o.allowSHA1 {
		return errorf(ReasonSHA1Refused, "the %s's digest uses SHA-1, which is refused; configure the IdP to use SHA-256, or mark this IdP as legacy", o.what)
	}
	dv, err := onlyChild(ref, nsDSig, "DigestValue")
	if err != nil {
		return err
	}
	want, err := decodeB64(dv.textContent())
	if err != nil || len(want) != dh.Size() {
		return errorf(ReasonSignatureInvalid, "DigestValue is not a base64 %s digest", dmAlg)
	}
	var siPrefixes []string
	if siMethod == c14nExclusive {
		if siPrefixes, err = inclusivePrefixes(cm); err != nil {
			return err
		}
	}
	if !withinNodes(si, maxSignedInfoNodes) {
		return errorf(ReasonTooLarge, "the %s's SignedInfo has more than %d elements and text nodes", o.what, maxSignedInfoNodes)
	}
	sv, err := onlyChild(sig, nsDSig, "SignatureValue")
	if err != nil {
		return err
	}
	svText := sv.textContent()
	if len(svText) > maxSignatureValue {
		return errorf(ReasonSignatureInvalid, "the %s's SignatureValue is longer than any supported key's signature", o.what)
	}
	sigBytes, err := decodeB64(svText)
	if err != nil {
		return errorf(ReasonSignatureInvalid, "SignatureValue is not valid base64")
	}

	// The signature over SignedInfo, before any digest of el.
	sh := alg.hash.New()
	canonicalize(sh, si, siMethod, siPrefixes, nil)
	var sum [64]byte
	digest := sh.Sum(sum[:0])
	if err := verifySignedInfo(sig, alg, digest, sigBytes, o); err != nil {
		return err
	}

	h := dh.New()
	canonicalize(h, el, method, prefixes, sig)
	var sum2 [64]byte
	if got := h.Sum(sum2[:0]); !bytes.Equal(got, want) {
		return errorf(ReasonSignatureInvalid, "the digest of <%s ID=%q> does not match the signed DigestValue: the %s was modified after it was signed", el.local, id, o.what)
	}
	return nil
}

// maxSignatureValue bounds the SignatureValue text: base64 of an RSA
// 16384-bit signature with line breaks.
const maxSignatureValue = 4096

// maxDiagnosticBits bounds the RSA key of a KeyInfo certificate that is
// not trusted and is tried only to tell untrusted_key from
// signature_invalid.
const maxDiagnosticBits = 4096

// verifySignedInfo verifies the signature value over the SignedInfo digest
// with the trusted keys, the one KeyInfo names first. KeyInfo only selects
// among trusted keys; a certificate found only there is never trusted.
func verifySignedInfo(sig *node, alg sigAlg, digest, sigBytes []byte, o *verifyOpts) error {
	kiCert := ""
	if ki := sig.child(nsDSig, "KeyInfo"); ki != nil {
		if xd := ki.child(nsDSig, "X509Data"); xd != nil {
			if xc := xd.child(nsDSig, "X509Certificate"); xc != nil {
				kiCert = stripSpace(xc.textContent())
			}
		}
	}
	if kiCert != "" {
		for i := range o.keys {
			if o.keys[i].b64 == kiCert && verifyRaw(o.keys[i].pub, alg, digest, sigBytes) {
				return nil
			}
		}
	}
	for i := range o.keys {
		if o.keys[i].b64 != kiCert && verifyRaw(o.keys[i].pub, alg, digest, sigBytes) {
			return nil
		}
	}
	expected := make([]string, len(o.keys))
	for i := range o.keys {
		expected[i] = describeCert(o.keys[i].cert)
	}
	exp := strings.Join(expected, "; ")
	if kiCert != "" && len(kiCert) <= maxSignatureValue*4 {
		if der, err := base64.StdEncoding.DecodeString(kiCert); err == nil {
			if c, err := x509.ParseCertificate(der); err == nil {
				if k, ok := c.PublicKey.(*rsa.PublicKey); (!ok || k.N.BitLen() <= maxDiagnosticBits) && verifyRaw(c.PublicKey, alg, digest, sigBytes) {
					return &Error{Reason: ReasonUntrustedKey, Expected: exp, Got: describeCert(c),
						Message: fmt.Sprintf("the %s is signed by certificate %s, which is not among the IdP's trusted signing certificates %s; if the IdP rolled its certificate over, re-import its metadata", o.what, describeCert(c), exp)}
				}
				return &Error{Reason: ReasonSignatureInvalid, Expected: exp, Got: describeCert(c),
					Message: fmt.Sprintf("the %s's signature does not verify with any trusted certificate %s (its KeyInfo names %s, which does not verify it either)", o.what, exp, describeCert(c))}
			}
		}
	}
	return &Error{Reason: ReasonSignatureInvalid, Expected: exp,
		Message: fmt.Sprintf("the %s's signature does not verify with any trusted certificate: expected a signature by %s", o.what, exp)}
}

// verifyRaw verifies a signature value over a digest. ECDSA signature values
// are the raw r||s concatenation of XML-DSig 1.1 section 6.4.3, not DER.
func verifyRaw(pub crypto.PublicKey, alg sigAlg, digest, sig []byte) bool {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg.ecdsa {
			return false
		}
		return rsa.VerifyPKCS1v15(k, alg.hash, digest, sig) == nil
	case *ecdsa.PublicKey:
		if !alg.ecdsa {
			return false
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return false
		}
		r := new(big.Int).SetBytes(sig[:size])
		s := new(big.Int).SetBytes(sig[size:])
		return ecdsa.Verify(k, digest, r, s)
	}
	return false
}
