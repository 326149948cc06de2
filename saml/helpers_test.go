package saml

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// Test keys are generated once per test binary.
var (
	keysOnce sync.Once
	idpKey   *rsa.PrivateKey
	idpCert  *x509.Certificate
	idpKey2  *rsa.PrivateKey // rollover: second trusted key
	idpCert2 *x509.Certificate
	evilKey  *rsa.PrivateKey // not trusted
	evilCert *x509.Certificate
	ecKey    *ecdsa.PrivateKey
	ecCert   *x509.Certificate
	spKey    *rsa.PrivateKey
	spCert   *x509.Certificate
)

func testKeys(tb testing.TB) {
	tb.Helper()
	keysOnce.Do(func() {
		idpKey, idpCert = newRSA("idp.example.com")
		idpKey2, idpCert2 = newRSA("idp.example.com rollover")
		evilKey, evilCert = newRSA("evil.example.com")
		spKey, spCert = newRSA("sp.example.com")
		ecKey, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		ecCert = selfSign("idp-ec.example.com", ecKey)
	})
}

func newRSA(cn string) (*rsa.PrivateKey, *x509.Certificate) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k, selfSign(cn, k)
}

func selfSign(cn string, k crypto.Signer) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return c
}

// sigOpts controls the test signer.
type sigOpts struct {
	key       crypto.Signer
	cert      *x509.Certificate // in KeyInfo; nil for none
	sigAlg    string            // default rsa-sha256 / ecdsa-sha256
	digestAlg string            // default sha256
	c14n      string            // default exclusive
	prefixes  string            // InclusiveNamespaces PrefixList
	dsPrefix  string            // "ds" (default), another prefix, or "-" for the default namespace
	noDecl    bool              // the ds namespace is declared by an ancestor
	refURI    string            // override the Reference URI
}

// signXML signs the element with the given ID: the signature replaces the
// marker comment <!--sig:ID--> (placed after the Issuer, as SAML requires).
func signXML(tb testing.TB, doc, id string, o sigOpts) string {
	tb.Helper()
	marker := "<!--sig:" + id + "-->"
	if !strings.Contains(doc, marker) {
		tb.Fatalf("no marker %s", marker)
	}
	if o.key == nil {
		o.key, o.cert = idpKey, idpCert
	}
	if o.sigAlg == "" {
		o.sigAlg = algRSASHA256
		if _, ok := o.key.(*ecdsa.PrivateKey); ok {
			o.sigAlg = algECDSASHA256
		}
	}
	if o.digestAlg == "" {
		o.digestAlg = algSHA256
	}
	if o.c14n == "" {
		o.c14n = algExcC14N
	}
	// The digest is over goxmldsig's canonical form (independent_test.go);
	// xmlsec1 signs the documents goxmldsig does not walk.
	canonical := independentCanonical(tb, doc, id, o.c14n, o.prefixes, false)
	digest := ""
	if canonical != nil {
		dh, _ := xmldsig.DigestHash(o.digestAlg)
		h := dh.New()
		h.Write(canonical)
		digest = base64.StdEncoding.EncodeToString(h.Sum(nil))
	}

	p, decl := "ds:", ` xmlns:ds="`+nsDSig+`"`
	if o.dsPrefix == "-" {
		p, decl = "", ` xmlns="`+nsDSig+`"`
	} else if o.dsPrefix != "" {
		p, decl = o.dsPrefix+":", ` xmlns:`+o.dsPrefix+`="`+nsDSig+`"`
	}
	if o.noDecl {
		decl = ""
	}
	incl := ""
	if o.prefixes != "" {
		incl = fmt.Sprintf(`<ec:InclusiveNamespaces xmlns:ec="%s" PrefixList="%s"/>`, algExcC14N, o.prefixes)
	}
	uri := "#" + id
	if o.refURI == "empty" {
		uri = ""
	} else if o.refURI != "" {
		uri = o.refURI
	}
	ki := ""
	if o.cert != nil {
		ki = fmt.Sprintf(`<%sKeyInfo><%sX509Data><%sX509Certificate>%s</%sX509Certificate></%sX509Data></%sKeyInfo>`, p, p, p, base64.StdEncoding.EncodeToString(o.cert.Raw), p, p, p)
	}
	sig := fmt.Sprintf(`<%sSignature%s><%sSignedInfo><%sCanonicalizationMethod Algorithm="%s"/><%sSignatureMethod Algorithm="%s"/><%sReference URI="%s"><%sTransforms><%sTransform Algorithm="%s"/><%sTransform Algorithm="%s">%s</%sTransform></%sTransforms><%sDigestMethod Algorithm="%s"/><%sDigestValue>%s</%sDigestValue></%sReference></%sSignedInfo><%sSignatureValue>SIGVALUE</%sSignatureValue>%s</%sSignature>`,
		p, decl, p, p, o.c14n, p, o.sigAlg, p, uri, p, p, algEnveloped, p, o.c14n, incl, p, p, p, o.digestAlg, p, digest, p, p, p, p, p, ki, p)
	if canonical == nil {
		return xmlsecSign(tb, strings.Replace(doc, marker, strings.Replace(sig, "SIGVALUE", "", 1), 1), o.key)
	}
	doc2 := strings.Replace(doc, marker, sig, 1)
	sigHash, _ := xmldsig.SignatureHash(o.sigAlg)
	sh := sigHash.New()
	sh.Write(independentCanonical(tb, doc2, id, o.c14n, "", true))
	sv := signDigest(tb, o.key, sigHash, sh.Sum(nil))
	return strings.Replace(doc2, "SIGVALUE", base64.StdEncoding.EncodeToString(sv), 1)
}

