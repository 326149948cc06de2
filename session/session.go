// Package session opens, finds and ends login sessions over a
// lanyard.SessionStore. It knows nothing of HTTP: package web moves the
// session ID in and out of cookies.
//
// A session ID is 256 random bits, base64url-encoded; it lives only in the
// browser's cookie. The store keeps its SHA-256 (lanyard.HashSessionID), so a
// copy of the database does not hand out live sessions.
//
// Reads go through the Store interface, so a later cache can wrap the store
// (see Store) without touching this package's callers.
package session

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Store is what the Manager needs from the database: sessions, and tenants to
// read their current session lifetimes when the idle expiry is extended.
//
// A cache with bounded staleness plugs in here: a type that implements Store,
// answers Session from memory for up to its TTL, and forwards every write
// (CreateSession, UpdateSession, DeleteSession...) to the real store while
// dropping its own copy. Ending a session then takes effect at once on the
// node that ended it and within the TTL on the others.
type Store interface {
	lanyard.SessionStore
	TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
}

// ErrNoSession is returned by Lookup when the ID names no live session: it
// never existed, it ended, or it expired. The user has to sign in again.
var ErrNoSession = &lanyard.Error{
	Op:      "session.Lookup",
	Kind:    lanyard.KindUnauthorized,
	Message: "Your session has ended. Please sign in again.",
}

// DefaultTouchInterval is how often, at most, Lookup writes a session's
// last-seen time and idle expiry back to the store.
const DefaultTouchInterval = time.Minute

// idBytes is the size of a session ID and of a CSRF secret: 256 bits.
const idBytes = 32

// Meta describes where a session comes from. The SSO fields identify the IdP
// session, for Single Logout; they are empty for password sessions.
type Meta struct {
	ClientIP     string
	UserAgent    string
	IdPEntityID  string
	NameID       string
	NameIDFormat string
	SessionIndex string
	// AuthnContext is the SAML AuthnContextClassRef of the login.
	AuthnContext string
	// Origin and ParentHash make a copy for an application's host (see
	// lanyard.Session).
	Origin     string
	ParentHash []byte
}

// Options tune a Manager. The zero value is ready to use.
type Options struct {
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
	// TouchInterval is the least time between two writes of a session's
	// activity. Zero means DefaultTouchInterval. A session may therefore end
	// up to TouchInterval before idle time plus its last request.
	TouchInterval time.Duration
}

// Manager opens, finds and ends sessions. It is safe for concurrent use.
type Manager struct {
	store         Store
	now           func() time.Time
	touchInterval time.Duration
}

// NewManager returns a Manager over store.
func NewManager(store Store, opts Options) *Manager {
	m := &Manager{store: store, now: opts.Now, touchInterval: opts.TouchInterval}
	if m.now == nil {
		m.now = time.Now
	}
	if m.touchInterval <= 0 {
		m.touchInterval = DefaultTouchInterval
	}
	return m
}

// Open starts a session for user in tenant and returns its ID, which the
// caller hands to the browser and which is never stored. The idle and
// absolute expiry come from the tenant's SSO settings (defaults when unset).
func (m *Manager) Open(ctx context.Context, tenant lanyard.Tenant, user lanyard.User, kind lanyard.SessionKind, meta Meta) (string, lanyard.Session, error) {
	id, s, err := m.Prepare(tenant, user, kind, meta)
	if err != nil {
		return "", lanyard.Session{}, err
	}
	if err := m.store.CreateSession(ctx, &s); err != nil {
		return "", lanyard.Session{}, fmt.Errorf("session: open for user %d: %w", user.ID, err)
	}
	return id, s, nil
}

// Prepare is Open without the write: the session's ID and the session to
// store (CreateSession), for a caller that writes it in its own
// transaction, with the rest of a login.
func (m *Manager) Prepare(tenant lanyard.Tenant, user lanyard.User, kind lanyard.SessionKind, meta Meta) (string, lanyard.Session, error) {
	if user.TenantID != tenant.ID {
		return "", lanyard.Session{}, fmt.Errorf("session: open: user %d belongs to tenant %d, not %d", user.ID, user.TenantID, tenant.ID)
	}
	id, err := randomToken()
	if err != nil {
		return "", lanyard.Session{}, fmt.Errorf("session: open: id: %w", err)
	}
	secret := make([]byte, idBytes)
	if _, err := rand.Read(secret); err != nil {
		return "", lanyard.Session{}, fmt.Errorf("session: open: csrf secret: %w", err)
	}
	settings := tenant.SSO
	settings.Normalize()
	now := m.now().UTC()
	s := lanyard.Session{
		Hash:          lanyard.HashSessionID(id),
		TenantID:      tenant.ID,
		UserID:        user.ID,
		Kind:          kind,
		IdPEntityID:   meta.IdPEntityID,
		NameID:        meta.NameID,
		NameIDFormat:  meta.NameIDFormat,
		SessionIndex:  meta.SessionIndex,
		AuthnContext:  meta.AuthnContext,
		CreatedAt:     now,
		LastSeenAt:    now,
		AbsExpiresAt:  now.Add(time.Duration(settings.SessionAbsolute)),
		ClientIP:      meta.ClientIP,
		Origin:        meta.Origin,
		ParentHash:    meta.ParentHash,
		UserAgent:     truncate(meta.UserAgent, 512),
		LastRefreshAt: now,
		CSRFSecret:    secret,
	}
	s.IdleExpiresAt = idleExpiry(now, time.Duration(settings.SessionIdle), s.AbsExpiresAt)
	return id, s, nil
}

