package login

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/lockout"
	"github.com/lanyard-sso/lanyard/password"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/web/internal/httperr"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// neutralLoginRefusal is the one answer to a wrong login, a wrong password,
// an inactive account and an account without the admin role, so that the
// sign-in form reveals nothing about which accounts exist. The log and the
// audit trail say precisely which.
const neutralLoginRefusal = "Invalid username or password, or this account may not use the administrator login."

// Audit actions and refusal reasons of the administrator login. The reasons
// are stable codes: dashboards and alerts match them.
const (
	actionAdminLogin   = "admin.login"
	actionAdminLockout = "admin.lockout"
	actionLogout       = "logout"

	reasonUnknownUser = "unknown_user"
	reasonBadPassword = "bad_password"
	reasonNotAdmin    = "not_admin"
	reasonInactive    = "inactive"
	reasonLocked      = "locked"
	reasonNoPassword  = "no_password"
	reasonThrottled   = "throttled"
	reasonCSRF        = "csrf"

	// reasonTooManyFailures is the reason of an admin.lockout event.
	reasonTooManyFailures = "too_many_failures"
)

// maxLoginBytes is the longest login any account can have (256 runes).
const maxLoginBytes = 256 * utf8.UTFMax

// loginMethodAdmin labels the break-glass login in metrics.
const loginMethodAdmin = "admin_password"

// loginNotices are the messages the sign-in page shows after a redirect,
// chosen by a code so that a link cannot make the page say anything else.
var loginNotices = map[string]string{
	"password-changed": "Your password has been changed. Sign in with the new password.",
}

// adminLoginView is the data of the sign-in page.
type adminLoginView struct {
	Title      string
	Notice     string
	Error      string
	CSRF       string
	Username   string
	Tenant     string
	TenantOpen bool
	Next       string
}

// handleAdminLoginForm shows the break-glass sign-in form, or sends an
// administrator who is already signed in on to the admin pages.
func handleAdminLoginForm(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := ui.SafeNext(r.URL.Query().Get("next"))
		if _, err := d.Kit.AuthenticateAdmin(r); err == nil {
			ui.Redirect(w, r, cmp.Or(next, ui.AdminHome))
			return
		}
		token, err := d.Kit.FormToken(w, r)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_login", adminLoginView{
			Title:  "Administrator sign-in",
			Notice: loginNotices[r.URL.Query().Get("notice")],
			CSRF:   token,
			Tenant: lanyard.DefaultTenantSlug,
			Next:   next,
		})
	})
}

// loginKind is what tells the two password sign-ins apart: the break-glass
// administrator login and the password step of username-first login. Both
// run the same checks (checkLogin) and record refusals the same way
// (refuseLogin), each under its own audit action, metrics label and words.
type loginKind struct {
	name         string // prefix of store errors: "admin login"
	action       string // audit action of attempts: actionAdminLogin
	method       string // metrics label: loginMethodAdmin
	refused      string // log message of a refusal
	neutral      string // the one answer to a wrong login or password
	requireAdmin bool   // refuse accounts without the admin role
}

// loginAttempt is one posted sign-in and what was learnt about it.
type loginAttempt struct {
	login      string
	tenantSlug string
	client     string
	userAgent  string
	next       string
	overlong   bool // the login typed was longer than any account's

	tenant     lanyard.Tenant // zero when the slug names no tenant
	user       lanyard.User   // zero when the login names no account
	accountKey string         // throttle key; "" when the tenant is unknown
}

// loginRefusal is why an attempt failed: a stable reason code and a detail
// for the log and the audit trail, and the error the user sees.
type loginRefusal struct {
	reason string
	detail string
	shown  error
	// counts is false for refusals that are not guesses (throttled
	// attempts), which must not extend the block.
	counts bool
}

// handleAdminLoginSubmit checks a break-glass sign-in with checkLogin,
// requiring the admin role. A success opens a session and redirects; a
// refusal answers 4xx with the form and sets no session cookie.
func handleAdminLoginSubmit(d *Deps) http.Handler {
	kind := loginKind{
		name:         "admin login",
		action:       actionAdminLogin,
		method:       loginMethodAdmin,
		refused:      "administrator sign-in refused",
		neutral:      neutralLoginRefusal,
		requireAdmin: true,
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := ui.ParseForm(r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		a := d.readLoginAttempt(r, "next")
		if a.tenantSlug == "" {
			a.tenantSlug = lanyard.DefaultTenantSlug
		}
		now := d.Kit.Now()
		refusal, err := d.checkLogin(r, kind, a, now)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		if refusal != nil {
			shown := d.refuseLogin(ctx, kind, a, *refusal)
			if refusal.reason == reasonCSRF {
				d.Kit.RenderErrorLink(w, r, shown, &ui.Link{Href: ui.AdminLoginURL(a.next), Text: "Reload the sign-in form"})
				return
			}
			d.renderLoginForm(w, r, a, shown)
			return
		}
		d.acceptAdminLogin(w, r, a, now)
	})
}

