// Package verify checks the identity tokens Lanyard hands to applications
// (the X-Lanyard-JWT header, or a bearer token): ES256-signed JSON Web
// Tokens (RFC 7519, RFC 7518 section 3.4) whose public keys Lanyard
// publishes at /.well-known/jwks.json.
//
// An application imports this package alone: it depends on the standard
// library only, so checking a token pulls in nothing of Lanyard.
//
// A token is accepted only when every check passes: ES256 signature by a
// published key, the expected issuer, the application's own audience, the
// expected tenant, and the time window (nbf, iat, exp, with a small
// leeway). A token Lanyard gave to another application, or one of another
// tenant's user, is refused.
package verify

import (
	"encoding/json"
	"errors"
)

// Algorithm is the JWS algorithm of every token: ECDSA P-256 with SHA-256.
// Tokens naming any other algorithm (none, HS256, RS256...) are refused.
const Algorithm = "ES256"

// Claims is what a token says about the user behind a request.
type Claims struct {
	Issuer  string `json:"iss"` // Lanyard's base URL
	Subject string `json:"sub"` // the user's login, unique in the tenant
	// Audience is the application the token was issued for: the name of
	// the built-in proxy's route, or what the forward-auth check names
	// (its aud parameter, else the origin of the application's host).
	Audience  Audience `json:"aud"`
	NotBefore int64    `json:"nbf"` // Unix seconds
	IssuedAt  int64    `json:"iat"` // Unix seconds
	// Expiry (Unix seconds) is a few minutes after IssuedAt, never after
	// the session's expiry.
	Expiry int64 `json:"exp"`
	// ID is unique per token (jti), for applications that keep a replay
	// log of the tokens they have seen.
	ID         string   `json:"jti"`
	UserID     int64    `json:"uid"`
	Tenant     string   `json:"tenant"` // the tenant's slug
	Email      string   `json:"email,omitempty"`
	Name       string   `json:"name,omitempty"`
	GivenName  string   `json:"given_name,omitempty"`
	FamilyName string   `json:"family_name,omitempty"`
	Roles      []string `json:"roles"`
	Groups     []string `json:"groups"`
	// SessionExpiry (Unix seconds) is when the login session ends unless
	// the user's activity extends it (its idle time), up to its absolute
	// end. Activity since the token was signed may have moved the end
	// later; never earlier.
	SessionExpiry int64 `json:"session_exp"`
}

// Audience is the "aud" claim: one value as a JSON string, several as an
// array (RFC 7519 section 4.1.3 allows both).
type Audience []string

// MarshalJSON writes one audience as a string, several as an array.
func (a Audience) MarshalJSON() ([]byte, error) {
	if len(a) == 1 {
		return json.Marshal(a[0])
	}
	return json.Marshal([]string(a))
}

// UnmarshalJSON reads a string or an array of strings.
func (a *Audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = Audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return errors.New("aud is neither a string nor an array of strings")
	}
	*a = many
	return nil
}

// Contains reports whether want is one of the audiences.
func (a Audience) Contains(want string) bool {
	for _, v := range a {
		if v == want {
			return true
		}
	}
	return false
}
