package ui

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// CSRFField is the name of the hidden form field that carries the token.
const CSRFField = "csrf_token"

// ErrCSRF is the refusal of a form that fails the anti-forgery checks. It is
// forbidden, not a sign-in problem: the user reloads the form and sends it
// again.
var ErrCSRF = &lanyard.Error{
	Kind:    lanyard.KindForbidden,
	Message: "This form has expired or was sent from another site. Reload the page, then fill in and send the form again. (Lanyard needs cookies enabled for this site.)",
}

// Lanyard's forms are protected in two layers:
//
//  1. The browser's own statement of where the request comes from
//     (Sec-Fetch-Site, or Origin against the Host and the base URL): a
//     cross-site POST is refused outright (http.CrossOriginProtection).
//  2. A token the attacker's page cannot read. With a session, it is an HMAC
//     of the session's CSRF secret (session.CSRFToken). Before sign-in there
//     is no session, so the login and reset forms use a double-submit
//     cookie: a random value in an HttpOnly, SameSite=Strict cookie that
//     must come back equal in the form.
//
// A sibling subdomain can plant a cookie of its choosing (cookie tossing),
// which alone would defeat a double-submit cookie; layer 1 refuses its
// posts, since browsers mark them Sec-Fetch-Site: same-site, not
// same-origin. Binding the cookie to a server secret would close that gap
// for browsers without Sec-Fetch-Site, once the server has a secret.

// CheckOrigin refuses cross-site form posts.
func (k *Kit) CheckOrigin(r *http.Request) error {
	if err := k.crossOrigin.Check(r); err != nil {
		return fmt.Errorf("%w (%v)", ErrCSRF, err)
	}
	// http.CrossOriginProtection compares, without Sec-Fetch-Site, the
	// Origin header's host with the Host alone, and trusts the base URL's
	// origin on every host. Origins are compared whole: a page of
	// http://host (any network attacker can write one) or of
	// host:other-port posts nothing to Lanyard; and on the admin host only
	// its own origin posts, since applications may be served on the base
	// URL's.
	switch site := r.Header.Get("Sec-Fetch-Site"); {
	case safeMethod(r.Method), site == "same-origin", site == "none":
		return nil
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil // not a browser: it carries no victim's cookies
	}
	got, ok := lanyard.CanonicalOrigin(origin)
	self, _ := lanyard.CanonicalOrigin(k.scheme + "://" + r.Host)
	onAdminHost := k.adminHost != "" && strings.EqualFold(r.Host, k.adminHost)
	if !ok || (got != self && (got != k.baseOrigin || onAdminHost)) {
		return fmt.Errorf("%w (Origin %q is not this site's)", ErrCSRF, TruncateForLog(origin))
	}
	return nil
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// FormToken returns the double-submit token for a pre-login form, reusing
// the browser's cookie when it holds a well-formed one (so several open tabs
// keep working) and setting a new one otherwise.
func (k *Kit) FormToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(k.CookieName(CSRFCookieName)); err == nil && WellFormedToken(c.Value) {
		return c.Value, nil
	}
	token, err := session.RandomToken()
	if err != nil {
		return "", fmt.Errorf("web: csrf token: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     k.CookieName(CSRFCookieName),
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   k.secureCookies,
		// Strict: the cookie is needed only by posts from Lanyard's own
		// pages, never on a navigation from elsewhere.
		SameSite: http.SameSiteStrictMode,
	})
	return token, nil
}

// VerifyFormToken checks a pre-login form: its origin, then that the token
// field equals the double-submit cookie, compared in constant time.
func (k *Kit) VerifyFormToken(r *http.Request) error {
	if err := k.CheckOrigin(r); err != nil {
		return err
	}
	c, err := r.Cookie(k.CookieName(CSRFCookieName))
	if err != nil || !WellFormedToken(c.Value) {
		return fmt.Errorf("%w (no CSRF cookie)", ErrCSRF)
	}
	sent := r.PostFormValue(CSRFField)
	if subtle.ConstantTimeCompare([]byte(sent), []byte(c.Value)) != 1 {
		return fmt.Errorf("%w (CSRF field does not match the cookie)", ErrCSRF)
	}
	return nil
}

// VerifySessionToken checks a form sent by a signed-in user: its origin,
// then the token derived from the session's secret.
func (k *Kit) VerifySessionToken(r *http.Request, sess lanyard.Session) error {
	if err := k.CheckOrigin(r); err != nil {
		return err
	}
	if !session.ValidCSRFToken(sess, r.PostFormValue(CSRFField)) {
		return fmt.Errorf("%w (CSRF field does not match the session)", ErrCSRF)
	}
	return nil
}
