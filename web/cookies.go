package web

import (
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
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
