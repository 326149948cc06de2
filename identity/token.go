// Package identity signs and verifies the identity tokens Lanyard hands to
// applications: short-lived JSON Web Tokens (RFC 7519) signed with ES256
// (ECDSA P-256 and SHA-256, RFC 7518 section 3.4), whose public keys are
// published as a JSON Web Key Set (RFC 7517) at /.well-known/jwks.json.
//
// The keys live in the store (lanyard.SigningKeyStore), so every node of a
// cluster signs with the same key and publishes the same set; KeyRing
// rotates them. verify.Verifier is what an application (written in Go) uses
// to check a token; any JOSE library that knows ES256 does the same.
//
// The checking half lives in package identity/verify, which depends on
// the standard library only, so that applications import it alone.
package identity

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/lanyard-sso/lanyard/identity/verify"
)

// Algorithm is the JWS algorithm of every token: ECDSA P-256 with SHA-256.
const Algorithm = verify.Algorithm

// Claims is what a token says about the user behind a request. Package
// identity/verify, which applications import, checks them.
type Claims = verify.Claims

// header is the JOSE header of every token.
type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

var b64 = base64.RawURLEncoding

// tokenHeader returns the encoded JOSE header of the identity tokens that
// the key kid signs: made once per key, not per token.
func tokenHeader(kid string) (string, error) {
	h, err := json.Marshal(header{Alg: Algorithm, Typ: "JWT", Kid: kid})
	if err != nil {
		return "", fmt.Errorf("identity: encode header: %w", err)
	}
	return b64.EncodeToString(h), nil
}

// sign returns the compact serialization of claims signed by key, under
// the encoded header (tokenHeader of the key's ID).
func sign(key *ecdsa.PrivateKey, encodedHeader string, c Claims) (string, error) {
	if c.Roles == nil {
		c.Roles = []string{}
	}
	if c.Groups == nil {
		c.Groups = []string{}
	}
	p, err := json.Marshal(c)
	if err != nil {
		return "", fmt.Errorf("identity: encode claims: %w", err)
	}
	const sigChars = 86 // 64 bytes, base64url without padding
	b := make([]byte, 0, len(encodedHeader)+1+b64.EncodedLen(len(p))+1+sigChars)
	b = append(b, encodedHeader...)
	b = append(b, '.')
	b = b64.AppendEncode(b, p)
	digest := sha256.Sum256(b)
	der, err := key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("identity: sign: %w", err)
	}
	// RFC 7518 section 3.4: R and S as 32-byte big-endian integers.
	var sig [64]byte
	if err := rawP256Signature(der, &sig); err != nil {
		return "", err
	}
	b = append(b, '.')
	b = b64.AppendEncode(b, sig[:])
	return string(b), nil
}

// rawP256Signature turns an ASN.1 ECDSA signature, SEQUENCE { r INTEGER,
// s INTEGER }, into R and S as 32-byte big-endian integers.
func rawP256Signature(der []byte, out *[64]byte) error {
	input := cryptobyte.String(der)
	var seq, r, s cryptobyte.String
	if !input.ReadASN1(&seq, asn1.SEQUENCE) || !input.Empty() ||
		!seq.ReadASN1(&r, asn1.INTEGER) || !seq.ReadASN1(&s, asn1.INTEGER) || !seq.Empty() ||
		!fixedWidth(r, out[:32]) || !fixedWidth(s, out[32:]) {
		return errors.New("identity: the ECDSA signature is not a pair of P-256 integers")
	}
	return nil
}

// fixedWidth writes the positive DER integer n right-aligned into out,
// reporting false when it is negative, zero, or wider than out.
func fixedWidth(n []byte, out []byte) bool {
	if len(n) == 0 || n[0]&0x80 != 0 {
		return false
	}
	for len(n) > 0 && n[0] == 0 {
		n = n[1:]
	}
	if len(n) == 0 || len(n) > len(out) {
		return false
	}
	clear(out[:len(out)-len(n)])
	copy(out[len(out)-len(n):], n)
	return true
}

// Errors of verification, for callers of this package; see package verify.
var (
	ErrMalformed  = verify.ErrMalformed
	ErrUnknownKey = verify.ErrUnknownKey
	ErrSignature  = verify.ErrSignature
	ErrExpired    = verify.ErrExpired
	ErrAudience   = verify.ErrAudience
	ErrTenant     = verify.ErrTenant
)

// signJSON returns the compact serialization of claims signed by key (ES256
// or RS256, as alg says) under kid.
func signJSON(key crypto.Signer, alg, kid, typ string, claims any) (string, error) {
	h, err := json.Marshal(header{Alg: alg, Typ: typ, Kid: kid})
	if err != nil {
		return "", fmt.Errorf("identity: encode header: %w", err)
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("identity: encode claims: %w", err)
	}
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(p)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest[:])
		if err != nil {
			return "", fmt.Errorf("identity: sign with key %q: %w", kid, err)
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	case *rsa.PrivateKey:
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, digest[:]); err != nil {
			return "", fmt.Errorf("identity: sign with key %q: %w", kid, err)
		}
	default:
		return "", fmt.Errorf("identity: key %q is a %T", kid, key)
	}
	return input + "." + b64.EncodeToString(sig), nil
}
