// Package keyseal seals the private keys Lanyard keeps in its database (the
// SAML SP keys and the identity token signing keys) with a secret key that
// lives outside it, so that a copy of the database (a backup, a replica, a
// leaked dump) does not give away the keys that sign and decrypt logins.
//
// A sealed value is text: "lanyard-sealed:v1:" then the ID of the secret key
// (the first 8 hex digits of its SHA-256), a colon, and the base64 of a
// 12-byte nonce followed by the AES-256-GCM ciphertext. The purpose of the
// value (which table and column) is authenticated with it, so a sealed value
// copied into another column does not open.
package keyseal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a secret key in bytes.
const KeySize = 32

// prefix starts every sealed value.
const prefix = "lanyard-sealed:v1:"

// Sealer seals and opens values with one secret key. It is safe for
// concurrent use.
type Sealer struct {
	aead cipher.AEAD
	id   string
}

// New returns a sealer over a KeySize-byte secret key.
func New(secret []byte) (*Sealer, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("keyseal: the secret key has %d bytes, want %d", len(secret), KeySize)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	sum := sha256.Sum256(secret)
	return &Sealer{aead: aead, id: hex.EncodeToString(sum[:4])}, nil
}

// ParseKey reads a secret key written as base64 (standard or URL alphabet,
// padded or not) or as 64 hex digits; surrounding white space is ignored.
func ParseKey(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	if len(text) == 2*KeySize {
		if b, err := hex.DecodeString(text); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(text); err == nil && len(b) == KeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not a secret key: want %d random bytes in base64 (44 characters) or hex (64 digits); make one with 'lanyard secret-key'", KeySize)
}

// GenerateKey returns a new random secret key in base64.
func GenerateKey() string {
	key := make([]byte, KeySize)
	rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}

// ID names the secret key without revealing it.
func (s *Sealer) ID() string { return s.id }

// IsSealed reports whether v is a sealed value (of any secret key).
func IsSealed(v []byte) bool { return strings.HasPrefix(string(v), prefix) }

// Seal returns plain sealed for purpose.
func (s *Sealer) Seal(plain []byte, purpose string) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	rand.Read(nonce)
	sealed := s.aead.Seal(nonce, nonce, plain, []byte(purpose))
	return []byte(prefix + s.id + ":" + base64.StdEncoding.EncodeToString(sealed))
}

// ErrNoSecretKey is returned by Open on a nil Sealer: the value is sealed
// but no secret key is configured.
var ErrNoSecretKey = errors.New("the private keys in the database are sealed, but no secret key is configured: start Lanyard with the secret key it was sealed with (--secret-key-file or LANYARD_SECRET_KEY_FILE)")

// Open returns the plain value of v, sealed for purpose. A value that is
// not sealed is returned as it is: keys written before a secret key was
// configured stay readable.
func (s *Sealer) Open(v []byte, purpose string) ([]byte, error) {
	if !IsSealed(v) {
		return v, nil
	}
	if s == nil {
		return nil, ErrNoSecretKey
	}
	id, body, ok := strings.Cut(string(v[len(prefix):]), ":")
	if !ok {
		return nil, errors.New("keyseal: a sealed value is malformed (no key ID)")
	}
	if id != s.id {
		return nil, fmt.Errorf("keyseal: a private key in the database was sealed with secret key %s, but the configured secret key is %s: configure the secret key the database was sealed with", id, s.id)
	}
	sealed, err := base64.StdEncoding.DecodeString(body)
	if err != nil || len(sealed) < s.aead.NonceSize() {
		return nil, errors.New("keyseal: a sealed value is malformed (bad base64)")
	}
	plain, err := s.aead.Open(nil, sealed[:s.aead.NonceSize()], sealed[s.aead.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("keyseal: a sealed %s does not open: it was altered or belongs elsewhere", purpose)
	}
	return plain, nil
}
