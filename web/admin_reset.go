package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode"
	"unicode/utf8"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/password"
)

// maxResetTokenLength bounds the token field; real tokens are far shorter.
const maxResetTokenLength = 256

// resetView is the data of the "choose a new password" page.
type resetView struct {
	Title     string
	Error     string
	CSRF      string
	Token     string
	MinLength int
}

// errNoResetToken refuses a reset page opened without its token.
var errNoResetToken = &lanyard.Error{
	Kind:    lanyard.KindInvalid,
	Message: "This password reset link is incomplete. Open the whole link you were given, or ask for a new one with `lanyard admin reset-password LOGIN`.",
}

// errResetUnavailable is the answer when the server was built without the
// administration service.
var errResetUnavailable = &lanyard.Error{
	Kind:    lanyard.KindUnavailable,
	Message: "Password reset is not available on this server. Run `lanyard admin reset-password LOGIN` on the server instead.",
}

// handleAdminResetForm shows the form of a password reset link. The token is
// checked only when the form is sent, where it is consumed.
func (s *Server) handleAdminResetForm() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if token == "" || len(token) > maxResetTokenLength {
			s.renderError(w, r, errNoResetToken)
			return
		}
		s.renderResetForm(w, r, http.StatusOK, token, "")
	})
}

// handleAdminResetSubmit sets the new password through the administration
// service, which checks its strength, consumes the token, clears the
// account's failed sign-ins and ends its sessions. Problems re-render the
// form with the message; success sends the user to sign in.
func (s *Server) handleAdminResetSubmit() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := parseForm(r); err != nil {
			s.renderError(w, r, err)
			return
		}
		token := r.PostFormValue("token")
		if token == "" || len(token) > maxResetTokenLength {
			s.renderError(w, r, errNoResetToken)
			return
		}
		if err := s.verifyFormToken(r); err != nil {
			s.renderErrorLink(w, r, err, &link{Href: "/admin/reset?token=" + url.QueryEscape(token), Text: "Reload the password form"})
			return
		}
		if s.admin == nil {
			s.renderError(w, r, errResetUnavailable)
			return
		}
		pw, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
		if pw != confirm {
			s.renderResetForm(w, r, http.StatusBadRequest, token, "The two passwords differ. Type the same new password in both fields.")
			return
		}
		user, err := s.admin.ConsumePasswordReset(r.Context(), token, pw)
		if err != nil {
			if lanyard.ErrorKind(err) == lanyard.KindInternal {
				s.renderError(w, r, fmt.Errorf("web: password reset: %w", err))
				return
			}
			s.logger.Info("password reset refused", "err", err, "client", s.clientAddress(r))
			msg := lanyard.ErrorMessage(err)
			if errors.Is(err, lanyard.ErrNotFound) {
				msg = "This password reset link is invalid, already used or expired. Ask for a new one with `lanyard admin reset-password LOGIN`."
			}
			s.renderResetForm(w, r, statusOf(err), token, msg)
			return
		}
		s.logger.Info("password reset", "user", user.ID, "login", user.Login, "client", s.clientAddress(r))
		redirect(w, r, "/admin/login?notice=password-changed")
	})
}

func (s *Server) renderResetForm(w http.ResponseWriter, r *http.Request, status int, token, problem string) {
	csrf, err := s.formToken(w, r)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	s.render(w, r, status, "admin_reset", resetView{
		Title:     "Choose a new password",
		Error:     capitalize(problem),
		CSRF:      csrf,
		Token:     token,
		MinLength: password.MinLength,
	})
}

// capitalize starts a message shown on its own with a capital letter; the
// services' messages are written to follow a prefix ("reset: ...").
func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return string(unicode.ToUpper(r)) + s[size:]
}
