package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// The hand-off carries a sign-in from Lanyard's host to an application's
// host, since the session cookie of one host is not sent to another:
//
//  1. A browser without a session on app.example.com is sent to the
//     login on Lanyard's host with the return path
//     /auth/handoff?tenant=T&to=https://app.example.com/page.
//  2. After the login, GET /auth/handoff on Lanyard's host checks that the
//     target host is trusted (a route's host or Config.TrustedHosts),
//     stores a single-use code (a minute, bound to the session and the
//     target host) and redirects to
//     https://app.example.com/auth/session?code=C&to=/page.
//  3. GET /auth/session on the application's host (served by Lanyard: the
//     route, or the forward-auth proxy, sends /auth/ to it) takes the code
//     once, opens a session of the same account, IdP session and expiry
//     for that host, sets its cookie and redirects to /page.
//
// Single Logout by the IdP ends both sessions (they share the NameID and
// SessionIndex).
const (
	handoffPath  = "/auth/handoff"
	sessionPath  = "/auth/session"
	handoffTTL   = time.Minute
	handoffLabel = "gateway-handoff"
)

// hostOf returns the host (with port) a request was made to, as the user
// sees it: X-Forwarded-Host when forwarded is set (forward-auth), else Host.
func hostOf(r *http.Request, forwarded bool) string {
	if forwarded {
		if h := r.Header.Get("X-Forwarded-Host"); h != "" {
			return strings.TrimSpace(strings.Split(h, ",")[0])
		}
	}
	return r.Host
}

// schemeOf returns http or https for the request as the user made it.
func schemeOf(r *http.Request) string {
	switch p := strings.ToLower(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0])); {
	case p == "https" || p == "http":
		return p
	case r.TLS != nil:
		return "https"
	}
	return "http"
}

// isBaseHost reports whether host is Lanyard's own (that of the base URL).
func (g *Gateway) isBaseHost(host string) bool {
	return host == "" || strings.EqualFold(host, g.base.Host)
}

// returnTo is the return path of a login for a request to scheme://host
// plus path: the path itself on Lanyard's host, else the hand-off.
func (g *Gateway) returnTo(tenant, scheme, host, path string) string {
	path = localPath(path)
	if g.isBaseHost(host) || g.store == nil {
		return path
	}
	return handoffPath + "?" + url.Values{"tenant": {tenant}, "to": {scheme + "://" + host + path}}.Encode()
}

// trustedHost reports whether a hand-off may go to host (with or without
// port): a route's host, or one of Config.TrustedHosts.
func (g *Gateway) trustedHost(host string) bool {
	name := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		name = h
	}
	for _, t := range g.trustedHosts {
		if strings.EqualFold(t, host) || strings.EqualFold(t, name) {
			return true
		}
	}
	for _, rt := range g.routes.Load().routes {
		if rt.Host != "" && strings.EqualFold(rt.Host, name) {
			return true
		}
	}
	return false
}

// AllowsOrigin reports whether a page of origin (scheme://host[:port], as
// browsers send it in the Origin header) may keep its session with
// Lanyard's session.js across origins: its host is a route's host or a
// trusted host, and its scheme is that of Lanyard's base URL, so that an
// https Lanyard never answers a page plain http could have forged.
// Lanyard's own origin is not cross-origin and is not allowed here.
func (g *Gateway) AllowsOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Scheme != g.base.Scheme || u.Host == "" || u.String() != origin ||
		u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return false
	}
	return !g.isBaseHost(u.Host) && g.trustedHost(u.Host)
}

// handleHandoff answers GET /auth/handoff?tenant=T&to=URL on Lanyard's host.
func (g *Gateway) handleHandoff(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	tenant := q.Get("tenant")
	if tenant == "" {
		tenant = lanyard.DefaultTenantSlug
	}
	to, err := url.Parse(q.Get("to"))
	if err != nil || (to.Scheme != "http" && to.Scheme != "https") || to.Host == "" || to.User != nil || !g.trustedHost(to.Host) {
		http.Error(w, "This sign-in link leads to a site Lanyard does not serve. Open the application again.", http.StatusBadRequest)
		return
	}
	if !lanyard.ValidSlug(tenant) {
		http.Error(w, "This sign-in link names no valid tenant. Open the application again.", http.StatusBadRequest)
		return
	}
	e, err := g.identify(r.Context(), r)
	switch {
	case errors.Is(err, session.ErrNoSession) || (err == nil && e.snap.Tenant.Slug != tenant):
		http.Redirect(w, r, g.loginURL(tenant, localPath(r.URL.RequestURI())), http.StatusFound)
		return
	case err != nil:
		g.logger.Error("hand-off: session check failed", "err", err)
		http.Error(w, "Lanyard could not check your session (its store failed); try again shortly.", http.StatusServiceUnavailable)
		return
	}
	code, err := g.saveHandoff(r.Context(), e, to.Host)
	if err != nil {
		g.logger.Error("hand-off: code not stored", "err", err)
		http.Error(w, "Lanyard could not pass your sign-in on to the application (its store failed); try again shortly.", http.StatusServiceUnavailable)
		return
	}
	next := url.URL{Scheme: to.Scheme, Host: to.Host, Path: sessionPath,
		RawQuery: url.Values{"code": {code}, "to": {localPath(to.RequestURI())}}.Encode()}
	http.Redirect(w, r, next.String(), http.StatusFound)
}

