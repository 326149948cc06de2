package oidc

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// jwsHeader is the JOSE header of a token this provider reads.
type jwsHeader struct {
	Alg string `json:"alg"`
	Kid string `json:"kid"`
}

// parseJWS splits a compact JWS and decodes its header; it verifies nothing.
func parseJWS(token string) (h jwsHeader, payload, signingInput, sig []byte, err error) {
	if len(token) > 16<<10 {
		return h, nil, nil, nil, errors.New("token too long")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, nil, nil, nil, errors.New("not a compact JWS")
	}
	hb, err1 := b64.DecodeString(parts[0])
	payload, err2 := b64.DecodeString(parts[1])
	sig, err3 := b64.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return h, nil, nil, nil, fmt.Errorf("not base64url: %w", err)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, nil, nil, nil, fmt.Errorf("header: %w", err)
	}
	return h, payload, []byte(parts[0] + "." + parts[1]), sig, nil
}

// verifySignature checks sig over input with key under alg: RS256 or
// ES256 only, and the key's type must be the algorithm's.
func verifySignature(alg string, key any, input, sig []byte) error {
	digest := sha256.Sum256(input)
	switch alg {
	case "RS256":
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return errors.New("RS256 needs an RSA key")
		}
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "ES256":
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() || len(sig) != 64 {
			return errors.New("ES256 needs a P-256 key and a 64-byte signature")
		}
		if !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
			return errors.New("signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("algorithm %q not accepted (RS256 or ES256)", alg)
}

// clientKey is one public key of a client's key set.
type clientKey struct {
	kid string
	alg string // RS256 or ES256
	key any
}

// parseClientJWKS reads the RSA and P-256 keys of a client's key set.
func parseClientJWKS(doc string) ([]clientKey, error) {
	var set struct {
		Keys []struct {
			Kty, Kid, Alg, Crv, X, Y, N, E, Use string
		} `json:"keys"`
	}
	if err := json.Unmarshal([]byte(doc), &set); err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	var out []clientKey
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch k.Kty {
		case "RSA":
			n, err1 := b64.DecodeString(k.N)
			e, err2 := b64.DecodeString(k.E)
			if err := errors.Join(err1, err2); err != nil || len(e) == 0 || len(e) > 4 {
				return nil, fmt.Errorf("key %q: bad n or e", k.Kid)
			}
			pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
			if pub.N.BitLen() < 2048 {
				return nil, fmt.Errorf("key %q: RSA keys need at least 2048 bits", k.Kid)
			}
			out = append(out, clientKey{k.Kid, "RS256", pub})
		case "EC":
			x, err1 := b64.DecodeString(k.X)
			y, err2 := b64.DecodeString(k.Y)
			if err := errors.Join(err1, err2); err != nil || k.Crv != "P-256" || len(x) != 32 || len(y) != 32 {
				return nil, fmt.Errorf("key %q: want a P-256 key with 32-byte x and y", k.Kid)
			}
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
			if err != nil {
				return nil, fmt.Errorf("key %q: %w", k.Kid, err)
			}
			out = append(out, clientKey{k.Kid, "ES256", pub})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("key set has no RSA or P-256 signing key")
	}
	return out, nil
}

// ValidateClientJWKS reports whether doc is a key set private_key_jwt can use.
func ValidateClientJWKS(doc string) error {
	_, err := parseClientJWKS(doc)
	return err
}
