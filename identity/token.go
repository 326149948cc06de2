// Package identity signs and verifies the identity tokens Lanyard hands to
// applications: short-lived JSON Web Tokens (RFC 7519) signed with ES256
// (ECDSA P-256 and SHA-256, RFC 7518 section 3.4), whose public keys are
// published as a JSON Web Key Set (RFC 7517) at /.well-known/jwks.json.
//
// The keys live in the store (lanyard.SigningKeyStore), so every node of a
// cluster signs with the same key and publishes the same set; KeyRing
// rotates them. Verifier is what an application (written in Go) uses to
// check a token; any JOSE library that knows ES256 does the same.
//
// The package uses only the standard library.
package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Algorithm is the JWS algorithm of every token: ECDSA P-256 with SHA-256.
const Algorithm = "ES256"

// Claims is what a token says about the user behind a request.
type Claims struct {
	Issuer   string `json:"iss"`           // Lanyard's base URL
	Subject  string `json:"sub"`           // the user's login, unique in the tenant
	Audience string `json:"aud,omitempty"` // reserved; empty
	IssuedAt int64  `json:"iat"`           // Unix seconds
	// Expiry (Unix seconds) is a few minutes after IssuedAt, never after
	// the session's expiry.
	Expiry     int64    `json:"exp"`
	UserID     int64    `json:"uid"`
	Tenant     string   `json:"tenant"` // the tenant's slug
	Email      string   `json:"email,omitempty"`
	Name       string   `json:"name,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	Roles      []string `json:"roles"`
	Groups     []string `json:"groups"`
	// SessionExpiry (Unix seconds) is when the login session ends at the
	// latest, if the user stays active.
	SessionExpiry int64 `json:"session_exp"`
}

// header is the JOSE header of every token.
type header struct {
	Alg string `json:"alg"`
	Typ string `json:"typ"`
	Kid string `json:"kid"`
}

var b64 = base64.RawURLEncoding

// sign returns the compact serialization of claims signed by key under kid.
func sign(key *ecdsa.PrivateKey, kid string, c Claims) (string, error) {
	h, err := json.Marshal(header{Alg: Algorithm, Typ: "JWT", Kid: kid})
	if err != nil {
		return "", fmt.Errorf("identity: encode header: %w", err)
	}
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
	var b strings.Builder
	b.Grow(b64.EncodedLen(len(h)) + b64.EncodedLen(len(p)) + 90)
	b.WriteString(b64.EncodeToString(h))
	b.WriteByte('.')
	b.WriteString(b64.EncodeToString(p))
	digest := sha256.Sum256([]byte(b.String()))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		return "", fmt.Errorf("identity: sign with key %q: %w", kid, err)
	}
	// RFC 7518 section 3.4: R and S as 32-byte big-endian integers.
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	b.WriteByte('.')
	b.WriteString(b64.EncodeToString(sig[:]))
	return b.String(), nil
}

// Errors of Verify. Test with errors.Is.
var (
	// ErrMalformed: the value is not a compact JWS of this package's form.
	ErrMalformed = errors.New("identity: malformed token")
	// ErrUnknownKey: the token names a key the key set does not hold.
	ErrUnknownKey = errors.New("identity: token signed by an unknown key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("identity: bad token signature")
	// ErrExpired: the token is expired (or issued in the future).
	ErrExpired = errors.New("identity: token expired")
)

// Verify checks token against the public keys by key ID and returns its
// claims. The checks, in order: three base64url parts; header alg ES256
// and a kid found in keys; the signature; iat not after now plus leeway
// and exp after now minus leeway.
func Verify(token string, keys map[string]*ecdsa.PublicKey, now time.Time, leeway time.Duration) (Claims, error) {
	// Three parts.
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first < 0 || first == last {
		return Claims{}, fmt.Errorf("%w: want three dot-separated parts", ErrMalformed)
	}
	rawHeader, rawClaims, rawSig := token[:first], token[first+1:last], token[last+1:]
	// The header: ES256 and a known key.
	hb, err := b64.DecodeString(rawHeader)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return Claims{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if h.Alg != Algorithm {
		return Claims{}, fmt.Errorf("%w: alg %q, want %s", ErrMalformed, h.Alg, Algorithm)
	}
	pub, ok := keys[h.Kid]
	if !ok {
		return Claims{}, fmt.Errorf("%w: kid %q (refresh the key set from /.well-known/jwks.json)", ErrUnknownKey, h.Kid)
	}
	// The signature.
	sig, err := b64.DecodeString(rawSig)
	if err != nil || len(sig) != 64 {
		return Claims{}, fmt.Errorf("%w: signature is not 64 base64url-encoded bytes", ErrMalformed)
	}
	digest := sha256.Sum256([]byte(token[:last]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return Claims{}, fmt.Errorf("%w (key %q)", ErrSignature, h.Kid)
	}
	// The claims and their time window.
	cb, err := b64.DecodeString(rawClaims)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	var c Claims
	dec := json.NewDecoder(bytes.NewReader(cb))
	if err := dec.Decode(&c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if iat := time.Unix(c.IssuedAt, 0); iat.After(now.Add(leeway)) {
		return Claims{}, fmt.Errorf("%w: issued at %s, in the future of %s (clocks disagree by more than %s?)", ErrExpired, iat.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339), leeway)
	}
	if exp := time.Unix(c.Expiry, 0); !exp.After(now.Add(-leeway)) {
		return Claims{}, fmt.Errorf("%w at %s (now %s)", ErrExpired, exp.UTC().Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return c, nil
}
