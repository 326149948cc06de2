package verify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"encoding/json"
	"fmt"
)

// JWK is one public key of a JSON Web Key Set (RFC 7517), an EC P-256 key.
type JWK struct {
	KeyType   string `json:"kty"` // "EC"
	Curve     string `json:"crv"` // "P-256"
	X         string `json:"x"`   // base64url, 32 bytes
	Y         string `json:"y"`
	KeyID     string `json:"kid"`
	Algorithm string `json:"alg"` // "ES256"
	Use       string `json:"use"` // "sig"
}

// JWKS is a JSON Web Key Set: the document at /.well-known/jwks.json.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicKeys returns the P-256 keys of the set by key ID, for Check. Keys
// of other types or algorithms are skipped.
func (s JWKS) PublicKeys() (map[string]*ecdsa.PublicKey, error) {
	out := make(map[string]*ecdsa.PublicKey, len(s.Keys))
	for _, k := range s.Keys {
		if k.KeyType != "EC" || k.Curve != "P-256" || (k.Algorithm != "" && k.Algorithm != Algorithm) {
			continue
		}
		x, errX := b64.DecodeString(k.X)
		y, errY := b64.DecodeString(k.Y)
		if errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, fmt.Errorf("identity: key %q: x and y must be 32 base64url-encoded bytes each", k.KeyID)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("identity: key %q: %w", k.KeyID, err)
		}
		out[k.KeyID] = pub
	}
	return out, nil
}

// ParseJWKS reads a JSON Web Key Set.
func ParseJWKS(data []byte) (JWKS, error) {
	var s JWKS
	if err := json.Unmarshal(data, &s); err != nil {
		return JWKS{}, fmt.Errorf("identity: key set is not JSON of the form {\"keys\": [...]}: %w", err)
	}
	return s, nil
}
