package identity

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/identity/verify"
)

// benchClaims are the claims of a forward-auth answer.
var benchClaims = Claims{Issuer: "https://sso.example.com", Audience: verify.Audience{"https://app.example.com"},
	Subject: "u0000042", UserID: 42, Tenant: "t00000", Email: "u0000042@example.com", Name: "User 42",
	GivenName: "User", FamilyName: "42", Roles: []string{"staff"}, Groups: []string{"staff"},
	IssuedAt: 1_900_000_000, NotBefore: 1_900_000_000, Expiry: 1_900_000_300, SessionExpiry: 1_900_028_800, ID: "0123456789abcdefghijkl"}

// BenchmarkSign is the signature of one identity token, the cost of a
// forward-auth answer for a session not seen since the token expired;
// the sub-benchmarks split it into the claims' encoding and the ECDSA
// signature.
func BenchmarkSign(b *testing.B) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	benchHeader, err := tokenHeader("kid")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("token", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sign(key, benchHeader, benchClaims); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("claims", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(benchClaims); err != nil {
				b.Fatal(err)
			}
		}
	})
	digest := sha256.Sum256([]byte("x"))
	b.Run("ecdsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ecdsa.SignASN1(rand.Reader, key, digest[:]); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The ASN.1 signature becomes R and S of 32 bytes each, right-aligned,
// whatever the width DER gave them; anything else is refused.
func TestRawP256Signature(t *testing.T) {
	t.Parallel()
	full := bytes.Repeat([]byte{0x11}, 32)
	high := bytes.Repeat([]byte{0x91}, 32)
	seq := func(parts ...[]byte) []byte {
		var body []byte
		for _, p := range parts {
			body = append(body, p...)
		}
		return append([]byte{0x30, byte(len(body))}, body...)
	}
	integer := func(b []byte) []byte { return append([]byte{0x02, byte(len(b))}, b...) }
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	for _, tc := range []struct {
		name string
		der  []byte
		r, s []byte // nil: refused
	}{
		{"32 bytes each", seq(integer(full), integer(full)), full, full},
		{"high bit set, with the 0x00 DER adds", seq(integer(append([]byte{0}, high...)), integer(append([]byte{0}, high...))), high, high},
		{"short R", seq(integer([]byte{0x7f}), integer(full)), pad([]byte{0x7f}), full},
		{"short S", seq(integer(full), integer(bytes.Repeat([]byte{0x22}, 30))), full, pad(bytes.Repeat([]byte{0x22}, 30))},
		{"R of 33 bytes", seq(integer(append([]byte{1}, full...)), integer(full)), nil, nil},
		{"negative R", seq(integer(high), integer(full)), nil, nil},
		{"zero R", seq(integer([]byte{0}), integer(full)), nil, nil},
		{"empty R", seq(integer(nil), integer(full)), nil, nil},
		{"one integer", seq(integer(full)), nil, nil},
		{"three integers", seq(integer(full), integer(full), integer(full)), nil, nil},
		{"trailing bytes", append(seq(integer(full), integer(full)), 0), nil, nil},
		{"not a sequence", integer(full), nil, nil},
		{"empty", nil, nil, nil},
	} {
		var out [64]byte
		err := rawP256Signature(tc.der, &out)
		switch {
		case tc.r == nil && err == nil:
			t.Errorf("%s: accepted as %x", tc.name, out)
		case tc.r != nil && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.r != nil && (!bytes.Equal(out[:32], tc.r) || !bytes.Equal(out[32:], tc.s)):
			t.Errorf("%s: got %x, want %x%x", tc.name, out, tc.r, tc.s)
		}
	}
}

// Tokens signed in a row all verify: R or S shorter than 32 bytes (one
// token in 128) are padded, not cut.
func TestSignedTokensVerify(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	header, err := tokenHeader("kid")
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]*ecdsa.PublicKey{"kid": &key.PublicKey}
	for i := range 400 {
		c := benchClaims
		c.UserID = int64(i)
		tok, err := sign(key, header, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := verify.Check(tok, keys, time.Unix(c.IssuedAt, 0), verify.Expect{Issuer: c.Issuer, Audience: c.Audience[0], Tenant: c.Tenant})
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		if got.UserID != int64(i) {
			t.Fatalf("token %d names user %d", i, got.UserID)
		}
	}
}
