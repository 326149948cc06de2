// Package login is the sign-in face for people: username-first login, which
// sends a user to their organisation's IdP or to a password prompt, the
// "log in automatically" preference, the break-glass administrator login
// (which shares the password checks), password reset links and sign-out.
package login

import (
	"context"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/lockout"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Store is what the sign-in face reads and writes: tenants and accounts to
// find where a user signs in, one-time tokens of automatic login, and the
// failure counts of the lockout policy.
type Store interface {
	Tenant(ctx context.Context, slug string) (lanyard.Tenant, error)
	TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
	TenantByEmailDomain(ctx context.Context, domain string) (lanyard.Tenant, error)
	User(ctx context.Context, id int64) (lanyard.User, error)
	UserByLogin(ctx context.Context, tenantID int64, login string) (lanyard.User, error)
	UsersBySignInName(ctx context.Context, name string, limit int) ([]lanyard.User, error)
	UpdateUser(ctx context.Context, id int64, fn func(*lanyard.User) error) (lanyard.User, error)
	lanyard.TokenStore
	lanyard.ThrottleStore
}

// Sessions opens and ends sessions.
type Sessions interface {
	Open(ctx context.Context, tenant lanyard.Tenant, user lanyard.User, kind lanyard.SessionKind, meta session.Meta) (string, lanyard.Session, error)
	End(ctx context.Context, id string) error
}

// PasswordResetter consumes a password reset link (package admin).
type PasswordResetter interface {
	ConsumePasswordReset(ctx context.Context, token, newPassword string) (lanyard.User, error)
}

// SingleLogout continues a sign-out at the IdP of an ended SSO session.
type SingleLogout interface {
	Start(w http.ResponseWriter, r *http.Request, sess lanyard.Session)
}

// Deps is what the sign-in face needs.
type Deps struct {
	Kit      *ui.Kit
	Store    Store
	Sessions Sessions
	// Resets consumes password reset links; nil makes the reset pages say
	// to use the CLI instead.
	Resets PasswordResetter
	// SingleLogout goes on to the IdP after a sign-out; nil shows the
	// signed-out page at once.
	SingleLogout SingleLogout
	Metrics      ui.LoginCounter
	// DummyHash is verified against when an account has no usable hash, so
	// that a refusal takes as long whether or not the account exists.
	DummyHash func() string
	// Ready wraps the endpoints that need a migrated database.
	Ready func(http.Handler) http.Handler
	// SignInStartLimit lookups of POST /login per client address within
	// SignInStartWindow; zero means the defaults.
	SignInStartLimit  int
	SignInStartWindow time.Duration

	lockout lockout.Policy
}

// Routes registers the sign-in, reset and sign-out pages.
func Routes(mux *http.ServeMux, deps Deps) {
	d := &deps
	d.lockout = lockout.Policy{Store: d.Store}
	ready := d.Ready
	form := func(h http.Handler) http.Handler { return ready(ui.LimitForm(h)) }

	// The break-glass administrator login and password reset links.
	mux.Handle("GET /admin/login", ready(handleAdminLoginForm(d)))
	mux.Handle("POST /admin/login", form(handleAdminLoginSubmit(d)))
	mux.Handle("GET /admin/reset", ready(handleAdminResetForm(d)))
	mux.Handle("POST /admin/reset", form(handleAdminResetSubmit(d)))

	// Sign-out, for every kind of session.
	mux.Handle("GET /logout", ready(handleLogoutConfirm(d)))
	mux.Handle("POST /logout", form(handleLogout(d)))

	// Username-first login, the "log in automatically" preference, and
	// the password prompt of local accounts.
	mux.Handle("GET /login", ready(handleLoginStart(d)))
	mux.Handle("POST /login", form(handleLoginSubmit(d)))
	mux.Handle("POST /login/password", form(handleLoginPassword(d)))
	mux.Handle("POST /login/forget", form(handleLoginForget(d)))
	mux.Handle("GET "+autoLoginRememberPath, ready(handleAutoLoginRemember(d)))
}
