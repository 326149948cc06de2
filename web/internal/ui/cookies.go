package ui

import (
	"encoding/base64"
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
// them stable. Over https the session and CSRF cookies carry the __Host-
// prefix (see Kit.CookieName); the binding and auto-login cookies cannot
// (their Path is not /) and hold nothing a planted value could abuse: the
// binding is checked against the pending request it was made for.
const (
	SessionCookieName = "lanyard_session"
	CSRFCookieName    = "lanyard_csrf"
	// HostPrefix makes browsers take a cookie only from the very host that
	// sets it, over https, with Path=/ and no Domain: a sibling subdomain
	// cannot plant one (cookie tossing).
	HostPrefix = "__Host-"
	// BindingCookieName holds the secret that ties an SP-initiated login
	// to the browser that started it (see bindingCookiePolicy).
	BindingCookieName = "lanyard_sso_binding"
)

// SetSessionCookie hands the session ID to the browser. The cookie lives no
// longer than the session's absolute expiry; the server may end the session
// earlier (idle expiry, sign-out), and then the cookie opens nothing.
func (k *Kit) SetSessionCookie(w http.ResponseWriter, id string, sess lanyard.Session, now time.Time) {
	maxAge := int(sess.AbsExpiresAt.Sub(now).Seconds())
	if maxAge < 1 {
		maxAge = 1
	}
	http.SetCookie(w, &http.Cookie{
		Name:     k.CookieName(SessionCookieName),
		Value:    id,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   k.secureCookies,
		// Lax, not Strict: a user following a link from another site into an
		// application must arrive signed in.
		SameSite: http.SameSiteLaxMode,
	})
}

// ClearSessionCookie tells the browser to drop the session cookie.
func (k *Kit) ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     k.CookieName(SessionCookieName),
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   k.secureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// CookieName is the name of a Path=/ cookie as set: with the __Host-
// prefix over https.
func (k *Kit) CookieName(name string) string {
	if k.secureCookies {
		return HostPrefix + name
	}
	return name
}

// SessionID returns the session ID the browser sent, or "". Over https
// only the __Host- cookie counts.
func (k *Kit) SessionID(r *http.Request) string {
	c, err := r.Cookie(k.CookieName(SessionCookieName))
	if err != nil {
		return ""
	}
	return c.Value
}

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

// BindingSecret returns the browser's binding secret for the tenant's SAML
// endpoints, reusing a well-formed one (so that logins started in several
// tabs all complete) and setting a new one otherwise. The cookie lives as
// long as a pending request.
func (k *Kit) BindingSecret(w http.ResponseWriter, r *http.Request, slug string) (string, error) {
	secret := BindingCookie(r)
	if secret == "" {
		var err error
		if secret, err = session.RandomToken(); err != nil {
			return "", fmt.Errorf("web: browser binding: %w", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     BindingCookieName,
		Value:    secret,
		Path:     SSOPath(slug),
		MaxAge:   int(saml.DefaultRequestTTL / time.Second),
		HttpOnly: true,
		Secure:   k.binding.secure,
		SameSite: k.binding.sameSite,
	})
	return secret, nil
}

// BindingCookie returns the well-formed binding secret the browser sent, or "".
func BindingCookie(r *http.Request) string {
	c, err := r.Cookie(BindingCookieName)
	if err != nil || !WellFormedToken(c.Value) {
		return ""
	}
	return c.Value
}

// SSOPath is the path of a tenant's SAML endpoints, the binding cookie's scope.
func SSOPath(slug string) string {
	return "/t/" + url.PathEscape(slug) + "/saml/"
}

// WellFormedToken reports whether v looks like a token from
// session.RandomToken, so junk cookies are replaced rather than echoed.
func WellFormedToken(v string) bool {
	if len(v) != base64.RawURLEncoding.EncodedLen(32) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}

// TruncateForLog keeps junk from URLs short in logs and the audit trail.
func TruncateForLog(s string) string {
	if len(s) > 100 {
		s = s[:100] + "…"
	}
	return url.PathEscape(s)
}
