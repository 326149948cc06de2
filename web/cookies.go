package web

import (
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/session"
)

// Cookie names. They are part of what browsers hold across upgrades; keep
// them stable.
const (
	sessionCookieName = "lanyard_session"
	csrfCookieName    = "lanyard_csrf"
)

// setSessionCookie hands the session ID to the browser. The cookie lives no
// longer than the session's absolute expiry; the server may end the session
// earlier (idle expiry, sign-out), and then the cookie opens nothing.
func (s *Server) setSessionCookie(w http.ResponseWriter, id string, sess lanyard.Session, now time.Time) {
	maxAge := int(sess.AbsExpiresAt.Sub(now).Seconds())
	if maxAge < 1 {
		maxAge = 1
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookieName,
		Value:    id,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   s.secureCookies,
		// Lax, not Strict: a user following a link from another site into an
		// application must arrive signed in.
		SameSite: http.SameSiteLaxMode,
	})
}

// clearSessionCookie tells the browser to drop the session cookie.
func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookieName,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   s.secureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// sessionID returns the session ID the browser sent, or "".
func sessionID(r *http.Request) string {
	c, err := r.Cookie(sessionCookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// currentSession returns the live session of the request, if any. Errors
// other than "no session" are internal (the store failed).
func (s *Server) currentSession(r *http.Request) (id string, sess lanyard.Session, err error) {
	id = sessionID(r)
	if id == "" {
		return "", lanyard.Session{}, session.ErrNoSession
	}
	sess, err = s.sessions.Lookup(r.Context(), id)
	if err != nil {
		return "", lanyard.Session{}, err
	}
	return id, sess, nil
}

// bindingCookieName holds the secret that ties an SP-initiated login to the
// browser that started it (see bindingCookiePolicy).
const bindingCookieName = "lanyard_sso_binding"

// bindingCookiePolicy says how the browser-binding cookie is set. The IdP
// posts the response to the ACS from another site, and browsers do not send
// SameSite=Lax (nor Strict) cookies on a cross-site POST: the cookie must be
// SameSite=None, which browsers accept only with Secure.
//
//   - https base URL: SameSite=None; Secure. Works in every current browser.
//   - http base URL on a loopback host (localhost, 127.0.0.1, ::1): also
//     SameSite=None; Secure, because browsers (and Go's cookie jar) treat
//     loopback as a secure origin and keep Secure cookies from it.
//   - http base URL on any other host (fallback): browsers drop Secure
//     cookies set over plain http, so the cookie goes without Secure and
//     without SameSite. Firefox and Safari send it on the IdP's POST;
//     Chrome, which defaults such cookies to Lax, sends it on a cross-site
//     POST only within 2 minutes of setting it. A slower login then fails
//     with the "browser binding missing" page, which says to use https.
type bindingCookiePolicy struct {
	secure   bool
	sameSite http.SameSite
	fallback bool
}

func newBindingCookiePolicy(base *url.URL) bindingCookiePolicy {
	if base == nil || base.Scheme == "https" || isLoopbackHost(base.Hostname()) {
		return bindingCookiePolicy{secure: true, sameSite: http.SameSiteNoneMode}
	}
	return bindingCookiePolicy{fallback: true}
}

// isLoopbackHost reports whether host is localhost or a loopback address.
func isLoopbackHost(host string) bool {
	if host == "" || strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// bindingSecret returns the browser's binding secret for the tenant's SAML
// endpoints, reusing a well-formed one (so that logins started in several
// tabs all complete) and setting a new one otherwise. The cookie lives as
// long as a pending request.
func (s *Server) bindingSecret(w http.ResponseWriter, r *http.Request, slug string) (string, error) {
	secret := bindingCookie(r)
	if secret == "" {
		var err error
		if secret, err = session.RandomToken(); err != nil {
			return "", fmt.Errorf("web: browser binding: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     bindingCookieName,
		Value:    secret,
		Path:     ssoPath(slug),
		MaxAge:   int(saml.DefaultRequestTTL / time.Second),
		HttpOnly: true,
		Secure:   s.bindingCookie.secure,
		SameSite: s.bindingCookie.sameSite,
	})
	return secret, nil
}

// bindingCookie returns the well-formed binding secret the browser sent, or "".
func bindingCookie(r *http.Request) string {
	c, err := r.Cookie(bindingCookieName)
	if err != nil || !wellFormedToken(c.Value) {
		return ""
	}
	return c.Value
}

// ssoPath is the path of a tenant's SAML endpoints, the binding cookie's scope.
func ssoPath(slug string) string {
	return "/t/" + url.PathEscape(slug) + "/saml/"
}
