package xmldsig

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
	"hash"
	"math/big"
	"slices"
	"strings"
	"sync"

	// Register the hash functions used by XML-DSig.
	_ "crypto/sha512"
)

// XML-DSig (XML Signature Syntax and Processing 1.1) verification of the
// enveloped signatures SAML uses (SAML Core 5.4): one Reference whose URI is
// "#" + the ID of the element holding the Signature, the enveloped-signature
// transform and at most one canonicalisation transform.

const (
	NSDSig = "http://www.w3.org/2000/09/xmldsig#"

	AlgRSASHA1     = "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
	AlgRSASHA256   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
	AlgRSASHA384   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384"
	AlgRSASHA512   = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512"
	AlgECDSASHA1   = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1"
	AlgECDSASHA256 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
	AlgECDSASHA384 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
	AlgECDSASHA512 = "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512"

	AlgSHA1   = "http://www.w3.org/2000/09/xmldsig#sha1"
	AlgSHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"
	AlgSHA384 = "http://www.w3.org/2001/04/xmldsig-more#sha384"
	AlgSHA512 = "http://www.w3.org/2001/04/xmlenc#sha512"
)

type sigAlg struct {
	hash  crypto.Hash
	ecdsa bool
}

var sigAlgs = map[string]sigAlg{
	AlgRSASHA1:     {crypto.SHA1, false},
	AlgRSASHA256:   {crypto.SHA256, false},
	AlgRSASHA384:   {crypto.SHA384, false},
	AlgRSASHA512:   {crypto.SHA512, false},
	AlgECDSASHA1:   {crypto.SHA1, true},
	AlgECDSASHA256: {crypto.SHA256, true},
	AlgECDSASHA384: {crypto.SHA384, true},
	AlgECDSASHA512: {crypto.SHA512, true},
}

var digestAlgs = map[string]crypto.Hash{
	AlgSHA1:   crypto.SHA1,
	AlgSHA256: crypto.SHA256,
	AlgSHA384: crypto.SHA384,
	AlgSHA512: crypto.SHA512,
}

