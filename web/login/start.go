package login

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/web/internal/httperr"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Username-first login: the user types a login
// name or an email address only, and Lanyard sends them to their
// organisation's IdP, or to a password prompt when their account signs in
// with a password. "Log in automatically" skips the page next time in this
// browser: a long-lived cookie holds a random token (its hash in the token
// store, rotated at each use), and the account's AutoLogin preference must
// still be on.

// Cookie names and lifetimes of automatic login.
const (
	autoLoginCookieName = "lanyard_autologin"
	// autoLoginWishCookieName carries the ticked box through the IdP
	// round trip; the preference is recorded only once signed in.
	autoLoginWishCookieName = "lanyard_autologin_wish"
	autoLoginTTL            = 365 * 24 * time.Hour
	autoLoginWishTTL        = 15 * time.Minute
	autoLoginPurpose        = "autologin"
	// autoLoginRememberPath is where a sign-in with the box ticked lands
	// first, to record the preference, before going on.
	autoLoginRememberPath = "/login/remember"
)

// Reasons of the username-first lookup, for the log.
const (
	foundByAccount     = "account"
	foundByEmailDomain = "email_domain"
)

// loginStartView is the data of the username-first page.
type loginStartView struct {
	Title    string
	Error    string
	Notice   string
	CSRF     string
	Username string
	ReturnTo string
	Remember bool
	// AutoLogin is the login automatic sign-in is on for in this browser,
	// shown with the button that turns it off.
	AutoLogin string
}

// loginPasswordView is the data of the password prompt.
type loginPasswordView struct {
	Title    string
	Error    string
	CSRF     string
	Username string
	ReturnTo string
	Remember bool
}

// handleLoginStart answers GET /login[?return_to=PATH][&manual=1]. With an
// automatic-login cookie of an account whose preference is on, it goes
// straight on (to the IdP, or to the password prompt); manual=1 shows the
// page anyway, with the way to turn automatic login off.
func handleLoginStart(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		q := r.URL.Query()
		returnTo := ui.SafeNext(q.Get("return_to"))
		auto, tenant, err := d.autoLoginUser(ctx, r)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		if auto.ID != 0 && q.Get("manual") == "" {
			// Rotate the token: a copied cookie works once at most.
			if err := d.rememberAutoLogin(ctx, w, r, auto); err != nil {
				d.Kit.Logger.Error("automatic login token not rotated", "err", err)
			}
			d.Kit.Logger.Info("automatic login", "tenant", tenant.Slug, "user", auto.Login)
			d.continueLogin(w, r, auto, tenant, returnTo, false)
			return
		}
		token, err := d.Kit.FormToken(w, r)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "login", loginStartView{
			Title: "Sign in", CSRF: token, ReturnTo: returnTo, AutoLogin: auto.Login,
			Notice: loginStartNotices[q.Get("notice")],
		})
	})
}

// loginStartNotices are the messages the page shows after a redirect.
var loginStartNotices = map[string]string{
	"auto-off": "Automatic login is off in this browser. Type your username next time.",
}

