package xmldsig

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

// XML Encryption 1.1 of elements (SAML Core 2.2.4, 2.3.4, 6.2): the element
// is encrypted with a content key (AES-CBC or AES-GCM), itself encrypted for
// the recipient with RSA-OAEP. The legacy algorithms, 3DES-CBC content
// encryption and RSA PKCS#1 v1.5 key transport, are refused unless the
// caller opts in (DecryptOptions.AllowTripleDES, AllowRSA15).

const (
	NSXEnc   = "http://www.w3.org/2001/04/xmlenc#"
	NSXEnc11 = "http://www.w3.org/2009/xmlenc11#"

	AlgAES128CBC  = "http://www.w3.org/2001/04/xmlenc#aes128-cbc"
	AlgAES192CBC  = "http://www.w3.org/2001/04/xmlenc#aes192-cbc"
	AlgAES256CBC  = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
	AlgAES128GCM  = "http://www.w3.org/2009/xmlenc11#aes128-gcm"
	AlgAES192GCM  = "http://www.w3.org/2009/xmlenc11#aes192-gcm"
	AlgAES256GCM  = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	AlgTripleDES  = "http://www.w3.org/2001/04/xmlenc#tripledes-cbc"
	AlgRSAOAEP    = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	AlgRSAOAEP11  = "http://www.w3.org/2009/xmlenc11#rsa-oaep"
	AlgRSA15      = "http://www.w3.org/2001/04/xmlenc#rsa-1_5"
	AlgMGF1SHA1   = "http://www.w3.org/2009/xmlenc11#mgf1sha1"
	AlgMGF1SHA224 = "http://www.w3.org/2009/xmlenc11#mgf1sha224"
	AlgMGF1SHA256 = "http://www.w3.org/2009/xmlenc11#mgf1sha256"
	AlgMGF1SHA384 = "http://www.w3.org/2009/xmlenc11#mgf1sha384"
	AlgMGF1SHA512 = "http://www.w3.org/2009/xmlenc11#mgf1sha512"
)

const maxEncryptedKeys = 4

type contentAlg struct {
	keyLen int
	gcm    bool
	// legacy: 3DES-CBC (64-bit blocks), accepted only with
	// DecryptOptions.AllowTripleDES.
	legacy bool
}

var contentAlgs = map[string]contentAlg{
	AlgAES128CBC: {16, false, false}, AlgAES192CBC: {24, false, false}, AlgAES256CBC: {32, false, false},
	AlgAES128GCM: {16, true, false}, AlgAES192GCM: {24, true, false}, AlgAES256GCM: {32, true, false},
	AlgTripleDES: {24, false, true},
}

// newBlock returns the block cipher of alg under key.
func (alg contentAlg) newBlock(key []byte) (cipher.Block, error) {
	if alg.legacy {
		return des.NewTripleDESCipher(key)
	}
	return aes.NewCipher(key)
}

var mgfAlgs = map[string]crypto.Hash{
	AlgMGF1SHA1: crypto.SHA1, AlgMGF1SHA224: crypto.SHA224, AlgMGF1SHA256: crypto.SHA256,
	AlgMGF1SHA384: crypto.SHA384, AlgMGF1SHA512: crypto.SHA512,
}

func decryptErr(format string, args ...any) *Error {
	return errorf(DecryptFailed, "the encrypted element could not be decrypted: "+format, args...)
}

// DecryptOptions says which keys decrypt and which algorithms are accepted.
type DecryptOptions struct {
	// Keys are the recipient's RSA keys; all are tried.
	Keys []*rsa.PrivateKey
	// AllowTripleDES accepts 3DES-CBC content encryption (64-bit blocks).
	AllowTripleDES bool
	// AllowRSA15 accepts RSA PKCS#1 v1.5 key transport (Bleichenbacher).
	AllowRSA15 bool
	// LegacyHint ends the message of a refused legacy algorithm: it names
	// the setting that accepts it.
	LegacyHint string
	// MaxSize bounds the plaintext document (Limits.MaxSize).
	MaxSize int
	// What names the decrypted element in messages ("assertion").
	What string
	// Accept, when set, checks the decrypted document; its error refuses
	// the candidate key, and the next one is tried.
	Accept func(*Document) error
}