// readLoginAttempt reads the login, tenant and return address (from the
// field nextField) of a posted sign-in form.
func (d *Deps) readLoginAttempt(r *http.Request, nextField string) *loginAttempt {
	a := &loginAttempt{
		login:      strings.TrimSpace(r.PostFormValue("username")),
		tenantSlug: strings.ToLower(strings.TrimSpace(r.PostFormValue("tenant"))),
		client:     d.Kit.ClientAddress(r),
		userAgent:  r.UserAgent(),
		next:       ui.SafeNext(r.PostFormValue(nextField)),
	}
	// No account has a longer login; the cut keeps junk out of the
	// log, the audit trail and the throttle keys.
	if len(a.login) > maxLoginBytes {
		a.login, a.overlong = strings.ToValidUTF8(a.login[:maxLoginBytes], ""), true
	}
	if len(a.tenantSlug) > maxLoginBytes {
		a.tenantSlug = strings.ToValidUTF8(a.tenantSlug[:maxLoginBytes], "")
	}
	return a
}

// checkLogin decides a password sign-in of the kind. In order: the form's
// anti-forgery checks, the client address throttle, the account throttle,
// the password (always an argon2 verification, even for unknown accounts),
// then the account's state and, when the kind requires it, the admin role.
// It returns a refusal (reason reasonCSRF for a forged form), or nil when
// the attempt succeeds (a.tenant and a.user are then set); an error only
// when the store fails.
func (d *Deps) checkLogin(r *http.Request, k loginKind, a *loginAttempt, now time.Time) (*loginRefusal, error) {
	ctx := r.Context()
	pw := r.PostFormValue("password")

	// 0. The form's anti-forgery checks.
	if err := d.Kit.VerifyFormToken(r); err != nil {
		return &loginRefusal{reason: reasonCSRF, detail: err.Error(), shown: err}, nil
	}

	// 1. Client address throttle: checked before any work on the password.
	until, err := d.lockout.AddressReopensAt(ctx, a.client, now)
	if err != nil {
		return nil, err
	}
	if !until.IsZero() {
		return &loginRefusal{
			reason: reasonThrottled,
			detail: fmt.Sprintf("client address %s reached %d failed sign-ins within %s", a.client, lockout.AddressFailureLimit, lockout.Window),
			shown:  lockout.ThrottledError(until.Sub(now), true),
		}, nil
	}

	// 2. The tenant. An unknown one is answered like an unknown account.
	tenant, err := lanyard.Tenant{}, error(lanyard.ErrNotFound)
	if lanyard.ValidSlug(a.tenantSlug) {
		tenant, err = d.Store.Tenant(ctx, a.tenantSlug)
	}
	switch {
	case errors.Is(err, lanyard.ErrNotFound):
	case err != nil:
		return nil, fmt.Errorf("web: %s: tenant %q: %w", k.name, a.tenantSlug, err)
	default:
		a.tenant = tenant
		a.accountKey = lockout.AccountKey(tenant.ID, a.login)
	}

	// 3. Account throttle, for unknown logins too, so that locking reveals
	// nothing about which accounts exist.
	if a.accountKey != "" {
		until, err := d.lockout.AccountReopensAt(ctx, a.accountKey, now)
		if err != nil {
			return nil, err
		}
		if !until.IsZero() {
			return &loginRefusal{
				reason: reasonThrottled,
				detail: fmt.Sprintf("account is temporarily locked until %s after %d failed sign-ins", until.UTC().Format(time.RFC3339), lockout.AccountFailureLimit),
				shown:  lockout.ThrottledError(until.Sub(now), false),
			}, nil
		}
	}

	// 4. The account.
	if a.tenant.ID != 0 && a.login != "" && !a.overlong {
		user, err := d.Store.UserByLogin(ctx, a.tenant.ID, a.login)
		switch {
		case errors.Is(err, lanyard.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("web: %s: user %q: %w", k.name, a.login, err)
		default:
			a.user = user
		}
	}
	neutral := &lanyard.Error{Kind: lanyard.KindUnauthorized, Message: k.neutral}

	// 5. The password. Every path runs one argon2 verification, so the
	// answer takes as long for an unknown account as for a wrong password.
	switch {
	case a.user.ID == 0:
		_ = password.Verify(pw, d.DummyHash())
		detail := fmt.Sprintf("no account %q in tenant %q", a.login, a.tenantSlug)
		if a.tenant.ID == 0 {
			detail = fmt.Sprintf("no tenant %q", a.tenantSlug)
		}
		return &loginRefusal{reason: reasonUnknownUser, detail: detail, shown: neutral, counts: true}, nil
	case a.user.PasswordHash == "":
		_ = password.Verify(pw, d.DummyHash())
		return &loginRefusal{reason: reasonNoPassword, shown: neutral, counts: true,
			detail: fmt.Sprintf("account has no password; set one with `lanyard admin reset-password %s`", a.login)}, nil
	}
	switch err := password.Verify(pw, a.user.PasswordHash); {
	case errors.Is(err, password.ErrMismatch):
		return &loginRefusal{reason: reasonBadPassword, detail: "wrong password", shown: neutral, counts: true}, nil
	case err != nil:
		// A stored hash Lanyard cannot read: treat it as no password.
		return &loginRefusal{reason: reasonNoPassword, shown: neutral, counts: true,
			detail: fmt.Sprintf("stored password hash is unusable (%v); set a new password with `lanyard admin reset-password %s`", err, a.login)}, nil
	}

	// 6. The account's state and role, told apart only in the log, except
	// a lock, which the holder of the right password may learn about.
	switch {
	case a.user.Status != lanyard.StatusActive:
		return &loginRefusal{reason: reasonInactive, detail: "account is " + string(a.user.Status), shown: neutral, counts: true}, nil
	case a.user.Locked:
		return &loginRefusal{reason: reasonLocked, detail: "account is locked by an administrator", counts: true,
			shown: &lanyard.Error{Kind: lanyard.KindForbidden, Message: "This account is locked. Another administrator can unlock it."}}, nil
	case k.requireAdmin && !a.user.HoldsAdminRole():
		return &loginRefusal{reason: reasonNotAdmin, detail: "account holds no administrative role", shown: neutral, counts: true}, nil
	}
	return nil, nil
}

// refuseLogin records a refusal of a sign-in of the kind: throttle
// counters, log, metrics and audit trail; the failure that reaches the
// account limit also locks the account. It returns the error to show, which
// is the lockout notice when this failure caused one.
func (d *Deps) refuseLogin(ctx context.Context, k loginKind, a *loginAttempt, f loginRefusal) error {
	now := d.Kit.Now()
	shown := f.shown
	lockedNow := false
	if f.counts {
		if err := d.lockout.RecordAddressFailure(ctx, a.client, now); err != nil {
			d.Kit.Logger.Error("login failure not counted", "client", a.client, "err", err)
		}
		if a.accountKey != "" {
			lockedNow = d.countAccountFailure(ctx, a.accountKey, now)
		}
	}
	d.Metrics.LoginAttempt(k.method, string(lanyard.OutcomeFailure), f.reason)
	d.Kit.Logger.Warn(k.refused,
		slog.String("reason", f.reason), slog.String("detail", f.detail),
		slog.String("login", a.login), slog.String("tenant", a.tenantSlug), slog.String("client", a.client))
	d.Kit.Audit(ctx, lanyard.AuditEvent{
		TenantID: a.tenant.ID,
		Actor:    a.login,
		Action:   k.action,
		Outcome:  lanyard.OutcomeFailure,
		Reason:   f.reason,
		UserID:   a.user.ID,
		Subject:  a.login,
		ClientIP: a.client,
		Message:  f.detail,
	})
	if lockedNow {
		minutes := int(lockout.Duration / time.Minute)
		d.Kit.Logger.Warn("account temporarily locked after failed sign-ins",
			slog.String("login", a.login), slog.String("tenant", a.tenantSlug), slog.Int("minutes", minutes))
		d.Kit.Audit(ctx, lanyard.AuditEvent{
			TenantID: a.tenant.ID,
			Actor:    "system",
			Action:   actionAdminLockout,
			Outcome:  lanyard.OutcomeSuccess,
			Reason:   reasonTooManyFailures,
			UserID:   a.user.ID,
			Subject:  a.login,
			ClientIP: a.client,
			Message: fmt.Sprintf("account temporarily locked for %d minutes after %d failed sign-ins within %s",
				minutes, lockout.AccountFailureLimit, lockout.Window),
			Detail: map[string]string{
				"locked_until": now.Add(lockout.Duration).UTC().Format(time.RFC3339),
				"failures":     strconv.Itoa(lockout.AccountFailureLimit),
				"window":       lockout.Window.String(),
			},
		})
		shown = lockout.ThrottledError(lockout.Duration, false)
	}
	return shown
}

// countAccountFailure records a failure of the account and, when it reaches
// the limit, the lockout. It reports whether this failure locked it.
func (d *Deps) countAccountFailure(ctx context.Context, key string, now time.Time) bool {
	lockedNow, err := d.lockout.RecordAccountFailure(ctx, key, now)
	if err != nil {
		// Without a recorded lockout, the failure count alone still
		// blocks the account.
		d.Kit.Logger.Error("login failure or lockout not recorded", "key", key, "err", err)
	}
	return lockedNow
}

// renderLoginForm answers a refused attempt with the form again, the
// message on it and the status of the refusal's kind; no session cookie.
func (d *Deps) renderLoginForm(w http.ResponseWriter, r *http.Request, a *loginAttempt, shown error) {
	token, err := d.Kit.FormToken(w, r)
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	httperr.SetRetryAfter(w, shown)
	d.Kit.Render(w, r, httperr.Status(shown), "admin_login", adminLoginView{
		Title:      "Administrator sign-in",
		Error:      lanyard.ErrorMessage(shown),
		CSRF:       token,
		Username:   a.login,
		Tenant:     a.tenantSlug,
		TenantOpen: a.tenantSlug != lanyard.DefaultTenantSlug,
		Next:       a.next,
	})
}

// acceptAdminLogin opens the session of a successful attempt and sends the
// administrator on.
func (d *Deps) acceptAdminLogin(w http.ResponseWriter, r *http.Request, a *loginAttempt, now time.Time) {
	ctx := r.Context()
	id, sess, err := d.openLoginSession(r, a)
	if err != nil {
		d.Kit.RenderError(w, r, fmt.Errorf("web: admin login: %w", err))
		return
	}
	if _, err := d.Store.UpdateUser(ctx, a.user.ID, func(u *lanyard.User) error {
		u.LastLoginAt = now.UTC()
		return nil
	}); err != nil {
		d.Kit.Logger.Error("last sign-in time not recorded", "user", a.user.ID, "err", err)
	}
	d.Metrics.LoginAttempt(loginMethodAdmin, string(lanyard.OutcomeSuccess), "")
	d.Kit.Logger.Info("administrator signed in", slog.String("login", a.user.Login), slog.String("tenant", a.tenant.Slug), slog.String("client", a.client))
	d.Kit.Audit(ctx, lanyard.AuditEvent{
		TenantID: a.tenant.ID,
		Actor:    a.user.Login,
		Action:   actionAdminLogin,
		Outcome:  lanyard.OutcomeSuccess,
		UserID:   a.user.ID,
		Subject:  a.user.Login,
		ClientIP: a.client,
		Message:  "signed in with a password (break-glass login)",
	})
	d.Kit.SetSessionCookie(w, id, sess, now)
	ui.Redirect(w, r, cmp.Or(a.next, ui.AdminHome))
}

// openLoginSession opens the session of a successful password sign-in:
// it clears the account's failures, ends the session the browser held
// before and opens a new one for a.user.
func (d *Deps) openLoginSession(r *http.Request, a *loginAttempt) (string, lanyard.Session, error) {
	ctx := r.Context()
	if err := d.Store.ClearFailures(ctx, a.accountKey); err != nil {
		d.Kit.Logger.Error("login failures not cleared", "key", a.accountKey, "err", err)
	}
	// A session the browser held before signing in is ended rather than
	// kept alongside: a fresh ID at every sign-in defeats session fixation.
	if old := d.Kit.SessionID(r); old != "" {
		d.Kit.EndSession(ctx, old, "replaced by a new sign-in")
	}
	return d.Sessions.Open(ctx, a.tenant, a.user, lanyard.SessionPassword, session.Meta{ClientIP: a.client, UserAgent: a.userAgent})
}

// MakeDummyHash hashes a random password with the default parameters: the
// cost of verifying it matches that of a real account's hash.
func MakeDummyHash() string {
	pw, err := password.Generate()
	if err != nil {
		pw = "lanyard-dummy-password"
	}
	h, err := password.Hash(pw)
	if err != nil {
		// Verify then fails fast on the malformed hash; only timing suffers.
		return ""
	}
	return h
}