// handleLoginSubmit answers POST /login: find where the user signs in.
func handleLoginSubmit(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := ui.ParseForm(r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		view := loginStartView{
			Title:    "Sign in",
			Username: strings.TrimSpace(r.PostFormValue("username")),
			ReturnTo: ui.SafeNext(r.PostFormValue("return_to")),
			Remember: r.PostFormValue("remember") != "",
		}
		if err := d.Kit.VerifyFormToken(r); err != nil {
			d.Kit.RenderErrorLink(w, r, err, &ui.Link{Href: "/login", Text: "Reload the sign-in page"})
			return
		}
		if len(view.Username) > maxLoginBytes {
			view.Username = strings.ToValidUTF8(view.Username[:maxLoginBytes], "")
		}
		if refused := d.throttleSignInStart(ctx, r); refused != nil {
			token, err := d.Kit.FormToken(w, r)
			if err != nil {
				d.Kit.RenderError(w, r, err)
				return
			}
			view.CSRF, view.Error = token, lanyard.ErrorMessage(refused)
			httperr.SetRetryAfter(w, refused)
			d.Kit.Render(w, r, httperr.Status(refused), "login", view)
			return
		}
		user, tenant, how, err := d.findSignIn(ctx, view.Username)
		if err != nil {
			var le *lanyard.Error
			if !errors.As(err, &le) || le.Kind == lanyard.KindInternal {
				d.Kit.RenderError(w, r, err)
				return
			}
			if le.Kind == lanyard.KindInvalid {
				token, terr := d.Kit.FormToken(w, r)
				if terr != nil {
					d.Kit.RenderError(w, r, terr)
					return
				}
				view.CSRF, view.Error = token, le.Message
				d.Kit.Render(w, r, httperr.Status(err), "login", view)
				return
			}
			// Nowhere to send the user, or several accounts: the password
			// prompt, exactly as for an account that signs in with a
			// password, so that the answer tells nothing about which
			// logins exist. The password step refuses it neutrally.
			d.Kit.Logger.Info("username-first login: nowhere to send the user", "typed", ui.TruncateForLog(view.Username), "why", le.Error())
			d.renderPasswordPrompt(w, r, view.Username, view.ReturnTo, view.Remember)
			return
		}
		d.Kit.Logger.Info("username-first login", "typed", ui.TruncateForLog(view.Username), "tenant", tenant.Slug, "found_by", how, "user", user.Login)
		if view.Remember {
			http.SetCookie(w, &http.Cookie{
				Name: autoLoginWishCookieName, Value: "1", Path: "/login", MaxAge: int(autoLoginWishTTL / time.Second),
				HttpOnly: true, Secure: d.Kit.SecureCookies(), SameSite: http.SameSiteLaxMode,
			})
		}
		d.continueLogin(w, r, user, tenant, view.ReturnTo, view.Remember)
	})
}

// continueLogin sends the user on: accounts that sign in with a password
// to the password prompt, everyone else (SSO accounts, or unknown users of
// a tenant found by email domain, whom JIT may create) to the tenant's IdP.
func (d *Deps) continueLogin(w http.ResponseWriter, r *http.Request, user lanyard.User, tenant lanyard.Tenant, returnTo string, remember bool) {
	if user.ID != 0 && user.LoginMethod == lanyard.LoginPassword {
		d.renderPasswordPrompt(w, r, typedOr(r, user.Login), returnTo, remember)
		return
	}
	if remember {
		returnTo = autoLoginRememberPath + "?" + url.Values{"next": {cmp.Or(returnTo, "/")}}.Encode()
	}
	target := ui.SSOPath(tenant.Slug) + "login"
	if returnTo != "" {
		target += "?" + url.Values{"return_to": {returnTo}}.Encode()
	}
	if r.Method == http.MethodPost {
		d.Kit.WriteContinue(w, target, "Signing in", "Taking you to your organisation's sign-in page.")
		return
	}
	ui.Redirect(w, r, target)
}

// signInCandidateLimit bounds the accounts one lookup reads: more accounts
// sharing a login or an email than this are as ambiguous as two.
const signInCandidateLimit = 16

// renderPasswordPrompt shows the password step for what the user typed.
// The page carries no tenant and nothing read from an account: it is the
// same for an account that exists and for one that does not.
func (d *Deps) renderPasswordPrompt(w http.ResponseWriter, r *http.Request, typed, returnTo string, remember bool) {
	token, err := d.Kit.FormToken(w, r)
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	d.Kit.Render(w, r, http.StatusOK, "login_password", loginPasswordView{
		Title: "Enter your password", CSRF: token, Username: typed, ReturnTo: returnTo, Remember: remember,
	})
}

// typedOr is the name the user typed in a posted form, or login when the
// request carries none (automatic login).
func typedOr(r *http.Request, login string) string {
	if r.Method == http.MethodPost {
		if typed := strings.TrimSpace(r.PostFormValue("username")); typed != "" && len(typed) <= maxLoginBytes {
			return typed
		}
	}
	return login
}