// saveHandoff stores a single-use code for the session and target host and
// returns it, with the session's hash, as the browser carries it.
func (g *Gateway) saveHandoff(ctx context.Context, e *identityEntry, host string) (string, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("gateway: hand-off code: %w", err)
	}
	code := base64.RawURLEncoding.EncodeToString(secret)
	sessionHash := hex.EncodeToString(e.snap.Session.Hash)
	now := g.now().UTC()
	t := lanyard.OneTimeToken{Hash: hashCode(code), Purpose: handoffPurpose(host, sessionHash), UserID: e.snap.User.ID,
		CreatedAt: now, ExpiresAt: now.Add(handoffTTL)}
	if err := g.store.SaveToken(ctx, &t); err != nil {
		return "", fmt.Errorf("gateway: save hand-off code: %w", err)
	}
	return code + "." + sessionHash, nil
}

func hashCode(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// handoffPurpose binds a code to the target host and the session.
func handoffPurpose(host, sessionHash string) string {
	return handoffLabel + " " + strings.ToLower(host) + " " + sessionHash
}

// handleSession answers GET /auth/session?code=C&to=PATH on an
// application's host.
func (g *Gateway) handleSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the code is in the URL
	q := r.URL.Query()
	to := localPath(q.Get("to"))
	code, sessionHash, ok := strings.Cut(q.Get("code"), ".")
	hash, err := hex.DecodeString(sessionHash)
	if !ok || err != nil || len(hash) != sha256.Size {
		http.Error(w, "This sign-in link is malformed. Open the application again.", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	now := g.now().UTC()
	tok, err := g.store.TakeToken(ctx, hashCode(code), handoffPurpose(r.Host, sessionHash), now)
	if errors.Is(err, lanyard.ErrNotFound) {
		http.Error(w, "This sign-in link has expired or was already used. Open the application again.", http.StatusBadRequest)
		return
	}
	if err != nil {
		g.logger.Error("hand-off: take code", "err", err)
		http.Error(w, "Lanyard could not check the sign-in link (its store failed); try again shortly.", http.StatusServiceUnavailable)
		return
	}
	id, sess, err := g.copySession(ctx, hash, tok.UserID, r)
	if errors.Is(err, session.ErrNoSession) {
		http.Redirect(w, r, to, http.StatusFound) // the route sends the browser to sign in again
		return
	}
	if err != nil {
		g.logger.Error("hand-off: open session", "err", err)
		http.Error(w, "Lanyard could not open your session on this site (its store failed); try again shortly.", http.StatusServiceUnavailable)
		return
	}
	maxAge := int(sess.AbsExpiresAt.Sub(now).Seconds())
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: id, Path: "/", MaxAge: max(maxAge, 1), HttpOnly: true,
		Secure: schemeOf(r) == "https", SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, to, http.StatusFound)
}

// copySession opens, for this host, a session of the same account, IdP
// session and expiry as the session with the hash.
func (g *Gateway) copySession(ctx context.Context, hash []byte, userID int64, r *http.Request) (string, lanyard.Session, error) {
	now := g.now().UTC()
	orig, err := g.store.Session(ctx, hash, now)
	if errors.Is(err, lanyard.ErrNotFound) || (err == nil && orig.UserID != userID) {
		return "", lanyard.Session{}, session.ErrNoSession
	}
	if err != nil {
		return "", lanyard.Session{}, fmt.Errorf("gateway: read the signed-in session: %w", err)
	}
	user, err := g.store.User(ctx, orig.UserID)
	if errors.Is(err, lanyard.ErrNotFound) {
		return "", lanyard.Session{}, session.ErrNoSession
	}
	if err != nil {
		return "", lanyard.Session{}, fmt.Errorf("gateway: read user %d: %w", orig.UserID, err)
	}
	tenant, err := g.store.TenantByID(ctx, orig.TenantID)
	if err != nil {
		return "", lanyard.Session{}, fmt.Errorf("gateway: read tenant %d: %w", orig.TenantID, err)
	}
	id, sess, err := g.manager.Open(ctx, tenant, user, orig.Kind, session.Meta{ClientIP: g.clientIP.Address(r), UserAgent: r.UserAgent(),
		IdPEntityID: orig.IdPEntityID, NameID: orig.NameID, NameIDFormat: orig.NameIDFormat, SessionIndex: orig.SessionIndex})
	if err != nil {
		return "", lanyard.Session{}, err
	}
	// The copy ends when the original would: never later.
	sess, err = g.store.UpdateSession(ctx, sess.Hash, func(s *lanyard.Session) error {
		if s.AbsExpiresAt.After(orig.AbsExpiresAt) {
			s.AbsExpiresAt = orig.AbsExpiresAt
		}
		if s.IdleExpiresAt.After(s.AbsExpiresAt) {
			s.IdleExpiresAt = s.AbsExpiresAt
		}
		return nil
	})
	if err != nil {
		return "", lanyard.Session{}, fmt.Errorf("gateway: cap the copied session's expiry: %w", err)
	}
	return id, sess, nil
}

// logoutPath signs out on an application's host: GET /auth/logout ends the
// session of this host (a hand-off copy) and goes on to Lanyard's own
// sign-out, which ends the original session and, for SSO sessions, signs
// out at the IdP. On Lanyard's host it only goes on to /logout.
const logoutPath = "/auth/logout"

// handleLogout answers GET /auth/logout.
func (g *Gateway) handleLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	next := *g.base
	next.Path = strings.TrimSuffix(next.Path, "/") + "/logout"
	next.RawPath, next.RawQuery = "", ""
	if !g.isBaseHost(r.Host) {
		if id := sessionCookie(r); id != "" {
			if err := g.manager.End(r.Context(), id); err != nil {
				g.logger.Error("sign-out on an application's host: session not ended; it expires on its own", "host", r.Host, "err", err)
			}
			g.sessions.Forget(id)
		}
		http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
			Secure: schemeOf(r) == "https", SameSite: http.SameSiteLaxMode})
	}
	http.Redirect(w, r, next.String(), http.StatusFound)
}
