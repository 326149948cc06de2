package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
//  1. A browser without a session on https://app.example.com is sent to
//     /auth/start?tenant=T&to=/page on that host (served by Lanyard: the
//     route, or the forward-auth proxy, sends /auth/ to it). It sets a
//     random nonce in a cookie of the application's host and sends the
//     browser to the login on Lanyard's host, with the return path
//     /auth/handoff?tenant=T&to=https://app.example.com/page&b=SHA256(nonce).
//  2. After the login, GET /auth/handoff on Lanyard's host checks that the
//     target is exactly the origin (scheme, host, port) of a trusted
//     application (a route's host, or Config.TrustedHosts), stores a
//     single-use code (a minute, bound to the session, the origin and the
//     nonce's hash) and redirects to
//     https://app.example.com/auth/session?code=C&to=/page.
//  3. GET /auth/session on the application's host takes the code once,
//     only with the nonce cookie of step 1 (so an attacker's link cannot
//     sign a victim's browser into the attacker's account: login CSRF),
//     and opens a copy of the session for that origin alone, ending with
//     its original (see lanyard.Session.Origin and ParentHash).
//
// Signing out on Lanyard, Single Logout and the passive check end the
// original, and with it every copy.
const (
	startPath    = "/auth/start"
	handoffPath  = "/auth/handoff"
	sessionPath  = "/auth/session"
	handoffTTL   = time.Minute
	handoffLabel = "gateway-handoff"
	// nonceTTL bounds the time from the application's page to the end of
	// the login on Lanyard.
	nonceTTL = 15 * time.Minute
)

// Cookie names on an application's host. Over https they carry the
// __Host- prefix: the browser then takes them only from this very host
// (Secure, Path=/, no Domain), so a sibling subdomain cannot plant one.
const (
	nonceCookie       = "lanyard_handoff"
	securePrefix      = "__Host-"
	secureNonceCookie = securePrefix + nonceCookie
)

// cookieName is name as set on a host reached over scheme.
func cookieName(name string, secure bool) string {
	switch {
	case !secure:
		return name
	case name == SessionCookie:
		return secureSessionCookie // no allocation on the hot path
	}
	return securePrefix + name
}

const secureSessionCookie = securePrefix + SessionCookie

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
	first, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	switch p := strings.TrimSpace(first); {
	case strings.EqualFold(p, "https"):
		return "https"
	case strings.EqualFold(p, "http"):
		return "http"
	case r.TLS != nil:
		return "https"
	}
	return "http"
}

// requestOrigin is the origin a request was made to, canonical, or "".
func requestOrigin(r *http.Request) string {
	o, _ := lanyard.CanonicalOrigin(schemeOf(r) + "://" + r.Host)
	return o
}

// isBaseHost reports whether host is Lanyard's own (that of the base URL).
func (g *Gateway) isBaseHost(host string) bool {
	return host == "" || strings.EqualFold(host, g.base.Host)
}

// signInURL is where a request to scheme://host plus path without a
// session goes: Lanyard's login, coming back to path, on Lanyard's host;
// else the start of the hand-off on the application's own host.
func (g *Gateway) signInURL(tenant, scheme, host, path string) string {
	path = localPath(path)
	if g.isBaseHost(host) || g.store == nil {
		return g.loginURL(tenant, path)
	}
	origin, ok := lanyard.CanonicalOrigin(scheme + "://" + host)
	if !ok {
		return g.loginURL(tenant, "/")
	}
	return origin + startPath + "?" + url.Values{"tenant": {tenant}, "to": {path}}.Encode()
}

// originsOf returns the trusted origins of Config.TrustedHosts.
func originsOf(hosts []string, baseScheme string) (map[string]bool, error) {
	out := map[string]bool{}
	var v lanyard.ValidationError
	for _, h := range hosts {
		if h = strings.TrimSpace(h); h == "" {
			continue
		}
		o, err := TrustedOrigin(h, baseScheme)
		if err != nil {
			v.Add("%v", err)
			continue
		}
		out[o] = true
	}
	if err := v.Err(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return out, nil
}

// routeOrigin is the origin of a route's host: Lanyard's scheme and port,
// since the built-in proxy serves it on Lanyard's own listener.
func (g *Gateway) routeOrigin(host string) (string, bool) {
	o := g.base.Scheme + "://" + host
	if p := g.base.Port(); p != "" {
		o += ":" + p
	}
	return lanyard.CanonicalOrigin(o)
}

// trustedOrigin reports whether origin (canonical) is that of a route's
// host or of Config.TrustedHosts: compared whole, scheme, host and port.
func (g *Gateway) trustedOrigin(origin string) bool {
	return origin != "" && (g.trustedOrigins[origin] || g.routes.Load().origins[origin])
}

// AllowsOrigin reports whether a page of origin (as browsers send it in
// the Origin header) may keep its session with Lanyard's session.js
// across origins: it is, whole, the origin of a route's host or of a
// trusted host. Lanyard's own origin is not cross-origin and is not
// allowed here.
func (g *Gateway) AllowsOrigin(origin string) bool {
	o, ok := lanyard.CanonicalOrigin(origin)
	return ok && o != g.baseOrigin && g.trustedOrigin(o)
}

// serveAuthPath answers the hand-off and sign-out paths that Lanyard
// serves on every host, and reports whether r was one of them.
func (g *Gateway) serveAuthPath(w http.ResponseWriter, r *http.Request) bool {
	var handle http.HandlerFunc
	switch r.URL.Path {
	case startPath:
		handle = g.handleStart
	case handoffPath:
		handle = g.handleHandoff
	case sessionPath:
		handle = g.handleSession
	case logoutPath:
		handle = g.handleLogout
	default:
		return false
	}
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead && !(r.URL.Path == logoutPath && r.Method == http.MethodPost):
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
	case g.held.Load():
		answerStarting(w)
	default:
		handle(w, r)
	}
	return true
}