// findSignIn finds where what the user typed signs in: the account with
// that login (in any tenant; when several tenants have one, the tenant
// whose email domain the login ends with), else the account with that email
// address, else the tenant claiming the email domain. Its cost does not
// depend on the number of tenants: one indexed lookup of the accounts, one
// of the domain, one of the tenant found. It returns a *lanyard.Error,
// for the log only, when it finds nothing.
func (d *Deps) findSignIn(ctx context.Context, typed string) (lanyard.User, lanyard.Tenant, string, error) {
	if typed == "" {
		return lanyard.User{}, lanyard.Tenant{}, "", lanyard.Errorf(lanyard.KindInvalid, "Type your username or your email address.")
	}
	var domainTenant lanyard.Tenant
	if _, domain, ok := strings.Cut(typed, "@"); ok && domain != "" {
		t, err := d.Store.TenantByEmailDomain(ctx, strings.ToLower(domain))
		switch {
		case err == nil:
			domainTenant = t
		case !errors.Is(err, lanyard.ErrNotFound):
			return lanyard.User{}, lanyard.Tenant{}, "", fmt.Errorf("web: username-first login: email domain: %w", err)
		}
	}
	candidates, err := d.Store.UsersBySignInName(ctx, typed, signInCandidateLimit)
	if err != nil {
		return lanyard.User{}, lanyard.Tenant{}, "", fmt.Errorf("web: username-first login: %w", err)
	}
	// Per tenant: the account with the login, else the one account with
	// the email (an email address that is not a login), counted only in
	// the tenant claiming the domain when one does.
	byLogin := map[int64]lanyard.User{}
	byEmail := map[int64][]lanyard.User{}
	for _, u := range candidates {
		switch {
		case strings.EqualFold(u.Login, typed):
			byLogin[u.TenantID] = u
		case strings.Contains(typed, "@") && (domainTenant.ID == 0 || domainTenant.ID == u.TenantID):
			byEmail[u.TenantID] = append(byEmail[u.TenantID], u)
		}
	}
	var found []lanyard.User
	for _, u := range candidates {
		if l, ok := byLogin[u.TenantID]; ok {
			if l.ID == u.ID {
				found = append(found, u)
			}
		} else if es := byEmail[u.TenantID]; len(es) == 1 && es[0].ID == u.ID {
			found = append(found, u)
		}
	}
	var user lanyard.User
	switch {
	case len(found) == 1:
		user = found[0]
	case len(found) > 1:
		for _, u := range found {
			if u.TenantID == domainTenant.ID {
				user = u
			}
		}
		if user.ID == 0 {
			return lanyard.User{}, lanyard.Tenant{}, "", lanyard.Errorf(lanyard.KindConflict, "the login exists in %d tenants", len(found))
		}
	case domainTenant.ID != 0:
		return lanyard.User{}, domainTenant, foundByEmailDomain, nil
	default:
		return lanyard.User{}, lanyard.Tenant{}, "", lanyard.Errorf(lanyard.KindNotFound, "no account and no tenant's email domain matches")
	}
	tenant, err := d.Store.TenantByID(ctx, user.TenantID)
	if err != nil {
		return lanyard.User{}, lanyard.Tenant{}, "", fmt.Errorf("web: username-first login: tenant %d: %w", user.TenantID, err)
	}
	return user, tenant, foundByAccount, nil
}

// autoLoginUser returns the account of the browser's automatic-login
// cookie when the token is valid and the account still wants it and may
// sign in; a zero User otherwise.
func (d *Deps) autoLoginUser(ctx context.Context, r *http.Request) (lanyard.User, lanyard.Tenant, error) {
	c, err := r.Cookie(autoLoginCookieName)
	if err != nil || !ui.WellFormedToken(c.Value) {
		return lanyard.User{}, lanyard.Tenant{}, nil
	}
	// Peek by taking and saving back: the store's tokens are one-shot.
	tok, err := d.Store.TakeToken(ctx, lanyard.HashSessionID(c.Value), autoLoginPurpose, d.Kit.Now())
	if errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.User{}, lanyard.Tenant{}, nil
	}
	if err != nil {
		return lanyard.User{}, lanyard.Tenant{}, fmt.Errorf("web: automatic login: %w", err)
	}
	if err := d.Store.SaveToken(ctx, &tok); err != nil {
		return lanyard.User{}, lanyard.Tenant{}, fmt.Errorf("web: automatic login: %w", err)
	}
	u, err := d.Store.User(ctx, tok.UserID)
	if errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.User{}, lanyard.Tenant{}, nil
	}
	if err != nil {
		return lanyard.User{}, lanyard.Tenant{}, fmt.Errorf("web: automatic login: %w", err)
	}
	if !u.AutoLogin || u.Status != lanyard.StatusActive || u.Locked {
		return lanyard.User{}, lanyard.Tenant{}, nil
	}
	t, err := d.Store.TenantByID(ctx, u.TenantID)
	if err != nil {
		return lanyard.User{}, lanyard.Tenant{}, fmt.Errorf("web: automatic login: %w", err)
	}
	return u, t, nil
}