// Key is a trusted signing certificate, prepared once (NewKey).
type Key struct {
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

// DescribeCert names a certificate for an administrator: subject,
// SHA-256 fingerprint and end of validity.
func DescribeCert(c *x509.Certificate) string {
	return fmt.Sprintf("%q (SHA-256 %s, valid until %s)", c.Subject.String(), Fingerprint(c), c.NotAfter.UTC().Format("2006-01-02"))
}

// NewKey prepares a trusted certificate for VerifyEnveloped.
func NewKey(c *x509.Certificate) Key {
	return Key{cert: c, pub: c.PublicKey, b64: base64.StdEncoding.EncodeToString(c.Raw), fingerprint: Fingerprint(c)}
}

// StripSpace removes XML whitespace from base64 text (only copying when
// needed).
func StripSpace(s string) string {
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

// DecodeBase64 decodes the base64 text of an element (ds:X509Certificate,
// xenc:CipherValue), ignoring XML whitespace.
func DecodeBase64(s string) ([]byte, error) {
	s = StripSpace(s)
	return base64.StdEncoding.DecodeString(s)
}

// decodeInto is DecodeBase64 into buf when the value fits, else into a new
// slice.
func decodeInto(buf []byte, s string) ([]byte, error) {
	if base64.StdEncoding.DecodedLen(len(s)) <= len(buf) {
		// The decoder skips CR and LF itself; strip the other XML
		// whitespace (and copy) only for a value that holds some.
		if n, err := base64.StdEncoding.Decode(buf, []byte(s)); err == nil {
			return buf[:n], nil
		}
	}
	s = StripSpace(s)
	if base64.StdEncoding.DecodedLen(len(s)) > len(buf) {
		return base64.StdEncoding.DecodeString(s)
	}
	n, err := base64.StdEncoding.Decode(buf, []byte(s))
	return buf[:n], err
}

// sameBase64 reports whether text, without its XML whitespace, is b64:
// StripSpace(text) == b64 without the copy.
func sameBase64(text, b64 string) bool {
	// Runs of 64 bytes without whitespace (a certificate's lines are 64
	// or 76 characters, or one line) are compared as strings, the bytes
	// around the line breaks one by one.
	const block = 64
	i, j := 0, 0
	for i < len(text) {
		if i+block <= len(text) && j+block <= len(b64) && text[i:i+block] == b64[j:j+block] {
			i += block
			j += block
			continue
		}
		c := text[i]
		i++
		if isSpace(c) {
			continue
		}
		if j == len(b64) || b64[j] != c {
			return false
		}
		j++
	}
	return j == len(b64)
}

// VerifyOptions carries what the verifier needs from the configuration.
type VerifyOptions struct {
	// Keys are the trusted keys; KeyInfo only selects among them.
	Keys []Key
	// AllowSHA1 accepts SHA-1 digests and signatures.
	AllowSHA1 bool
	// What names the signed element in messages ("Response", "Assertion").
	What string
}

// SignatureOf returns the ds:Signature child of el, nil when there is none,
// and refuses two.
func SignatureOf(el *Node) (*Node, error) {
	el.live()
	var sig *Node
	for c := el.first; c != nil; c = c.next {
		if c.Is(NSDSig, "Signature") {
			if sig != nil {
				return nil, errorf(SignatureInvalid, "<%s> holds two Signature elements", el.local)
			}
			sig = c
		}
	}
	return sig, nil
}

func onlyChild(parent *Node, space, local string) (*Node, error) {
	var found *Node
	for c := parent.first; c != nil; c = c.next {
		if c.Is(space, local) {
			if found != nil {
				return nil, errorf(SignatureInvalid, "<%s> holds more than one <%s>", parent.local, local)
			}
			found = c
		}
	}
	if found == nil {
		return nil, errorf(SignatureInvalid, "<%s> lacks <%s>", parent.local, local)
	}
	return found, nil
}

// Method is a canonicalisation algorithm this package computes (all
// without comments: comments are not in the tree).
type Method uint8

// Canonicalisation methods.
const (
	ExclusiveC14N   Method = iota // Exclusive XML Canonicalization 1.0
	InclusiveC14N10               // Canonical XML 1.0
	InclusiveC14N11               // Canonical XML 1.1
)

// MethodOf returns the method of a CanonicalizationMethod or Transform
// algorithm URI, refusing the "#WithComments" variants.
func MethodOf(alg string) (Method, error) {
	switch alg {
	case AlgExcC14N:
		return ExclusiveC14N, nil
	case AlgC14N10:
		return InclusiveC14N10, nil
	case AlgC14N11:
		return InclusiveC14N11, nil
	case AlgExcC14NComm, AlgC14N10Comments, AlgC14N11Comments:
		return 0, errorf(UnsupportedAlgorithm, "canonicalisation %s (with comments) is refused: comments would let a signed value differ from the value read", alg)
	}
	return 0, errorf(UnsupportedAlgorithm, "canonicalisation algorithm %q is not supported (use exclusive C14N)", alg)
}

// MaxInclusivePrefixes bounds the InclusiveNamespaces PrefixList (IdPs send
// one or two prefixes, "xs" typically).
const MaxInclusivePrefixes = 16

// InclusivePrefixes returns the InclusiveNamespaces PrefixList of the
// transform t as a set ("" for #default), refusing lists of more than
// MaxInclusivePrefixes distinct prefixes. It reads the attribute once,
// without splitting it all first.
func InclusivePrefixes(t *Node) ([]string, error) {
	in := t.Child(AlgExcC14N, "InclusiveNamespaces")
	if in == nil {
		return nil, nil
	}
	var set []string
	rest := in.AttrValue("PrefixList")
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
		if len(set) == MaxInclusivePrefixes {
			return nil, errorf(TooLarge, "the InclusiveNamespaces PrefixList names more than %d prefixes", MaxInclusivePrefixes)
		}
		set = append(set, p)
	}
}

// MaxSignedInfoNodes bounds the elements and text nodes of SignedInfo (a
// SAML signature has about a dozen), so that canonicalising it before the
// signature check is cheap.
const MaxSignedInfoNodes = 64

// withinNodes tells whether the subtree of n has at most max nodes.
func withinNodes(n *Node, max int) bool {
	count := 0
	var walk func(*Node) bool
	walk = func(e *Node) bool {
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

// VerifyEnveloped checks the enveloped signature sig of element el. It
// returns nil only if the single Reference covers el itself, SignedInfo is
// signed by one of the trusted keys, and the digest matches the canonical
// form of el (without sig).
//
// The cheap checks come first and the digest of el, the expensive part,
// last: a document without a trusted key's signature costs the structure
// checks, the canonical form of a bounded SignedInfo and one signature
// verification per trusted key.
func VerifyEnveloped(el, sig *Node, o *VerifyOptions) error {
	el.live()
	sig.live()
	id := el.AttrValue("ID")
	if id == "" {
		return errorf(SignatureInvalid, "the signed <%s> has no ID attribute", el.local)
	}
	if len(o.Keys) == 0 {
		return &Error{Code: SignatureInvalid, Expected: "(none configured)",
			Message: fmt.Sprintf("the %s's signature cannot be verified: the IdP has no trusted signing certificate", o.What)}
	}
	si, err := onlyChild(sig, NSDSig, "SignedInfo")
	if err != nil {
		return err
	}
	cm, err := onlyChild(si, NSDSig, "CanonicalizationMethod")
	if err != nil {
		return err
	}
	siMethod, err := MethodOf(cm.AttrValue("Algorithm"))
	if err != nil {
		return err
	}
	sm, err := onlyChild(si, NSDSig, "SignatureMethod")
	if err != nil {
		return err
	}
	smAlg := sm.AttrValue("Algorithm")
	alg, ok := sigAlgs[smAlg]
	if !ok {
		return errorf(UnsupportedAlgorithm, "signature algorithm %q is not supported", smAlg)
	}
	if alg.hash == crypto.SHA1 && !o.AllowSHA1 {
		return errorf(SHA1Refused, "the %s is signed with %s (SHA-1), which is refused; configure the IdP to sign with SHA-256, or mark this IdP as legacy to accept SHA-1", o.What, smAlg)
	}
	// Exactly one Reference, to the element that holds the signature:
	// anything else is a signature-wrapping attempt.
	ref, err := onlyChild(si, NSDSig, "Reference")
	if err != nil {
		return err
	}
	if uri := ref.AttrValue("URI"); len(uri) != 1+len(id) || uri[0] != '#' || uri[1:] != id {
		return &Error{Code: SignatureInvalid, Expected: "#" + id, Got: uri,
			Message: fmt.Sprintf("the signature inside <%s ID=%q> references %q, not the element that holds it", el.local, id, uri)}
	}
	// At most the enveloped-signature transform then one canonicalisation:
	// the loop stops at the first transform beyond those.
	method, sawEnveloped, sawC14N := InclusiveC14N10, false, false
	var prefixes []string
	if ts := ref.Child(NSDSig, "Transforms"); ts != nil {
		for t := ts.first; t != nil; t = t.next {
			if t.kind != kindElement {
				continue
			}
			if !t.Is(NSDSig, "Transform") {
				return errorf(SignatureInvalid, "unexpected <%s> in Transforms", t.local)
			}
			a := t.AttrValue("Algorithm")
			switch {
			case a == AlgEnveloped && !sawEnveloped && !sawC14N:
				sawEnveloped = true
			case (a == AlgExcC14N || a == AlgC14N10 || a == AlgC14N11) && !sawC14N:
				sawC14N = true
				method, _ = MethodOf(a)
				if method == ExclusiveC14N {
					if prefixes, err = InclusivePrefixes(t); err != nil {
						return err
					}
				}
			default:
				if _, err := MethodOf(a); err != nil && a != AlgEnveloped {
					return err
				}
				return errorf(SignatureInvalid, "transform %q is not allowed here (SAML allows enveloped-signature and one canonicalisation)", a)
			}
		}
	}
	if !sawEnveloped {
		return errorf(SignatureInvalid, "the Reference lacks the enveloped-signature transform")
	}
	dm, err := onlyChild(ref, NSDSig, "DigestMethod")
	if err != nil {
		return err
	}
	dmAlg := dm.AttrValue("Algorithm")
	dh, ok := digestAlgs[dmAlg]
	if !ok {
		return errorf(UnsupportedAlgorithm, "digest algorithm %q is not supported", dmAlg)
	}
	if dh == crypto.SHA1 && !o.AllowSHA1 {
		return errorf(SHA1Refused, "the %s's digest uses SHA-1, which is refused; configure the IdP to use SHA-256, or mark this IdP as legacy", o.What)
	}
	dv, err := onlyChild(ref, NSDSig, "DigestValue")
	if err != nil {
		return err
	}
	var wantBuf [64]byte
	want, err := decodeInto(wantBuf[:], dv.TextContent())
	if err != nil || len(want) != dh.Size() {
		return errorf(SignatureInvalid, "DigestValue is not a base64 %s digest", dmAlg)
	}
	var siPrefixes []string
	if siMethod == ExclusiveC14N {
		if siPrefixes, err = InclusivePrefixes(cm); err != nil {
			return err
		}
	}
	if !withinNodes(si, MaxSignedInfoNodes) {
		return errorf(TooLarge, "the %s's SignedInfo has more than %d elements and text nodes", o.What, MaxSignedInfoNodes)
	}
	sv, err := onlyChild(sig, NSDSig, "SignatureValue")
	if err != nil {
		return err
	}
	svText := sv.TextContent()
	if len(svText) > MaxSignatureValue {
		return errorf(SignatureInvalid, "the %s's SignatureValue is longer than any supported key's signature", o.What)
	}
	var sigBuf [512]byte // RSA-4096; larger values are decoded on the heap
	sigBytes, err := decodeInto(sigBuf[:], svText)
	if err != nil {
		return errorf(SignatureInvalid, "SignatureValue is not valid base64")
	}

	// The signature over SignedInfo, before any digest of el.
	sh := getHash(alg.hash)
	defer putHash(sh)
	Canonicalize(sh.h, si, siMethod, siPrefixes, nil)
	digest := sh.h.Sum(sh.sum[:0])
	if err := verifySignedInfo(sig, alg, digest, sigBytes, o); err != nil {
		return err
	}

	h := getHash(dh)
	defer putHash(h)
	Canonicalize(h.h, el, method, prefixes, sig)
	if got := h.h.Sum(h.sum[:0]); !bytes.Equal(got, want) {
		return errorf(SignatureInvalid, "the digest of <%s ID=%q> does not match the signed DigestValue: the %s was modified after it was signed", el.local, id, o.What)
	}
	return nil
}

// pooledHash is a hash and room for its sum, reused between
// verifications (hashPools, by crypto.Hash).
type pooledHash struct {
	alg crypto.Hash
	h   hash.Hash
	sum [64]byte
}

var hashPools [crypto.BLAKE2b_512 + 1]sync.Pool

func getHash(alg crypto.Hash) *pooledHash {
	if int(alg) < len(hashPools) {
		if ph, ok := hashPools[alg].Get().(*pooledHash); ok {
			ph.h.Reset()
			return ph
		}
	}
	return &pooledHash{alg: alg, h: alg.New()}
}

func putHash(ph *pooledHash) {
	if int(ph.alg) < len(hashPools) {
		hashPools[ph.alg].Put(ph)
	}
}

// MaxSignatureValue bounds the SignatureValue text: base64 of an RSA
// 16384-bit signature with line breaks.
const MaxSignatureValue = 4096

// maxDiagnosticBits bounds the RSA key of a KeyInfo certificate that is
// not trusted and is tried only to tell untrusted_key from
// signature_invalid.
const maxDiagnosticBits = 4096

// verifySignedInfo verifies the signature value over the SignedInfo digest
// with the trusted keys, the one KeyInfo names first. KeyInfo only selects
// among trusted keys; a certificate found only there is never trusted.
func verifySignedInfo(sig *Node, alg sigAlg, digest, sigBytes []byte, o *VerifyOptions) error {
	// A trusted key that KeyInfo names is tried first. With one trusted
	// key there is nothing to choose: the certificate is read only to
	// explain a failure.
	named := -1
	if len(o.Keys) > 1 {
		kiText := keyInfoCert(sig)
		for i := range o.Keys {
			if o.Keys[i].b64 != "" && sameBase64(kiText, o.Keys[i].b64) {
				named = i
				break
			}
		}
	}
	if named >= 0 && verifyRaw(o.Keys[named].pub, alg, digest, sigBytes) {
		return nil
	}
	for i := range o.Keys {
		if i != named && verifyRaw(o.Keys[i].pub, alg, digest, sigBytes) {
			return nil
		}
	}
	kiCert := StripSpace(keyInfoCert(sig))
	expected := make([]string, len(o.Keys))
	for i := range o.Keys {
		expected[i] = DescribeCert(o.Keys[i].cert)
	}
	exp := strings.Join(expected, "; ")
	if kiCert != "" && len(kiCert) <= MaxSignatureValue*4 {
		if der, err := base64.StdEncoding.DecodeString(kiCert); err == nil {
			if c, err := x509.ParseCertificate(der); err == nil {
				if k, ok := c.PublicKey.(*rsa.PublicKey); (!ok || k.N.BitLen() <= maxDiagnosticBits) && verifyRaw(c.PublicKey, alg, digest, sigBytes) {
					return &Error{Code: UntrustedKey, Expected: exp, Got: DescribeCert(c),
						Message: fmt.Sprintf("the %s is signed by certificate %s, which is not among the IdP's trusted signing certificates %s; if the IdP rolled its certificate over, re-import its metadata", o.What, DescribeCert(c), exp)}
				}
				return &Error{Code: SignatureInvalid, Expected: exp, Got: DescribeCert(c),
					Message: fmt.Sprintf("the %s's signature does not verify with any trusted certificate %s (its KeyInfo names %s, which does not verify it either)", o.What, exp, DescribeCert(c))}
			}
		}
	}
	return &Error{Code: SignatureInvalid, Expected: exp,
		Message: fmt.Sprintf("the %s's signature does not verify with any trusted certificate: expected a signature by %s", o.What, exp)}
}

// keyInfoCert returns the text of the signature's
// KeyInfo/X509Data/X509Certificate as written (with whitespace), or "".
func keyInfoCert(sig *Node) string {
	if ki := sig.Child(NSDSig, "KeyInfo"); ki != nil {
		if xd := ki.Child(NSDSig, "X509Data"); xd != nil {
			if xc := xd.Child(NSDSig, "X509Certificate"); xc != nil {
				return xc.TextContent()
			}
		}
	}
	return ""
}

// Certificate returns the trusted certificate.
func (k *Key) Certificate() *x509.Certificate { return k.cert }

// Verify verifies a signature value over a digest computed with
// SignatureHash(alg), alg being a SignatureMethod URI. ECDSA signature values
// are the raw r||s concatenation of XML-DSig 1.1 section 6.4.3.
func (k *Key) Verify(alg string, digest, sig []byte) bool {
	a, ok := sigAlgs[alg]
	return ok && verifyRaw(k.pub, a, digest, sig)
}

// SignatureHash returns the hash of a SignatureMethod algorithm URI, and
// false for an algorithm this package does not verify.
func SignatureHash(alg string) (crypto.Hash, bool) {
	a, ok := sigAlgs[alg]
	return a.hash, ok
}

// DigestHash returns the hash of a DigestMethod algorithm URI, and false
// for an algorithm this package does not accept.
func DigestHash(alg string) (crypto.Hash, bool) {
	h, ok := digestAlgs[alg]
	return h, ok
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
