package login

import (
	"errors"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
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
func handleLogoutConfirm(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, sess, err := d.Kit.CurrentSession(r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			d.Kit.RenderSignedOut(w, r, "")
			return
		case err != nil:
			d.Kit.RenderError(w, r, err)
			return
		}
		login := ""
		if u, err := d.Store.User(r.Context(), sess.UserID); err == nil {
			login = u.Login
		}
		d.Kit.Render(w, r, http.StatusOK, "logout_confirm", logoutConfirmView{
			Title: "Sign out",
			Login: login,
			CSRF:  session.CSRFToken(sess),
		})
	})
}

// handleLogout answers POST /logout: it ends the session on the server, so
// the cookie opens nothing anywhere any more, and drops the cookie; then
// Single Logout with the IdP (Deps.SingleLogout).
func handleLogout(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := ui.ParseForm(r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		id, sess, err := d.Kit.CurrentSession(r)
		switch {
		case errors.Is(err, session.ErrNoSession):
			// Nothing to end; a stale cookie still goes.
			d.Kit.RenderSignedOut(w, r, "")
			return
		case err != nil:
			d.Kit.RenderError(w, r, err)
			return
		}
		if err := d.Kit.VerifySessionToken(r, sess); err != nil {
			d.Kit.RenderErrorLink(w, r, err, &ui.Link{Href: "/logout", Text: "Sign out again"})
			return
		}
		if err := d.Sessions.End(ctx, id); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		subject := ""
		if u, err := d.Store.User(ctx, sess.UserID); err == nil {
			subject = u.Login
		}
		d.Kit.Audit(ctx, lanyard.AuditEvent{
			TenantID: sess.TenantID,
			Actor:    subject,
			Action:   actionLogout,
			Outcome:  lanyard.OutcomeSuccess,
			UserID:   sess.UserID,
			Subject:  subject,
			ClientIP: d.Kit.ClientAddress(r),
			Message:  "signed out; session ended",
		})
		// Single Logout: on to the IdP when the session came from one.
		if d.SingleLogout == nil {
			d.Kit.RenderSignedOut(w, r, "")
			return
		}
		d.SingleLogout.Start(w, r, sess)
	})
}
