package login

import (
	"cmp"
	"log/slog"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/httperr"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Audit action and metrics label of the password step of username-first
// login (local accounts).
const (
	actionPasswordLogin = "password.login"
	loginMethodPassword = "password"
	reasonSSOAccount    = "sso_account"
	reasonNoWebAccess   = "no_web_access"
)

// neutralPasswordRefusal is the one answer to a wrong password, an unknown
// or inactive account: the log says which.
const neutralPasswordRefusal = "Invalid username or password."

// handleLoginPassword answers POST /login/password, the password step of
// username-first login for accounts that sign in with a password. It runs
// the checks of the administrator login (checkLogin: anti-forgery, client
// and account throttles, an argon2 verification on every path, account
// state), without requiring the admin role but requiring the password login
// method and web access. Refusals are audited as actionPasswordLogin.
func handleLoginPassword(d *Deps) http.Handler {
	kind := loginKind{
		name:    "password login",
		action:  actionPasswordLogin,
		method:  loginMethodPassword,
		refused: "password sign-in refused",
		neutral: neutralPasswordRefusal,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := ui.ParseForm(r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		a := d.readLoginAttempt(r, "return_to")
		remember := r.PostFormValue("remember") != ""
		now := d.Kit.Now()
		refusal, err := d.checkLogin(r, kind, a, now)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		if refusal == nil {
			neutral := &lanyard.Error{Kind: lanyard.KindUnauthorized, Message: neutralPasswordRefusal}
			switch {
			case a.user.LoginMethod != lanyard.LoginPassword && !a.user.HoldsAdminRole():
				refusal = &loginRefusal{reason: reasonSSOAccount, detail: "account signs in through its identity provider, not with a password", shown: neutral, counts: true}
			case !a.user.WebAccess:
				refusal = &loginRefusal{reason: reasonNoWebAccess, detail: "account has no web browser access",
					shown: lanyard.Errorf(lanyard.KindForbidden, "User '%s' not permitted to login through the web browser. Please check with your administrator.", a.user.Login)}
			}
		}
		if refusal != nil {
			shown := d.refuseLogin(ctx, kind, a, *refusal)
			if refusal.reason == reasonCSRF {
				d.Kit.RenderErrorLink(w, r, shown, &ui.Link{Href: "/login", Text: "Reload the sign-in page"})
				return
			}
			token, err := d.Kit.FormToken(w, r)
			if err != nil {
				d.Kit.RenderError(w, r, err)
				return
			}
			httperr.SetRetryAfter(w, shown)
			d.Kit.Render(w, r, httperr.Status(shown), "login_password", loginPasswordView{
				Title: "Enter your password", Error: lanyard.ErrorMessage(shown), CSRF: token,
				Username: a.login, Tenant: a.tenantSlug, ReturnTo: a.next, Remember: remember,
			})
			return
		}
		d.acceptPasswordLogin(w, r, a, remember)
	})
}

// acceptPasswordLogin opens the session of a successful password step.
func (d *Deps) acceptPasswordLogin(w http.ResponseWriter, r *http.Request, a *loginAttempt, remember bool) {
	ctx := r.Context()
	now := d.Kit.Now()
	id, sess, err := d.openLoginSession(r, a)
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	user, err := d.Store.UpdateUser(ctx, a.user.ID, func(u *lanyard.User) error {
		u.LastLoginAt = now.UTC()
		if remember {
			u.AutoLogin = true
		}
		return nil
	})
	if err != nil {
		d.Kit.Logger.Error("last sign-in time not recorded", "user", a.user.ID, "err", err)
	} else if remember {
		if err := d.rememberAutoLogin(ctx, w, r, user); err != nil {
			d.Kit.Logger.Error("automatic login not recorded", "user", a.user.ID, "err", err)
		}
	}
	d.Metrics.LoginAttempt(loginMethodPassword, string(lanyard.OutcomeSuccess), "")
	d.Kit.Logger.Info("signed in with a password", slog.String("login", a.user.Login), slog.String("tenant", a.tenant.Slug), slog.String("client", a.client))
	d.Kit.Audit(ctx, lanyard.AuditEvent{
		TenantID: a.tenant.ID, Actor: a.user.Login, Action: actionPasswordLogin, Outcome: lanyard.OutcomeSuccess,
		UserID: a.user.ID, Subject: a.user.Login, ClientIP: a.client,
		Message: "signed in with a password (username-first login)",
	})
	d.Kit.SetSessionCookie(w, id, sess, now)
	ui.Redirect(w, r, cmp.Or(a.next, "/"))
}