// rememberAutoLogin gives the browser a new automatic-login token for the
// user, replacing the one it holds.
func (d *Deps) rememberAutoLogin(ctx context.Context, w http.ResponseWriter, r *http.Request, u lanyard.User) error {
	d.forgetAutoLoginToken(ctx, r)
	token, err := session.RandomToken()
	if err != nil {
		return fmt.Errorf("web: automatic login: %w", err)
	}
	now := d.Kit.Now().UTC()
	if err := d.Store.SaveToken(ctx, &lanyard.OneTimeToken{
		Hash: lanyard.HashSessionID(token), Purpose: autoLoginPurpose, UserID: u.ID,
		CreatedAt: now, ExpiresAt: now.Add(autoLoginTTL),
	}); err != nil {
		return fmt.Errorf("web: automatic login: %w", err)
	}
	http.SetCookie(w, &http.Cookie{
		Name: autoLoginCookieName, Value: token, Path: "/login", MaxAge: int(autoLoginTTL / time.Second),
		HttpOnly: true, Secure: d.Kit.SecureCookies(), SameSite: http.SameSiteLaxMode,
	})
	return nil
}

// forgetAutoLoginToken deletes the token of the browser's cookie, if any.
func (d *Deps) forgetAutoLoginToken(ctx context.Context, r *http.Request) {
	if c, err := r.Cookie(autoLoginCookieName); err == nil && ui.WellFormedToken(c.Value) {
		_, _ = d.Store.TakeToken(ctx, lanyard.HashSessionID(c.Value), autoLoginPurpose, d.Kit.Now())
	}
}

// handleAutoLoginRemember answers GET /login/remember?next=PATH, where a
// sign-in with "Log in automatically next time" ticked lands: it records
// the preference of the signed-in user and this browser, then goes on.
func handleAutoLoginRemember(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		next := cmp.Or(ui.SafeNext(r.URL.Query().Get("next")), "/")
		wish, err := r.Cookie(autoLoginWishCookieName)
		if err != nil || wish.Value != "1" {
			ui.Redirect(w, r, next)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: autoLoginWishCookieName, Path: "/login", MaxAge: -1, HttpOnly: true, Secure: d.Kit.SecureCookies(), SameSite: http.SameSiteLaxMode})
		_, sess, err := d.Kit.CurrentSession(r)
		if err != nil {
			ui.Redirect(w, r, next)
			return
		}
		u, err := d.Store.UpdateUser(ctx, sess.UserID, func(u *lanyard.User) error {
			u.AutoLogin = true
			return nil
		})
		if err == nil {
			err = d.rememberAutoLogin(ctx, w, r, u)
		}
		if err != nil {
			d.Kit.Logger.Error("automatic login not recorded", "user", sess.UserID, "err", err)
		} else {
			d.Kit.Logger.Info("automatic login turned on", slog.String("user", u.Login), slog.Int64("tenant", u.TenantID))
		}
		ui.Redirect(w, r, next)
	})
}

// handleLoginForget answers POST /login/forget ("Not you? Turn off
// automatic login"): the cookie and its token go, and the account's
// preference is turned off.
func handleLoginForget(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if err := ui.ParseForm(r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		if err := d.Kit.VerifyFormToken(r); err != nil {
			d.Kit.RenderErrorLink(w, r, err, &ui.Link{Href: "/login?manual=1", Text: "Reload the sign-in page"})
			return
		}
		if u, _, err := d.autoLoginUser(ctx, r); err == nil && u.ID != 0 {
			if _, err := d.Store.UpdateUser(ctx, u.ID, func(u *lanyard.User) error {
				u.AutoLogin = false
				return nil
			}); err != nil {
				d.Kit.Logger.Error("automatic login preference not turned off", "user", u.ID, "err", err)
			}
		}
		d.forgetAutoLoginToken(ctx, r)
		http.SetCookie(w, &http.Cookie{Name: autoLoginCookieName, Path: "/login", MaxAge: -1, HttpOnly: true, Secure: d.Kit.SecureCookies(), SameSite: http.SameSiteLaxMode})
		ui.Redirect(w, r, "/login?notice=auto-off")
	})
}
