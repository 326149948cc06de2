package identity

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"fmt"
	"math/big"

	"github.com/lanyard-sso/lanyard/identity/verify"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517).
type JWK = verify.JWK

// JWKS is a JSON Web Key Set: the document at /.well-known/jwks.json.
type JWKS = verify.JWKS

// ParseJWKS reads a JSON Web Key Set.
func ParseJWKS(data []byte) (JWKS, error) { return verify.ParseJWKS(data) }

// publicJWK returns the JWK of the public half of key.
func publicJWK(kid string, key *ecdsa.PublicKey) (JWK, error) {
	raw, err := key.Bytes() // 0x04 || X || Y
	if err != nil {
		return JWK{}, fmt.Errorf("identity: public key %q: %w", kid, err)
	}
	if len(raw) != 65 || raw[0] != 4 {
		return JWK{}, fmt.Errorf("identity: public key %q: not an uncompressed P-256 point", kid)
	}
	return JWK{KeyType: "EC", Curve: "P-256", X: b64.EncodeToString(raw[1:33]), Y: b64.EncodeToString(raw[33:]),
		KeyID: kid, Algorithm: Algorithm, Use: "sig"}, nil
}

// RSAJWK is the public half of an RSA key in a JSON Web Key Set (RFC 7518
// section 6.3.1).
type RSAJWK struct {
	KeyType   string `json:"kty"` // "RSA"
	N         string `json:"n"`
	E         string `json:"e"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"` // "RS256"
	Use       string `json:"use"` // "sig"
}

// rsaJWK returns the JWK of an RSA public key.
func rsaJWK(kid string, key *rsa.PublicKey) RSAJWK {
	return RSAJWK{KeyType: "RSA", N: b64.EncodeToString(key.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		KeyID: kid, Algorithm: AlgorithmRS256, Use: "sig"}
}