// handleStart answers GET /auth/start?tenant=T&to=PATH on an application's
// host: it binds the coming hand-off to this browser and sends it to the
// login on Lanyard's host.
func (g *Gateway) handleStart(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	tenant := q.Get("tenant")
	if tenant == "" {
		tenant = lanyard.DefaultTenantSlug
	}
	origin := requestOrigin(r)
	if g.isBaseHost(r.Host) || !g.trustedOrigin(origin) || !lanyard.ValidSlug(tenant) {
		http.Error(w, "This sign-in link leads to a site Lanyard does not serve. Open the application again.", http.StatusBadRequest)
		return
	}
	nonce, err := randomCode()
	if err != nil {
		g.logger.Error("hand-off: nonce", "err", err)
		http.Error(w, "Lanyard could not start the sign-in; try again shortly.", http.StatusServiceUnavailable)
		return
	}
	secure := strings.HasPrefix(origin, "https:")
	http.SetCookie(w, &http.Cookie{Name: cookieName(nonceCookie, secure), Value: nonce, Path: "/", MaxAge: int(nonceTTL / time.Second),
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	handoff := handoffPath + "?" + url.Values{"tenant": {tenant}, "to": {origin + localPath(q.Get("to"))}, "b": {bindingOf(nonce)}}.Encode()
	http.Redirect(w, r, g.loginURL(tenant, handoff), http.StatusFound)
}

// bindingOf is what the hand-off carries of the browser's nonce: its hash,
// so that the nonce itself never leaves the application's host.
func bindingOf(nonce string) string {
	h := sha256.Sum256([]byte(nonce))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func randomCode() (string, error) {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return "", fmt.Errorf("gateway: random code: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(secret), nil
}

// handleHandoff answers GET /auth/handoff?tenant=T&to=URL&b=B on Lanyard's
// host.
func (g *Gateway) handleHandoff(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	q := r.URL.Query()
	tenant := q.Get("tenant")
	if tenant == "" {
		tenant = lanyard.DefaultTenantSlug
	}
	to, err := url.Parse(q.Get("to"))
	var origin string
	if err == nil && to.User == nil && to.Opaque == "" {
		origin, _ = lanyard.CanonicalOrigin(to.Scheme + "://" + to.Host)
	}
	if !g.isBaseHost(r.Host) || !g.trustedOrigin(origin) || origin == g.baseOrigin {
		http.Error(w, "This sign-in link leads to a site Lanyard does not serve. Open the application again.", http.StatusBadRequest)
		return
	}
	if !lanyard.ValidSlug(tenant) {
		http.Error(w, "This sign-in link names no valid tenant. Open the application again.", http.StatusBadRequest)
		return
	}
	binding := q.Get("b")
	if b, err := base64.RawURLEncoding.DecodeString(binding); err != nil || len(b) != sha256.Size {
		// A link that did not start on the application's host: start
		// there, so that the hand-off is bound to this browser.
		http.Redirect(w, r, origin+startPath+"?"+url.Values{"tenant": {tenant}, "to": {localPath(to.RequestURI())}}.Encode(), http.StatusFound)
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
	if e.snap.Session.Origin != "" {
		// A copy opens nothing but its own application.
		http.Redirect(w, r, g.loginURL(tenant, localPath(r.URL.RequestURI())), http.StatusFound)
		return
	}
	code, err := g.saveHandoff(r.Context(), e, origin, binding)
	if err != nil {
		g.logger.Error("hand-off: code not stored", "err", err)
		http.Error(w, "Lanyard could not pass your sign-in on to the application (its store failed); try again shortly.", http.StatusServiceUnavailable)
		return
	}
	next := origin + sessionPath + "?" + url.Values{"code": {code}, "to": {localPath(to.RequestURI())}}.Encode()
	http.Redirect(w, r, next, http.StatusFound)
}

// saveHandoff stores a single-use code for the session, target origin and
// browser binding and returns it, with the session's hash, as the browser
// carries it.
func (g *Gateway) saveHandoff(ctx context.Context, e *identityEntry, origin, binding string) (string, error) {
	code, err := randomCode()
	if err != nil {
		return "", err
	}
	sessionHash := hex.EncodeToString(e.snap.Session.Hash)
	now := g.now().UTC()
	t := lanyard.OneTimeToken{Hash: hashCode(code), Purpose: handoffPurpose(origin, sessionHash, binding), UserID: e.snap.User.ID,
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

// handoffPurpose binds a code to the target origin, the session and the
// browser.
func handoffPurpose(origin, sessionHash, binding string) string {
	return handoffLabel + " " + origin + " " + sessionHash + " " + binding
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
	origin := requestOrigin(r)
	secure := strings.HasPrefix(origin, "https:")
	nonce, err := r.Cookie(cookieName(nonceCookie, secure))
	if err != nil || nonce.Value == "" || g.isBaseHost(r.Host) {
		// Not the browser that asked for this sign-in.
		http.Error(w, "This sign-in link was not started in this browser. Open the application again.", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	now := g.now().UTC()
	tok, err := g.store.TakeToken(ctx, hashCode(code), handoffPurpose(origin, sessionHash, bindingOf(nonce.Value)), now)
	if errors.Is(err, lanyard.ErrNotFound) {
		http.Error(w, "This sign-in link has expired, was already used, or was started in another browser. Open the application again.", http.StatusBadRequest)
		return
	}
	if err != nil {
		g.logger.Error("hand-off: take code", "err", err)
		http.Error(w, "Lanyard could not check the sign-in link (its store failed); try again shortly.", http.StatusServiceUnavailable)
		return
	}
	// The nonce is spent.
	http.SetCookie(w, &http.Cookie{Name: cookieName(nonceCookie, secure), Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	id, sess, err := g.copySession(ctx, hash, tok.UserID, origin, r)
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
	http.SetCookie(w, &http.Cookie{Name: cookieName(SessionCookie, secure), Value: id, Path: "/", MaxAge: max(maxAge, 1), HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, to, http.StatusFound)
}

// copySession opens, for origin, a session of the same account, IdP
// session and expiry as the session with the hash. The copy is good on
// origin only and ends with its original.
func (g *Gateway) copySession(ctx context.Context, hash []byte, userID int64, origin string, r *http.Request) (string, lanyard.Session, error) {
	now := g.now().UTC()
	orig, err := g.store.Session(ctx, hash, now)
	if errors.Is(err, lanyard.ErrNotFound) || (err == nil && (orig.UserID != userID || orig.Origin != "")) {
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
		IdPEntityID: orig.IdPEntityID, NameID: orig.NameID, NameIDFormat: orig.NameIDFormat, SessionIndex: orig.SessionIndex,
		Origin: origin, ParentHash: orig.Hash})
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

// logoutPath signs out on an application's host. GET shows a one-button
// form (a link or an image on another site must not sign anyone out);
// POST, from a page of this very origin, ends the session of this host (a
// hand-off copy) and goes on to Lanyard's own sign-out, which ends the
// original session, every copy and, for SSO sessions, the IdP's. On
// Lanyard's host it only goes on to /logout.
const logoutPath = "/auth/logout"

// handleLogout answers GET and POST /auth/logout.
func (g *Gateway) handleLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	next := *g.base
	next.Path = strings.TrimSuffix(next.Path, "/") + "/logout"
	next.RawPath, next.RawQuery = "", ""
	if g.isBaseHost(r.Host) {
		http.Redirect(w, r, next.String(), http.StatusFound)
		return
	}
	if r.Method != http.MethodPost {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self' "+g.baseOrigin+"; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		_, _ = io.WriteString(w, logoutPage)
		return
	}
	origin := requestOrigin(r)
	if !sameOriginPost(r, origin) {
		http.Error(w, "This sign-out was sent from another site. Use the Sign out button of the application.", http.StatusForbidden)
		return
	}
	secure := strings.HasPrefix(origin, "https:")
	if c, err := r.Cookie(cookieName(SessionCookie, secure)); err == nil && c.Value != "" {
		if err := g.manager.End(r.Context(), c.Value); err != nil {
			g.logger.Error("sign-out on an application's host: session not ended; it expires on its own", "host", r.Host, "err", err)
		}
		g.sessions.Forget(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName(SessionCookie, secure), Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, next.String(), http.StatusSeeOther)
}

// sameOriginPost reports whether a POST comes from a page of origin: the
// browser says so (Sec-Fetch-Site: same-origin, or an Origin header equal
// to origin, compared whole). A request with neither header is not a
// browser's, and carries no victim's cookies.
func sameOriginPost(r *http.Request, origin string) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	sent := r.Header.Get("Origin")
	if sent == "" {
		return true
	}
	o, ok := lanyard.CanonicalOrigin(sent)
	return ok && o == origin
}

const logoutPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign out</title></head>
<body><main><h1>Sign out?</h1>
<form method="post" action="/auth/logout"><button type="submit" id="sign-out">Sign out</button></form>
</main></body></html>
`
