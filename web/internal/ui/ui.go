// Package ui holds the mechanisms every HTML face of Lanyard shares: the
// embedded templates and their rendering, the error page, cookies, the
// anti-forgery checks of forms, the auto-posting form of the SAML POST
// binding, the audit helper and the signed-in session of a request. It
// holds no handler: the faces (web/sso, web/login, web/admin, ...) do.
package ui

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// Options configure a Kit.
type Options struct {
	// BaseURL is the external base URL. With https, cookies are Secure; its
	// origin is trusted by the cross-origin checks. Nil means
	// http://localhost (development only).
	BaseURL *url.URL
	// Logger receives render failures and refusals. Nil discards them.
	Logger *slog.Logger
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
	// ClientAddress names the client of a request. Nil means the TCP peer.
	ClientAddress func(*http.Request) string
	// Audit keeps the audit trail. Required.
	Audit lanyard.AuditStore
	// Sessions looks sessions up and ends them. Required.
	Sessions *session.Manager
	// Users and Tenants are read to authenticate administrators. Required.
	Users   UserReader
	Tenants TenantReader
	// AdminHost is the admin UI's own host (admin_base_url), if any: forms
	// posted there must come from that origin alone, not from the base
	// URL's, where applications may be served.
	AdminHost string
	// AdminNavigation is the navigation of the signed-in administrator of
	// a request, shown on the error pages they meet (a refused page, a
	// missing one); nil shows none.
	AdminNavigation func(*http.Request) *Navigation
}

// UserReader reads accounts.
type UserReader interface {
	User(ctx context.Context, id int64) (lanyard.User, error)
}

// TenantReader reads tenants by ID.
type TenantReader interface {
	TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
}

// Kit is the shared machinery of the HTML faces. Build it once with New.
type Kit struct {
	Logger *slog.Logger
	Now    func() time.Time
	// ClientAddress names the client of a request, for throttling and the
	// audit trail.
	ClientAddress func(*http.Request) string

	pages         *pages
	audit         lanyard.AuditStore
	sessions      *session.Manager
	users         UserReader
	tenants       TenantReader
	secureCookies bool
	binding       bindingCookiePolicy
	crossOrigin   *http.CrossOriginProtection
	scheme        string // of the base URL
	adminHost     string // Options.AdminHost
	adminNav      func(*http.Request) *Navigation
	baseOrigin    string // the base URL's, canonical
}

// New builds the kit.
func New(o Options) *Kit {
	k := &Kit{
		Logger:        o.Logger,
		Now:           o.Now,
		ClientAddress: o.ClientAddress,
		pages:         mustParsePages(),
		audit:         o.Audit,
		sessions:      o.Sessions,
		users:         o.Users,
		tenants:       o.Tenants,
		adminNav:      o.AdminNavigation,
		crossOrigin:   http.NewCrossOriginProtection(),
		binding:       newBindingCookiePolicy(o.BaseURL),
	}
	if k.Logger == nil {
		k.Logger = slog.New(slog.DiscardHandler)
	}
	if k.Now == nil {
		k.Now = time.Now
	}
	if k.ClientAddress == nil {
		k.ClientAddress = func(r *http.Request) string { return r.RemoteAddr }
	}
	k.scheme = "http"
	k.adminHost = o.AdminHost
	if o.BaseURL != nil {
		k.secureCookies = o.BaseURL.Scheme == "https"
		if o.BaseURL.Scheme == "https" {
			k.scheme = "https"
		}
		k.baseOrigin, _ = lanyard.CanonicalOrigin(o.BaseURL.Scheme + "://" + o.BaseURL.Host)
		if o.BaseURL.Host != "" {
			// Behind a reverse proxy the Host header may not be the public
			// one; the public origin is always a legitimate origin.
			origin := o.BaseURL.Scheme + "://" + o.BaseURL.Host
			if err := k.crossOrigin.AddTrustedOrigin(origin); err != nil {
				k.Logger.Warn("base URL is not a valid origin; cross-origin checks compare with the Host header only", "origin", origin, "err", err)
			}
		}
	}
	if k.binding.fallback {
		k.Logger.Warn("the base URL is plain http on a host other than localhost: browsers refuse Secure cookies there, so the SSO browser-binding cookie is sent without SameSite and Chrome returns it on the IdP's POST only within 2 minutes of the login's start; use https", "base_url", o.BaseURL.String())
	}
	return k
}

// SecureCookies reports whether cookies are marked Secure (an https base
// URL).
func (k *Kit) SecureCookies() bool { return k.secureCookies }
