package saml

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"

	_ "crypto/sha256" // OAEP digests
)

// XML Encryption 1.1 of assertions (SAML Core 2.3.4, 6.2): the assertion is
// encrypted with a content key (AES-CBC or AES-GCM), itself encrypted for
// the SP with RSA-OAEP. The legacy algorithms, 3DES-CBC content encryption
// and RSA PKCS#1 v1.5 key transport, are refused unless the IdP opts in
// (IdentityProvider.AllowLegacyEncryption; ServiceProvider.AllowRSA15
// still accepts rsa-1_5 from every IdP).

const (
	nsXEnc   = "http://www.w3.org/2001/04/xmlenc#"
	nsXEnc11 = "http://www.w3.org/2009/xmlenc11#"

	algAES128CBC  = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	algAES192CBC  = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	algAES256CBC  = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	algAES128GCM  = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	algAES192GCM  = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	algAES256GCM  = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	algTripleDES  = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"
	algRSAOAEP    = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	algRSAOAEP11  = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	algRSA15      = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	algMGF1SHA1   = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
	algMGF1SHA224 = "http://www.w3.org/2009/xmlenc11#mgf1sha224"
	algMGF1SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
	algMGF1SHA384 = "http://www.w3.org/2009/xmlenc11#mgf1sha384"
	algMGF1SHA512 = "http://www.w3.org/2009/xmlenc11#mgf1sha512"
)

const maxEncryptedKeys = 4

type contentAlg struct {
	keyLen int
	gcm    bool
	// legacy: 3DES-CBC (64-bit blocks), accepted only with the IdP's
	// AllowLegacyEncryption.
	legacy bool
}

var contentAlgs = map[string]contentAlg{
	algAES128CBC: {16, false, false}, algAES192CBC: {24, false, false}, algAES256CBC: {32, false, false},
	algAES128GCM: {16, true, false}, algAES192GCM: {24, true, false}, algAES256GCM: {32, true, false},
	algTripleDES: {24, false, true},
}