// Lookup returns the live session with the ID, or ErrNoSession. It extends
// the idle expiry on activity, writing to the store at most once per touch
// interval so that a busy user does not cost a database write per request.
func (m *Manager) Lookup(ctx context.Context, id string) (lanyard.Session, error) {
	if !wellFormedID(id) {
		return lanyard.Session{}, ErrNoSession
	}
	now := m.now().UTC()
	hash := lanyard.HashSessionID(id)
	s, err := m.store.Session(ctx, hash, now)
	switch {
	case errors.Is(err, lanyard.ErrNotFound):
		return lanyard.Session{}, ErrNoSession
	case err != nil:
		return lanyard.Session{}, fmt.Errorf("session: lookup: %w", err)
	}
	// The store already refuses expired sessions; checking again keeps that
	// promise when a cache sits in front of it.
	if !s.Valid(now) {
		return lanyard.Session{}, ErrNoSession
	}
	if now.Sub(s.LastSeenAt) < m.touchInterval {
		return s, nil
	}
	return m.touch(ctx, s, now)
}

// touch records activity at now and moves the idle expiry forward, never
// past the absolute expiry. The idle time is read from the tenant, so a
// shorter setting applies to open sessions from their next touch.
func (m *Manager) touch(ctx context.Context, s lanyard.Session, now time.Time) (lanyard.Session, error) {
	tenant, err := m.store.TenantByID(ctx, s.TenantID)
	if err != nil {
		return lanyard.Session{}, fmt.Errorf("session: touch: tenant %d: %w", s.TenantID, err)
	}
	settings := tenant.SSO
	settings.Normalize()
	idle := time.Duration(settings.SessionIdle)
	updated, err := m.store.UpdateSession(ctx, s.Hash, func(cur *lanyard.Session) error {
		// Another request may have touched it meanwhile; never move backwards.
		if now.After(cur.LastSeenAt) {
			cur.LastSeenAt = now
		}
		cur.IdleExpiresAt = idleExpiry(cur.LastSeenAt, idle, cur.AbsExpiresAt)
		return nil
	})
	switch {
	case errors.Is(err, lanyard.ErrNotFound):
		// Ended by another request between the read and the write.
		return lanyard.Session{}, ErrNoSession
	case err != nil:
		return lanyard.Session{}, fmt.Errorf("session: touch: %w", err)
	}
	if !updated.Valid(now) {
		return lanyard.Session{}, ErrNoSession
	}
	return updated, nil
}

// End ends the session with the ID everywhere. Ending an unknown or already
// ended session is not an error: signing out twice is fine.
func (m *Manager) End(ctx context.Context, id string) error {
	if !wellFormedID(id) {
		return nil
	}
	if err := m.store.DeleteSession(ctx, lanyard.HashSessionID(id)); err != nil {
		return fmt.Errorf("session: end: %w", err)
	}
	return nil
}

// EndAllForUser ends every session of the user (after a password change, a
// lockout, a deactivation) and reports how many there were.
func (m *Manager) EndAllForUser(ctx context.Context, userID int64) (int, error) {
	n, err := m.store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("session: end all sessions of user %d: %w", userID, err)
	}
	return n, nil
}

// csrfLabel separates CSRF tokens from any other value a future version may
// derive from the same secret.
const csrfLabel = "lanyard csrf v1"

// CSRFToken returns the anti-forgery token of s, to embed in its forms. It is
// an HMAC of the session's secret, so it needs no storage and cannot be
// forged without the secret.
func CSRFToken(s lanyard.Session) string {
	return base64.RawURLEncoding.EncodeToString(csrfMAC(s.CSRFSecret))
}

// ValidCSRFToken reports, in constant time, whether token is the CSRF token
// of s.
func ValidCSRFToken(s lanyard.Session, token string) bool {
	if len(s.CSRFSecret) == 0 {
		return false
	}
	got, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return false
	}
	return hmac.Equal(got, csrfMAC(s.CSRFSecret))
}

func csrfMAC(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(csrfLabel))
	return mac.Sum(nil)
}

// RandomToken returns 256 random bits, base64url-encoded without padding:
// the form of session IDs, also fit for other unguessable browser values.
func RandomToken() (string, error) { return randomToken() }

func randomToken() (string, error) {
	b := make([]byte, idBytes)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// wellFormedID rejects values that cannot be session IDs before they cost a
// hash and a database read.
func wellFormedID(id string) bool {
	if len(id) != base64.RawURLEncoding.EncodedLen(idBytes) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil
}

func idleExpiry(from time.Time, idle time.Duration, abs time.Time) time.Time {
	if t := from.Add(idle); t.Before(abs) {
		return t
	}
	return abs
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a byte boundary, then drop a rune the cut may have split.
	return strings.ToValidUTF8(s[:n], "")
}

// checkLabel separates the passive-check key from the CSRF token.
const checkLabel = "lanyard passive check v1"

// CheckKey returns the key that names s in the return path of a passive
// check: only the holder of the session can have it, so that nobody who
// merely knows the session's hash (another user of the tenant) can make a
// check end it.
func CheckKey(s lanyard.Session) string {
	mac := hmac.New(sha256.New, s.CSRFSecret)
	mac.Write([]byte(checkLabel))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// ValidCheckKey reports, in constant time, whether key is CheckKey(s).
func ValidCheckKey(s lanyard.Session, key string) bool {
	if len(s.CSRFSecret) == 0 || key == "" {
		return false
	}
	return hmac.Equal([]byte(key), []byte(CheckKey(s)))
}
