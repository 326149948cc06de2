package web

import (
	"cmp"
	"log/slog"
	"net/http"

	"github.com/lanyard-sso/lanyard"
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
func (s *Server) handleLoginPassword() http.Handler {
	kind := loginKind{
		name:    "password login",
		action:  actionPasswordLogin,
		method:  loginMethodPassword,
		refused: "password sign-in refused",
		neutral: neutralPasswordRefusal,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := parseForm(r); err != nil {
			s.renderError(w, r, err)
			return
		}
		a := s.readLoginAttempt(r, "return_to")
		remember := r.PostFormValue("remember") != ""
		now := s.now()
		refusal, err := s.checkLogin(r, kind, a, now)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		if refusal == nil {
			neutral := &lanyard.Error{Kind: lanyard.KindUnauthorized, Message: neutralPasswordRefusal}
			switch {
			case a.user.LoginMethod != lanyard.LoginPassword && !a.user.HasRole(lanyard.RoleAdmin):
				refusal = &loginRefusal{reason: reasonSSOAccount, detail: "account signs in through its identity provider, not with a password", shown: neutral, counts: true}
			case !a.user.WebAccess:
				refusal = &loginRefusal{reason: reasonNoWebAccess, detail: "account has no web browser access",
					shown: lanyard.Errorf(lanyard.KindForbidden, "User '%s' not permitted to login through the web browser. Please check with your administrator.", a.user.Login)}
			}
		}
		if refusal != nil {
			shown := s.refuseLogin(ctx, kind, a, *refusal)
			if refusal.reason == reasonCSRF {
				s.renderErrorLink(w, r, shown, &link{Href: "/login", Text: "Reload the sign-in page"})
				return
			}
			token, err := s.formToken(w, r)
			if err != nil {
				s.renderError(w, r, err)
				return
			}
			setRetryAfter(w, shown)
			s.render(w, r, statusOf(shown), "login_password", loginPasswordView{
				Title: "Enter your password", Error: lanyard.ErrorMessage(shown), CSRF: token,
				Username: a.login, Tenant: a.tenantSlug, ReturnTo: a.next, Remember: remember,
			})
			return
		}
		s.acceptPasswordLogin(w, r, a, remember)
	})
}

// acceptPasswordLogin opens the session of a successful password step.
func (s *Server) acceptPasswordLogin(w http.ResponseWriter, r *http.Request, a *loginAttempt, remember bool) {
	ctx := r.Context()
	now := s.now()
	id, sess, err := s.openLoginSession(r, a)
	if err != nil {
		s.renderError(w, r, err)
		return
	}
	user, err := s.store.UpdateUser(ctx, a.user.ID, func(u *lanyard.User) error {
		u.LastLoginAt = now.UTC()
		if remember {
			u.AutoLogin = true
		}
		return nil
	})
	if err != nil {
		s.logger.Error("last sign-in time not recorded", "user", a.user.ID, "err", err)
	} else if remember {
		if err := s.rememberAutoLogin(ctx, w, r, user); err != nil {
			s.logger.Error("automatic login not recorded", "user", a.user.ID, "err", err)
		}
	}
	s.metrics.loginAttempt(loginMethodPassword, string(lanyard.OutcomeSuccess), "")
	s.logger.Info("signed in with a password", slog.String("login", a.user.Login), slog.String("tenant", a.tenant.Slug), slog.String("client", a.client))
	s.audit(ctx, lanyard.AuditEvent{
		TenantID: a.tenant.ID, Actor: a.user.Login, Action: actionPasswordLogin, Outcome: lanyard.OutcomeSuccess,
		UserID: a.user.ID, Subject: a.user.Login, ClientIP: a.client,
		Message: "signed in with a password (username-first login)",
	})
	s.setSessionCookie(w, id, sess, now)
	redirect(w, r, cmp.Or(a.next, "/"))
}