// Decrypt decrypts the xenc:EncryptedData child of container (an
// EncryptedElementType: the EncryptedKeys are in the KeyInfo of the
// EncryptedData or siblings of it) and returns the plaintext parsed as a
// document in the namespace context of container (XML Encryption 4.5). The
// caller releases it.
//
// Once the candidate EncryptedKeys are found, every failure costs the same
// work (key unwrapping, content decryption, a parse) whatever goes wrong,
// and a bad padding of rsa-1_5 is not reported: callers that must not be a
// decryption oracle only have to give every error the same face.
func Decrypt(container *Node, o *DecryptOptions) (*Document, error) {
	container.live()
	if len(o.Keys) == 0 {
		return nil, decryptErr("no RSA decryption key is configured for this service provider")
	}
	ed := container.Child(NSXEnc, "EncryptedData")
	if ed == nil {
		return nil, errorf(Malformed, "%s has no xenc:EncryptedData", container.local)
	}
	em := ed.Child(NSXEnc, "EncryptionMethod")
	if em == nil {
		return nil, errorf(Malformed, "EncryptedData has no EncryptionMethod")
	}
	calg, ok := contentAlgs[em.AttrValue("Algorithm")]
	if !ok {
		return nil, errorf(UnsupportedAlgorithm, "content encryption %q is not supported (AES-CBC and AES-GCM are)", em.AttrValue("Algorithm"))
	}
	if calg.legacy && !o.AllowTripleDES {
		return nil, errorf(UnsupportedAlgorithm, "the IdP encrypts the %s with 3DES-CBC (tripledes-cbc), which is refused; %s", o.What, o.LegacyHint)
	}
	ct, err := cipherValue(ed)
	if err != nil {
		return nil, err
	}
	// Candidate EncryptedKeys: in KeyInfo, or siblings of EncryptedData.
	var eks []*Node
	if ki := ed.Child(NSDSig, "KeyInfo"); ki != nil {
		for c := ki.first; c != nil; c = c.next {
			if c.Is(NSXEnc, "EncryptedKey") {
				eks = append(eks, c)
			}
		}
	}
	for c := container.first; c != nil; c = c.next {
		if c.Is(NSXEnc, "EncryptedKey") {
			eks = append(eks, c)
		}
	}
	if len(eks) == 0 {
		return nil, errorf(Malformed, "no EncryptedKey found for the %s", container.local)
	}
	// Each EncryptedKey costs an RSA private-key operation per key: an
	// unsigned message must not make us do hundreds.
	if len(eks) > maxEncryptedKeys {
		return nil, errorf(TooLarge, "the %s carries %d EncryptedKeys; at most %d are tried", container.local, len(eks), maxEncryptedKeys)
	}
	// Every failure from here on looks the same from outside (the caller
	// seals it): the candidates are tried in turn and each one costs an
	// AES decryption and a parse, whatever goes wrong.
	keys, err := contentKeys(eks, calg.keyLen, o)
	if err != nil {
		return nil, err
	}
	var lastErr error
	for _, key := range keys {
		doc, err := decryptWith(container, key, calg, ct, o)
		if err == nil {
			return doc, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

// contentKeys unwraps the content key of every EncryptedKey with every SP
// key. A wrong key is not always detected here (rsa-1_5 yields random
// bytes); the content decryption decides. When no candidate comes out,
// one random key stands in, so that a wrong key costs the same work.
func contentKeys(eks []*Node, keyLen int, o *DecryptOptions) ([][]byte, error) {
	var keys [][]byte
	for _, ek := range eks {
		ks, err := unwrapKey(ek, keyLen, o)
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
func decryptWith(ea *Node, key []byte, alg contentAlg, ct []byte, o *DecryptOptions) (*Document, error) {
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
	var inScope []Namespace
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
	doc, err := Parse(plain, Limits{MaxSize: o.MaxSize, Context: inScope})
	if failed != nil {
		if err == nil {
			doc.Release()
		}
		return nil, failed
	}
	if err != nil {
		if e, ok := err.(*Error); ok {
			e.Message = "in the decrypted " + o.What + ": " + e.Message
		}
		return nil, err
	}
	if o.Accept != nil {
		if err := o.Accept(doc); err != nil {
			doc.Release()
			return nil, err
		}
	}
	return doc, nil
}

func cipherValue(n *Node) ([]byte, error) {
	cd := n.Child(NSXEnc, "CipherData")
	if cd == nil {
		return nil, errorf(Malformed, "<%s> has no CipherData", n.local)
	}
	cv := cd.Child(NSXEnc, "CipherValue")
	if cv == nil {
		return nil, errorf(Malformed, "<%s> has no CipherValue (CipherReference is not supported)", n.local)
	}
	b, err := DecodeBase64(cv.TextContent())
	if err != nil {
		return nil, errorf(Malformed, "CipherValue of <%s> is not valid base64", n.local)
	}
	return b, nil
}

// unwrapKey decrypts an EncryptedKey with each of the SP's keys and
// returns the candidate content keys.
func unwrapKey(ek *Node, keyLen int, o *DecryptOptions) ([][]byte, error) {
	em := ek.Child(NSXEnc, "EncryptionMethod")
	if em == nil {
		return nil, errorf(Malformed, "EncryptedKey has no EncryptionMethod")
	}
	alg := em.AttrValue("Algorithm")
	ct, err := cipherValue(ek)
	if err != nil {
		return nil, err
	}
	switch alg {
	case AlgRSAOAEP, AlgRSAOAEP11:
		opts := &rsa.OAEPOptions{Hash: crypto.SHA1, MGFHash: crypto.SHA1}
		if dm := em.Child(NSDSig, "DigestMethod"); dm != nil {
			h, ok := digestAlgs[dm.AttrValue("Algorithm")]
			if !ok {
				return nil, errorf(UnsupportedAlgorithm, "OAEP digest %q is not supported", dm.AttrValue("Algorithm"))
			}
			opts.Hash = h
		}
		if alg == AlgRSAOAEP11 {
			if mgf := em.Child(NSXEnc11, "MGF"); mgf != nil {
				h, ok := mgfAlgs[mgf.AttrValue("Algorithm")]
				if !ok {
					return nil, errorf(UnsupportedAlgorithm, "OAEP mask generation %q is not supported", mgf.AttrValue("Algorithm"))
				}
				opts.MGFHash = h
			}
		}
		if p := em.Child(NSXEnc, "OAEPparams"); p != nil {
			label, err := DecodeBase64(p.TextContent())
			if err != nil {
				return nil, errorf(Malformed, "OAEPparams is not valid base64")
			}
			opts.Label = label
		}
		var keys [][]byte
		for _, k := range o.Keys {
			if key, err := k.Decrypt(nil, ct, opts); err == nil && len(key) == keyLen {
				keys = append(keys, key)
			}
		}
		return keys, nil
	case AlgRSA15:
		if !o.AllowRSA15 {
			return nil, errorf(UnsupportedAlgorithm, "the IdP wraps the key with RSA PKCS#1 v1.5 (rsa-1_5), which is refused (Bleichenbacher attacks); %s", o.LegacyHint)
		}
		// A bad padding leaves the random key in place and reports no
		// error (no Bleichenbacher oracle): every SP key yields a
		// candidate, and the content decryption tells the right one.
		var keys [][]byte
		for _, k := range o.Keys {
			key := make([]byte, keyLen)
			if _, err := rand.Read(key); err != nil {
				return nil, decryptErr("no randomness: %v", err)
			}
			// Deprecated since Go 1.26 with all PKCS #1 v1.5 encryption;
			// rsa-1_5 is refused unless the caller opts in (AllowRSA15) for
			// a sender that can do nothing else.
			//lint:ignore SA1019 opt-in legacy key transport, see above
			if err := rsa.DecryptPKCS1v15SessionKey(nil, k, ct, key); err == nil {
				keys = append(keys, key)
			}
		}
		return keys, nil
	}
	return nil, errorf(UnsupportedAlgorithm, "key transport %q is not supported (RSA-OAEP is)", alg)
}

// DummyVerify does the public-key work of a signature verification with
// the first trusted key, for failures that must cost what a verification
// costs.
func DummyVerify(keys []Key) {
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
