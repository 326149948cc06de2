package web

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// csrfField is the name of the hidden form field that carries the token.
const csrfField = "csrf_token"

// errCSRF is the refusal of a form that fails the anti-forgery checks. It is
// forbidden, not a sign-in problem: the user reloads the form and sends it
// again.
var errCSRF = &lanyard.Error{
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

// checkOrigin refuses cross-site form posts.
func (s *Server) checkOrigin(r *http.Request) error {
	if err := s.crossOrigin.Check(r); err != nil {
		return fmt.Errorf("%w (%v)", errCSRF, err)
	}
	return nil
}

// formToken returns the double-submit token for a pre-login form, reusing
// the browser's cookie when it holds a well-formed one (so several open tabs
// keep working) and setting a new one otherwise.
func (s *Server) formToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(csrfCookieName); err == nil && wellFormedToken(c.Value) {
		return c.Value, nil
	}
	token, err := session.RandomToken()
	if err != nil {
		return "", fmt.Errorf("web: csrf token: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name:     csrfCookieName,
		Value:    token,
		Path:     "/",
		HttpOnly: true,
		Secure:   s.secureCookies,
		// Strict: the cookie is needed only by posts from Lanyard's own
		// pages, never on a navigation from elsewhere.
		SameSite: http.SameSiteStrictMode,
	})
	return token, nil
}

// verifyFormToken checks a pre-login form: its origin, then that the token
// field equals the double-submit cookie, compared in constant time.
func (s *Server) verifyFormToken(r *http.Request) error {
	if err := s.checkOrigin(r); err != nil {
		return err
	}
	c, err := r.Cookie(csrfCookieName)
	if err != nil || !wellFormedToken(c.Value) {
		return fmt.Errorf("%w (no CSRF cookie)", errCSRF)
	}
	sent := r.PostFormValue(csrfField)
	if subtle.ConstantTimeCompare([]byte(sent), []byte(c.Value)) != 1 {
		return fmt.Errorf("%w (CSRF field does not match the cookie)", errCSRF)
	}
	return nil
}

// verifySessionToken checks a form sent by a signed-in user: its origin,
// then the token derived from the session's secret.
func (s *Server) verifySessionToken(r *http.Request, sess lanyard.Session) error {
	if err := s.checkOrigin(r); err != nil {
		return err
	}
	if !session.ValidCSRFToken(sess, r.PostFormValue(csrfField)) {
		return fmt.Errorf("%w (CSRF field does not match the session)", errCSRF)
	}
	return nil
}

// wellFormedToken reports whether v looks like a token from
// session.RandomToken, so junk cookies are replaced rather than echoed.
func wellFormedToken(v string) bool {
	if len(v) != base64.RawURLEncoding.EncodedLen(32) {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(v)
	return err == nil
}