func signDigest(tb testing.TB, key crypto.Signer, hash crypto.Hash, digest []byte) []byte {
	tb.Helper()
	switch k := key.(type) {
	case *rsa.PrivateKey:
		s, err := rsa.SignPKCS1v15(rand.Reader, k, hash, digest)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			tb.Fatal(err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		out := make([]byte, 2*size)
		r.FillBytes(out[:size])
		s.FillBytes(out[size:])
		return out
	}
	tb.Fatalf("unsupported key %T", key)
	return nil
}

func findID(d *xmldsig.Document, id string) *xmldsig.Node {
	for n := range d.All() {
		if n.IsElement() && (n.AttrValue("ID") == id) {
			return n
		}
	}
	return nil
}

// encryptAssertion replaces the assertion XML with an EncryptedAssertion.
func encryptAssertion(tb testing.TB, assertion string, pub *rsa.PublicKey, contentAlg string, oaepSHA256 bool, samlPrefix string) string {
	tb.Helper()
	keyLen := map[string]int{algAES128CBC: 16, algAES256CBC: 32, algAES128GCM: 16, algAES256GCM: 32}[contentAlg]
	key := make([]byte, keyLen)
	rand.Read(key)
	block, _ := aes.NewCipher(key)
	var ct []byte
	if strings.HasSuffix(contentAlg, "-gcm") {
		g, _ := cipher.NewGCM(block)
		nonce := make([]byte, g.NonceSize())
		rand.Read(nonce)
		ct = append(nonce, g.Seal(nil, nonce, []byte(assertion), nil)...)
	} else {
		pt := []byte(assertion)
		pad := aes.BlockSize - len(pt)%aes.BlockSize
		for i := 0; i < pad; i++ {
			pt = append(pt, byte(pad))
		}
		iv := make([]byte, aes.BlockSize)
		rand.Read(iv)
		out := make([]byte, len(pt))
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, pt)
		ct = append(iv, out...)
	}
	var ek []byte
	var err error
	keyAlg := fmt.Sprintf(`<xenc:EncryptionMethod Algorithm="%s"><ds:DigestMethod xmlns:ds="%s" Algorithm="%s"/></xenc:EncryptionMethod>`, algRSAOAEP, nsDSig, algSHA1)
	if oaepSHA256 {
		ek, err = rsa.EncryptOAEP(sha256.New(), rand.Reader, pub, key, nil)
		keyAlg = fmt.Sprintf(`<xenc:EncryptionMethod Algorithm="%s"><ds:DigestMethod xmlns:ds="%s" Algorithm="%s"/><xenc11:MGF xmlns:xenc11="%s" Algorithm="%s"/></xenc:EncryptionMethod>`, algRSAOAEP11, nsDSig, algSHA256, nsXEnc11, algMGF1SHA256)
	} else {
		ek, err = rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	}
	if err != nil {
		tb.Fatal(err)
	}
	sp := samlPrefix
	if sp != "" {
		sp += ":"
	}
	return fmt.Sprintf(`<%sEncryptedAssertion><xenc:EncryptedData xmlns:xenc="%s" Type="http://www.w3.org/2001/04/xmlenc#Element"><xenc:EncryptionMethod Algorithm="%s"/><ds:KeyInfo xmlns:ds="%s"><xenc:EncryptedKey>%s<xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo><xenc:CipherData><xenc:CipherValue>%s</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData></%sEncryptedAssertion>`,
		sp, nsXEnc, contentAlg, nsDSig, keyAlg, base64.StdEncoding.EncodeToString(ek), base64.StdEncoding.EncodeToString(ct), sp)
}
