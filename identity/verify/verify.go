package verify

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Errors of Check and Verifier.Verify. Test with errors.Is.
var (
	// ErrMalformed: the value is not a compact JWS of Lanyard's form, or
	// names an algorithm other than ES256.
	ErrMalformed = errors.New("identity: malformed token")
	// ErrUnknownKey: the token names a key the key set does not hold.
	ErrUnknownKey = errors.New("identity: token signed by an unknown key")
	// ErrSignature: the signature does not verify.
	ErrSignature = errors.New("identity: bad token signature")
	// ErrExpired: the token is expired, not valid yet, or issued in the
	// future.
	ErrExpired = errors.New("identity: token expired")
	// ErrIssuer: the token comes from another issuer.
	ErrIssuer = errors.New("identity: token of another issuer")
	// ErrAudience: the token was issued for another application, or for
	// none.
	ErrAudience = errors.New("identity: token issued for another application")
	// ErrTenant: the token's user belongs to another tenant.
	ErrTenant = errors.New("identity: token of another tenant's user")
	// ErrConfig: the expected issuer, audience or tenant is not set.
	ErrConfig = errors.New("identity: verifier not configured")
)

// Expect is what a token must say to be accepted.
type Expect struct {
	// Issuer is Lanyard's base URL, as in the token's "iss". Required.
	Issuer string
	// Audience is this application's audience (see Claims.Audience); the
	// token's "aud" must contain it. Required.
	Audience string
	// Tenant is the slug of the tenant whose users this application
	// serves. Required.
	Tenant string
	// Leeway is the clock difference tolerated on nbf, iat and exp.
	Leeway time.Duration
}

var b64 = base64.RawURLEncoding

// header is the JOSE header of a token.
type header struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ"`
	Kid  string          `json:"kid"`
	Crit json.RawMessage `json:"crit"`
}

// Check verifies token against the public keys by key ID, at now, and
// returns its claims. The checks, in order: three base64url parts; header
// alg exactly ES256, no critical extensions, a kid found in keys; the
// signature; issuer, audience and tenant equal to want's; nbf and iat not
// after now plus leeway; exp after now minus leeway.
func Check(token string, keys map[string]*ecdsa.PublicKey, now time.Time, want Expect) (Claims, error) {
	if want.Issuer == "" || want.Audience == "" || want.Tenant == "" {
		return Claims{}, fmt.Errorf("%w: set the expected issuer, audience and tenant", ErrConfig)
	}
	c, err := checkSignature(token, keys)
	if err != nil {
		return Claims{}, err
	}
	if c.Issuer != want.Issuer {
		return Claims{}, fmt.Errorf("%w: issued by %q, want %q", ErrIssuer, c.Issuer, want.Issuer)
	}
	if !c.Audience.Contains(want.Audience) {
		return Claims{}, fmt.Errorf("%w: audience %q, want %q", ErrAudience, []string(c.Audience), want.Audience)
	}
	if c.Tenant != want.Tenant {
		return Claims{}, fmt.Errorf("%w: tenant %q, want %q", ErrTenant, c.Tenant, want.Tenant)
	}
	leeway := want.Leeway
	if nbf := time.Unix(c.NotBefore, 0); nbf.After(now.Add(leeway)) {
		return Claims{}, fmt.Errorf("%w: not valid before %s, now %s (clocks disagree by more than %s?)", ErrExpired, stamp(nbf), stamp(now), leeway)
	}
	if iat := time.Unix(c.IssuedAt, 0); iat.After(now.Add(leeway)) {
		return Claims{}, fmt.Errorf("%w: issued at %s, in the future of %s (clocks disagree by more than %s?)", ErrExpired, stamp(iat), stamp(now), leeway)
	}
	if exp := time.Unix(c.Expiry, 0); !exp.After(now.Add(-leeway)) {
		return Claims{}, fmt.Errorf("%w at %s (now %s)", ErrExpired, stamp(exp), stamp(now))
	}
	return c, nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// checkSignature checks the form, the algorithm, the key and the
// signature of token, and returns its claims unchecked.
func checkSignature(token string, keys map[string]*ecdsa.PublicKey) (Claims, error) {
	first := strings.IndexByte(token, '.')
	last := strings.LastIndexByte(token, '.')
	if first < 0 || first == last {
		return Claims{}, fmt.Errorf("%w: want three dot-separated parts", ErrMalformed)
	}
	rawHeader, rawClaims, rawSig := token[:first], token[first+1:last], token[last+1:]
	hb, err := b64.DecodeString(rawHeader)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	var h header
	if err := json.Unmarshal(hb, &h); err != nil {
		return Claims{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	// The algorithm is fixed, never taken from the token: "none", HMAC with
	// the public key as secret, or any other curve are all refused.
	if h.Alg != Algorithm {
		return Claims{}, fmt.Errorf("%w: alg %q, want %s", ErrMalformed, h.Alg, Algorithm)
	}
	if len(h.Crit) > 0 {
		return Claims{}, fmt.Errorf("%w: critical header extensions are not understood", ErrMalformed)
	}
	pub, ok := keys[h.Kid]
	if !ok {
		return Claims{}, fmt.Errorf("%w: kid %q (refresh the key set from /.well-known/jwks.json)", ErrUnknownKey, h.Kid)
	}
	sig, err := b64.DecodeString(rawSig)
	if err != nil || len(sig) != 64 {
		return Claims{}, fmt.Errorf("%w: signature is not 64 base64url-encoded bytes", ErrMalformed)
	}
	digest := sha256.Sum256([]byte(token[:last]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		return Claims{}, fmt.Errorf("%w (key %q)", ErrSignature, h.Kid)
	}
	cb, err := b64.DecodeString(rawClaims)
	if err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	var c Claims
	if err := json.NewDecoder(bytes.NewReader(cb)).Decode(&c); err != nil {
		return Claims{}, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	return c, nil
}