// newBlock returns the block cipher of alg under key.
func (alg contentAlg) newBlock(key []byte) (cipher.Block, error) {
	if alg.legacy {
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

// legacyHint names the setting that accepts the legacy algorithms, for
// the administrator's detail of a refusal.
const legacyHint = "configure the IdP to use AES and RSA-OAEP, or, if it cannot, turn on legacy encryption for this IdP (legacy_encryption; lanyard idp import --legacy-encryption)"

var mgfAlgs = map[string]crypto.Hash{
	algMGF1SHA1: crypto.SHA1, algMGF1SHA224: crypto.SHA224, algMGF1SHA256: crypto.SHA256,
	algMGF1SHA384: crypto.SHA384, algMGF1SHA512: crypto.SHA512,
}

func decryptErr(format string, args ...any) *Error {
	return errorf(ReasonDecryptFailed, "the encrypted element could not be decrypted: "+format, args...)
}

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
func (v *validation) decryptAssertion(ea *node) (*node, error) {
	return v.decryptElement(ea, kindAssertion)
}

// decryptID decrypts an EncryptedID (SAML Core 2.2.4) with the SP keys and
// returns its NameID (a BaseID or an encrypted attribute is refused). The
// caller makes every failure look the same, as for an EncryptedAssertion.
func (v *validation) decryptID(eid *node) (*node, error) {
	return v.decryptElement(eid, kindID)
}

// decryptElement decrypts the xenc:EncryptedData of ea, an element of
// kind k, and returns the root of the decrypted document.
func (v *validation) decryptElement(ea *node, k encryptedKind) (*node, error) {
	if len(v.st.decrypt) == 0 {
		return nil, decryptErr("no RSA decryption key is configured for this service provider")
	}
	ed := ea.child(nsXEnc, "EncryptedData")
	if ed == nil {
		return nil, errorf(ReasonMalformed, "%s has no xenc:EncryptedData", k.container)
	}
	em := ed.child(nsXEnc, "EncryptionMethod")
	if em == nil {
		return nil, errorf(ReasonMalformed, "EncryptedData has no EncryptionMethod")
	}
	calg, ok := contentAlgs[em.attrValue("Algorithm")]
	if !ok {
		return nil, errorf(ReasonUnsupportedAlgorithm, "content encryption %q is not supported (AES-CBC and AES-GCM are)", em.attrValue("Algorithm"))
	}
	if calg.legacy && !v.idp.AllowLegacyEncryption {
		return nil, errorf(ReasonUnsupportedAlgorithm, "the IdP encrypts the %s with 3DES-CBC (tripledes-cbc), which is refused; %s", k.what, legacyHint)
	}
	ct, err := cipherValue(ed)
	if err != nil {
		return nil, err
	}
	// Candidate EncryptedKeys: in KeyInfo, or siblings of EncryptedData.
	var eks []*node
	if ki := ed.child(nsDSig, "KeyInfo"); ki != nil {
		for c := ki.first; c != nil; c = c.next {
			if c.is(nsXEnc, "EncryptedKey") {
				eks = append(eks, c)
			}
		}
	}
	for c := ea.first; c != nil; c = c.next {
		if c.is(nsXEnc, "EncryptedKey") {
			eks = append(eks, c)
		}
	}
	if len(eks) == 0 {
		return nil, errorf(ReasonMalformed, "no EncryptedKey found for the %s", k.container)
	}
	// Each EncryptedKey costs an RSA private-key operation per SP key: an
	// unsigned response must not make us do hundreds.
	if len(eks) > maxEncryptedKeys {
		return nil, errorf(ReasonTooLarge, "the %s carries %d EncryptedKeys; at most %d are tried", k.container, len(eks), maxEncryptedKeys)
	}
	// Every failure from here on looks the same from outside (the caller
	// seals it): the candidates are tried in turn and each one costs an
	// AES decryption and a parse, whatever goes wrong.
	keys, err := v.contentKeys(eks, calg.keyLen)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, key := range keys {
		as, err := v.decryptWith(ea, k, key, calg, ct)
		if err == nil {
			return as, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// contentKeys unwraps the content key of every EncryptedKey with every SP
// key. A wrong key is not always detected here (rsa-1_5 yields random
// bytes); the content decryption decides. When no candidate comes out,
// one random key stands in, so that a wrong key costs the same work.
func (v *validation) contentKeys(eks []*node, keyLen int) ([][]byte, error) {
	var keys [][]byte
	for _, ek := range eks {
		ks, err := v.unwrapKey(ek, keyLen)
		if err != nil {
			return nil, err
		}
		keys = append(keys, ks...)
	}
	if len(keys) == 0 {
		k := make([]byte, keyLen)
		if _, err := rand.Read(k); err != nil {
			return nil, decryptErr("no randomness: %v", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// decryptWith decrypts the content with key and parses the plaintext. A
// bad CBC padding still parses the whole plaintext: the work done does not
// tell a padding failure from a parse failure.
func (v *validation) decryptWith(ea *node, k encryptedKind, key []byte, alg contentAlg, ct []byte) (*node, error) {
	block, err := alg.newBlock(key)
	if err != nil {
		return nil, decryptErr("bad content key")
	}
	var plain []byte
	var failed *Error
	if alg.gcm {
		g, err := cipher.NewGCM(block)
		if err != nil || len(ct) < g.NonceSize()+g.Overhead() {
			return nil, decryptErr("ciphertext too short")
		}
		plain, err = g.Open(nil, ct[:g.NonceSize()], ct[g.NonceSize():], nil)
		if err != nil {
			return nil, decryptErr("AES-GCM authentication failed (wrong key or tampered ciphertext)")
		}
	} else {
		bs := block.BlockSize()
		if len(ct) < 2*bs || len(ct)%bs != 0 {
			return nil, decryptErr("bad CBC ciphertext length")
		}
		plain = make([]byte, len(ct)-bs)
		cipher.NewCBCDecrypter(block, ct[:bs]).CryptBlocks(plain, ct[bs:])
		pad := int(plain[len(plain)-1])
		if pad < 1 || pad > bs {
			failed = decryptErr("bad padding (wrong key or tampered ciphertext)")
		} else {
			plain = plain[:len(plain)-pad]
		}
	}
	// Parse the plaintext in the namespace context of the container
	// (XML Encryption 4.5).
	var inScope []nsDecl
	for e := ea; e != nil; e = e.parent {
		for _, d := range e.ns {
			dup := false
			for _, s := range inScope {
				if s.prefix == d.prefix {
					dup = true
					break
				}
			}
			if !dup {
				inScope = append(inScope, d)
			}
		}
	}
	doc, err := parseXML(plain, parseLimits{maxSize: v.st.maxSize, context: inScope})
	if failed != nil {
		if err == nil {
			doc.release()
		}
		return nil, failed
	}
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Message = "in the decrypted " + k.what + ": " + e.Message
		}
		return nil, err
	}
	as := doc.root
	var bad *Error
	if !as.is(nsSAML, k.want) {
		bad = errorf(ReasonMalformed, "the %s decrypts to <%s>, not a saml:%s", k.container, as.local, k.want)
	}
	for n := range doc.all() {
		if bad == nil && n != as && n.is(nsSAML, "Assertion") {
			bad = errorf(ReasonMultipleAssertions, "the decrypted %s contains an assertion", k.what)
		}
		// A NameID holds text only.
		if bad == nil && n != as && k == kindID && n.kind == kindElement {
			bad = errorf(ReasonMalformed, "the decrypted NameID contains <%s>", n.local)
		}
	}
	if bad != nil {
		doc.release()
		return nil, bad
	}
	v.decrypted = append(v.decrypted, doc)
	return as, nil
}

func cipherValue(n *node) ([]byte, error) {
	cd := n.child(nsXEnc, "CipherData")
	if cd == nil {
		return nil, errorf(ReasonMalformed, "<%s> has no CipherData", n.local)
	}
	cv := cd.child(nsXEnc, "CipherValue")
	if cv == nil {
		return nil, errorf(ReasonMalformed, "<%s> has no CipherValue (CipherReference is not supported)", n.local)
	}
	b, err := decodeB64(cv.textContent())
	if err != nil {
		return nil, errorf(ReasonMalformed, "CipherValue of <%s> is not valid base64", n.local)
	}
	return b, nil
}

// unwrapKey decrypts an EncryptedKey with each of the SP's keys and
// returns the candidate content keys.
func (v *validation) unwrapKey(ek *node, keyLen int) ([][]byte, error) {
	em := ek.child(nsXEnc, "EncryptionMethod")
	if em == nil {
		return nil, errorf(ReasonMalformed, "EncryptedKey has no EncryptionMethod")
	}
	alg := em.attrValue("Algorithm")
	ct, err := cipherValue(ek)
	if err != nil {
		return nil, err
	}
	switch alg {
	case algRSAOAEP, algRSAOAEP11:
		opts := &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}
		if dm := em.child(nsDSig, "DigestMethod"); dm != nil {
			h, ok := digestAlgs[dm.attrValue("Algorithm")]
			if !ok {
				return nil, errorf(ReasonUnsupportedAlgorithm, "OAEP digest %q is not supported", dm.attrValue("Algorithm"))
			}
			opts.Hash = h
		}
		if alg == algRSAOAEP11 {
			if mgf := em.child(nsXEnc11, "MGF"); mgf != nil {
				h, ok := mgfAlgs[mgf.attrValue("Algorithm")]
				if !ok {
					return nil, errorf(ReasonUnsupportedAlgorithm, "OAEP mask generation %q is not supported", mgf.attrValue("Algorithm"))
				}
				opts.MGFHash = h
			}
		}
		if p := em.child(nsXEnc, "OAEPparams"); p != nil {
			label, err := decodeB64(p.textContent())
			if err != nil {
				return nil, errorf(ReasonMalformed, "OAEPparams is not valid base64")
			}
			opts.Label = label
		}
		var keys [][]byte
		for _, k := range v.st.decrypt {
			if key, err := k.Decrypt(nil, ct, opts); err == nil && len(key) == keyLen {
				keys = append(keys, key)
			}
		}
		return keys, nil
	case algRSA15:
		if !v.sp.AllowRSA15 && !v.idp.AllowLegacyEncryption {
			return nil, errorf(ReasonUnsupportedAlgorithm, "the IdP wraps the key with RSA PKCS#1 v1.5 (rsa-1_5), which is refused (Bleichenbacher attacks); "+legacyHint)
		}
		// A bad padding leaves the random key in place and reports no
		// error (no Bleichenbacher oracle): every SP key yields a
		// candidate, and the content decryption tells the right one.
		var keys [][]byte
		for _, k := range v.st.decrypt {
			key := make([]byte, keyLen)
			if _, err := rand.Read(key); err != nil {
				return nil, decryptErr("no randomness: %v", err)
			}
			// Deprecated since Go 1.26 with all PKCS #1 v1.5 encryption;
			// rsa-1_5 is refused unless the IdP (AllowLegacyEncryption) or
			// the SP (AllowRSA15) opts in for an IdP that can do nothing else.
			//lint:ignore SA1019 opt-in legacy key transport, see above
			if err := rsa.DecryptPKCS1v15SessionKey(nil, k, ct, key); err == nil {
				keys = append(keys, key)
			}
		}
		return keys, nil
	}
	return nil, errorf(ReasonUnsupportedAlgorithm, "key transport %q is not supported (RSA-OAEP is)", alg)
}

// dummyVerify does the public-key work of a signature verification with
// the first trusted key, for failures that must cost what a verification
// costs.
func dummyVerify(keys []trustedKey) {
	if len(keys) == 0 {
		return
	}
	digest := make([]byte, 32)
	switch k := keys[0].pub.(type) {
	case *rsa.PublicKey:
		_ = rsa.VerifyPKCS1v15(k, crypto.SHA256, digest, make([]byte, k.Size()))
	case *ecdsa.PublicKey:
		// r = s = 1: in range, so the whole verification runs.
		_ = ecdsa.VerifyASN1(k, digest, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01})
	}
}
