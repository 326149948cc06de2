package login

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode"
	"unicode/utf8"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/password"
	"github.com/lanyard-sso/lanyard/web/internal/httperr"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
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
func handleAdminResetForm(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token := r.URL.Query().Get("token")
		if token == "" || len(token) > maxResetTokenLength {
			d.Kit.RenderError(w, r, errNoResetToken)
			return
		}
		d.renderResetForm(w, r, http.StatusOK, token, "")
	})
}

// handleAdminResetSubmit sets the new password through the administration
// service, which checks its strength, consumes the token, clears the
// account's failed sign-ins and ends its sessions. Problems re-render the
// form with the message; success sends the user to sign in.
func handleAdminResetSubmit(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := ui.ParseForm(r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		token := r.PostFormValue("token")
		if token == "" || len(token) > maxResetTokenLength {
			d.Kit.RenderError(w, r, errNoResetToken)
			return
		}
		if err := d.Kit.VerifyFormToken(r); err != nil {
			d.Kit.RenderErrorLink(w, r, err, &ui.Link{Href: "/admin/reset?token=" + url.QueryEscape(token), Text: "Reload the password form"})
			return
		}
		if d.Resets == nil {
			d.Kit.RenderError(w, r, errResetUnavailable)
			return
		}
		pw, confirm := r.PostFormValue("password"), r.PostFormValue("confirm")
		if pw != confirm {
			d.renderResetForm(w, r, http.StatusBadRequest, token, "The two passwords differ. Type the same new password in both fields.")
			return
		}
		user, err := d.Resets.ConsumePasswordReset(r.Context(), token, pw)
		if err != nil {
			if lanyard.ErrorKind(err) == lanyard.KindInternal {
				d.Kit.RenderError(w, r, fmt.Errorf("web: password reset: %w", err))
				return
			}
			d.Kit.Logger.Info("password reset refused", "err", err, "client", d.Kit.ClientAddress(r))
			msg := lanyard.ErrorMessage(err)
			if errors.Is(err, lanyard.ErrNotFound) {
				msg = "This password reset link is invalid, already used or expired. Ask for a new one with `lanyard admin reset-password LOGIN`."
			}
			d.renderResetForm(w, r, httperr.Status(err), token, msg)
			return
		}
		d.Kit.Logger.Info("password reset", "user", user.ID, "login", user.Login, "client", d.Kit.ClientAddress(r))
		ui.Redirect(w, r, "/admin/login?notice=password-changed")
	})
}

func (d *Deps) renderResetForm(w http.ResponseWriter, r *http.Request, status int, token, problem string) {
	csrf, err := d.Kit.FormToken(w, r)
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	d.Kit.Render(w, r, status, "admin_reset", resetView{
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
