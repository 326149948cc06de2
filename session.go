package lanyard

import (
	"crypto/sha256"
	"time"
)

// SessionKind says how a session was opened.
type SessionKind string

// Session kinds.
const (
	SessionSSO      SessionKind = "sso"
	SessionPassword SessionKind = "password"
)

// Session is a server-side login session. Only the SHA-256 hash of the
// random 256-bit session ID is stored; the ID itself lives in the cookie.
type Session struct {
	Hash          []byte // SHA-256 of the session ID
	TenantID      int64
	UserID        int64
	Kind          SessionKind
	IdPEntityID   string // SSO sessions: the IdP, NameID and SessionIndex, for Single Logout
	NameID        string
	NameIDFormat  string
	SessionIndex  string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time // moves forward with activity
	AbsExpiresAt  time.Time // fixed at creation
	ClientIP      string
	UserAgent     string
	LastRefreshAt time.Time // last passive re-check with the IdP
	CSRFSecret    []byte    // per-session secret for CSRF tokens
	// Origin is, for a copy the gateway made to carry a sign-in to an
	// application's host (scheme://host[:port]), the only origin the copy
	// is good on; "" for a session of Lanyard's own host.
	Origin string
	// ParentHash is, for such a copy, the hash of the session it copies:
	// ending that session ends the copy.
	ParentHash []byte
	// AuthnContext is the SAML AuthnContextClassRef of the login that
	// opened an SSO session (how the IdP authenticated the user; the "acr"
	// of OpenID Connect); "" when the IdP gave none, and for password
	// sessions.
	AuthnContext string
}

// ExpiresAt is the earlier of the idle and the absolute expiry.
func (s *Session) ExpiresAt() time.Time {
	if s.IdleExpiresAt.Before(s.AbsExpiresAt) {
		return s.IdleExpiresAt
	}
	return s.AbsExpiresAt
}

// Valid reports whether s has not expired at now.
func (s *Session) Valid(now time.Time) bool { return now.Before(s.ExpiresAt()) }

// HashSessionID returns the stored form of a session ID.
func HashSessionID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// PendingRequest is an AuthnRequest sent to an IdP and not yet answered.
type PendingRequest struct {
	ID          string // the AuthnRequest ID
	TenantID    int64
	IdPEntityID string
	ReturnTo    string // local path to land on after login
	// Binding ties the request to the browser that started it: the hash of
	// a random value kept in that browser's cookie.
	Binding   []byte
	Passive   bool
	CreatedAt time.Time
	ExpiresAt time.Time
}

// OneTimeToken is a hashed, expiring, single-use token (password reset links).
type OneTimeToken struct {
	Hash      []byte
	Purpose   string // e.g. "password-reset"
	UserID    int64
	CreatedAt time.Time
	ExpiresAt time.Time
}

// SessionActivity is a session's activity to record: the last time it was
// seen and the idle expiry that follows from it (never past the absolute
// expiry). Recording never moves a session's LastSeenAt backwards.
type SessionActivity struct {
	Hash          []byte
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
}
