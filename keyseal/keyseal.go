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

// Sealer seals values with its current secret key and opens values sealed
// with it or with one of its previous keys (while the secret key is being
// changed). It is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD // of the current key
	id   string
	all  map[string]cipher.AEAD // every key by ID, the current one included
}

// New returns a sealer whose current secret key is current, and which also
// opens values sealed with the previous keys. Every key has KeySize bytes.
func New(current []byte, previous ...[]byte) (*Sealer, error) {
	s := &Sealer{all: map[string]cipher.AEAD{}}
	for i, secret := range append([][]byte{current}, previous...) {
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
		id := hex.EncodeToString(sum[:4])
		s.all[id] = aead
		if i == 0 {
			s.aead, s.id = aead, id
		}
	}
	return s, nil
}

// ParseKeys reads a secret key file: one key per line (see ParseKey), the
// current key first, then previous keys still needed to open values sealed
// before the key was changed. Empty lines and lines starting with # are
// skipped.
func ParseKeys(text string) ([][]byte, error) {
	var keys [][]byte
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := ParseKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n+1, err)
		}
		keys = append(keys, key)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no secret key in it; make one with 'lanyard secret-key'")
	}
	return keys, nil
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

// ID names the current secret key without revealing it.
func (s *Sealer) ID() string { return s.id }

// IsSealed reports whether v is a sealed value (of any secret key).
func IsSealed(v []byte) bool { return strings.HasPrefix(string(v), prefix) }

// IsCurrent reports whether v is sealed with the current secret key.
func (s *Sealer) IsCurrent(v []byte) bool {
	return s != nil && strings.HasPrefix(string(v), prefix+s.id+":")
}

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
	aead, ok := s.all[id]
	if !ok {
		return nil, fmt.Errorf("keyseal: a private key in the database was sealed with secret key %s, but the configured secret key is %s: configure the secret key the database was sealed with", id, s.id)
	}
	sealed, err := base64.StdEncoding.DecodeString(body)
	if err != nil || len(sealed) < aead.NonceSize() {
		return nil, errors.New("keyseal: a sealed value is malformed (bad base64)")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("keyseal: a sealed %s does not open: it was altered or belongs elsewhere", purpose)
	}
	return plain, nil
}
