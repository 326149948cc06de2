package web

import (
	"errors"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// logoutConfirmView is the data of the "Sign out?" page.
type logoutConfirmView struct {
	Title string
	Login string
	CSRF  string
}

// handleLogoutConfirm answers GET /logout. Signing out changes state, so a
// GET never does it (a link or an image on another site could): a signed-in
// user gets a one-button form; anyone else learns they are signed out.
func (s *Server) handleLogoutConfirm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sess, err := s.currentSession(r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			s.renderSignedOut(w, r)
			return
		case err != nil:
			s.renderError(w, r, err)
			return
		}
		login := ""
		if u, err := s.store.User(r.Context(), sess.UserID); err == nil {
			login = u.Login
		}
		s.render(w, r, http.StatusOK, "logout_confirm", logoutConfirmView{
			Title: "Sign out",
			Login: login,
			CSRF:  session.CSRFToken(sess),
		})
	})
}

// handleLogout answers POST /logout: it ends the session on the server, so
// the cookie opens nothing anywhere any more, and drops the cookie; then
// Single Logout with the IdP (slo.go).
func (s *Server) handleLogout() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := parseForm(r); err != nil {
			s.renderError(w, r, err)
			return
		}
		id, sess, err := s.currentSession(r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			// Nothing to end; a stale cookie still goes.
			s.renderSignedOut(w, r)
			return
		case err != nil:
			s.renderError(w, r, err)
			return
		}
		if err := s.verifySessionToken(r, sess); err != nil {
			s.renderErrorLink(w, r, err, &link{Href: "/logout", Text: "Sign out again"})
			return
		}
		if err := s.sessions.End(ctx, id); err != nil {
			s.renderError(w, r, err)
			return
		}
		subject := ""
		if u, err := s.store.User(ctx, sess.UserID); err == nil {
			subject = u.Login
		}
		s.audit(ctx, lanyard.AuditEvent{
			TenantID: sess.TenantID,
			Actor:    subject,
			Action:   actionLogout,
			Outcome:  lanyard.OutcomeSuccess,
			UserID:   sess.UserID,
			Subject:  subject,
			ClientIP: s.clientAddress(r),
			Message:  "signed out; session ended",
		})
		// Single Logout: on to the IdP when the session came from one.
		s.startSingleLogout(w, r, sess)
	})
}

// renderSignedOut drops the session cookie and says so.
func (s *Server) renderSignedOut(w http.ResponseWriter, r *http.Request) {
	if sessionID(r) != "" {
		s.clearSessionCookie(w)
	}
	s.render(w, r, http.StatusOK, "signed_out", signedOutView{Title: "Signed out"})
}
