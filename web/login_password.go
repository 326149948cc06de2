package web

import (
	"cmp"
	"log/slog"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
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
// the checks of the administrator login (anti-forgery, client and account
// throttles, an argon2 verification on every path, account state), without
// requiring the admin role but requiring the password login method and web
// access.
func (s *Server) handleLoginPassword() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := parseForm(r); err != nil {
			s.renderError(w, r, err)
			return
		}
		a := &adminLoginAttempt{
			login:      strings.TrimSpace(r.PostFormValue("username")),
			tenantSlug: strings.ToLower(strings.TrimSpace(r.PostFormValue("tenant"))),
			client:     s.clientAddress(r),
			userAgent:  r.UserAgent(),
			next:       safeNext(r.PostFormValue("return_to")),
		}
		if len(a.login) > maxLoginBytes {
			a.login, a.overlong = strings.ToValidUTF8(a.login[:maxLoginBytes], ""), true
		}
		if len(a.tenantSlug) > maxLoginBytes {
			a.tenantSlug = strings.ToValidUTF8(a.tenantSlug[:maxLoginBytes], "")
		}
		remember := r.PostFormValue("remember") != ""
		if err := s.verifyFormToken(r); err != nil {
			s.renderErrorLink(w, r, err, &link{Href: "/login", Text: "Reload the sign-in page"})
			return
		}
		now := s.now()
		refusal, err := s.checkAdminLogin(ctx, a, r.PostFormValue("password"), now)
		if err != nil {
			s.renderError(w, r, err)
			return
		}
		// The administrator login's last check is the admin role, which
		// this page does not need: its own checks follow instead.
		if refusal != nil && refusal.reason == reasonNotAdmin {
			refusal = nil
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
			shown := s.refuseAdminLogin(ctx, a, *refusal)
			if lanyard.ErrorMessage(shown) == neutralLoginRefusal {
				shown = &lanyard.Error{Kind: lanyard.KindUnauthorized, Message: neutralPasswordRefusal}
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
func (s *Server) acceptPasswordLogin(w http.ResponseWriter, r *http.Request, a *adminLoginAttempt, remember bool) {
	ctx := r.Context()
	now := s.now()
	if err := s.store.ClearFailures(ctx, a.accountKey); err != nil {
		s.logger.Error("login failures not cleared", "key", a.accountKey, "err", err)
	}
	if old := sessionID(r); old != "" {
		s.endSession(ctx, old, "replaced by a new sign-in")
	}
	id, sess, err := s.sessions.Open(ctx, a.tenant, a.user, lanyard.SessionPassword, session.Meta{ClientIP: a.client, UserAgent: a.userAgent})
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
