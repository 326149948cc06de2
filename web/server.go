// Package web is Lanyard's HTTP server: health and metrics endpoints, the
// break-glass administrator login, the admin UI and the SAML single sign-on
// endpoints of every tenant (metadata, login, Assertion Consumer Service).
// Every route is listed in routes.go.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/clientip"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/login"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/api"
)

// Config is what the server needs from its caller (cmd/lanyard).
type Config struct {
	// BaseURL is the external base URL users reach Lanyard at. With https,
	// cookies are marked Secure. Nil means http://localhost (development
	// only: cookies are not Secure).
	BaseURL *url.URL
	// Logger receives request logs and error details. Nil discards them.
	Logger *slog.Logger
	// Store is the database. Required.
	Store lanyard.Store
	// Admin runs the administration use cases (password reset). Nil makes
	// the password reset pages say to use the CLI instead.
	Admin *admin.Service
	// Registry receives Lanyard's metrics and is served at /metrics. Nil
	// means the server makes its own.
	Registry *prometheus.Registry
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
	// ConfigCheckInterval is how often, at most, the server asks the store
	// whether the configuration (tenants, IdPs, SP keys) changed. Zero means
	// tenantcfg.DefaultCheckInterval (one second); negative checks on every
	// SSO request (tests).
	ConfigCheckInterval time.Duration
	// Gateway answers forward-auth (GET /auth/verify) and serves the
	// identity token keys (GET /.well-known/jwks.json). Nil leaves both
	// unanswered (404).
	Gateway *gateway.Gateway
	// ClientIP names the client of a request (for throttling, sessions,
	// the audit log and the tracer) behind trusted reverse proxies. Nil
	// means the TCP peer.
	ClientIP *clientip.Resolver
	// DemoTenant, when set, serves the sample application page of
	// "lanyard demo" at /demo/, behind sign-in to that tenant. Empty: no
	// sample page.
	DemoTenant string
}

// Server is Lanyard's HTTP handler. Create it with New, call SetReady once
// the database is migrated, and Close on shutdown.
type Server struct {
	handler  http.Handler
	logger   *slog.Logger
	store    lanyard.Store
	sessions *session.Manager
	admin    *admin.Service // nil: no password reset pages
	tenants  *tenantcfg.Registry
	logins   *login.Service
	metrics  *metrics
	pages    *pages
	now      func() time.Time

	// gateway answers forward-auth; nil: none. It also says which
	// applications' origins may use session.js across origins.
	gateway *gateway.Gateway
	// selfOrigin is the origin of the base URL: session.js on Lanyard's
	// own pages.
	selfOrigin string
	// demoTenant is the tenant of the sample page at /demo/; "": none.
	demoTenant string
	// secureCookies is true when BaseURL is https.
	secureCookies bool
	// bindingCookie says how the SSO browser-binding cookie is set.
	bindingCookie bindingCookiePolicy
	// crossOrigin refuses cross-site form posts (Sec-Fetch-Site, Origin).
	crossOrigin *http.CrossOriginProtection
	// clientAddress names the client of a request, for throttling and the
	// audit trail: Config.ClientIP's Address.
	clientAddress func(*http.Request) string
	// dummyHash is verified against when an account has no usable hash, so
	// that a refusal takes as long whether or not the account exists.
	dummyHash func() string

	ready atomic.Bool

	janitorOnce sync.Once
	stopJanitor context.CancelFunc
	janitorDone chan struct{}
}

// New returns a server that answers /healthz at once and refuses logins
// (503, "starting") until SetReady.
func New(cfg Config) *Server {
	s := &Server{
		logger:        cfg.Logger,
		store:         cfg.Store,
		admin:         cfg.Admin,
		now:           cfg.Now,
		clientAddress: cfg.ClientIP.Address,
		dummyHash:     sync.OnceValue(makeDummyHash),
		crossOrigin:   http.NewCrossOriginProtection(),
		pages:         mustParsePages(),
		janitorDone:   make(chan struct{}),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.BaseURL != nil {
		s.secureCookies = cfg.BaseURL.Scheme == "https"
		if cfg.BaseURL.Host != "" {
			// Behind a reverse proxy the Host header may not be the public
			// one; the public origin is always a legitimate origin.
			origin := cfg.BaseURL.Scheme + "://" + cfg.BaseURL.Host
			s.selfOrigin = origin
			if err := s.crossOrigin.AddTrustedOrigin(origin); err != nil {
				s.logger.Warn("base URL is not a valid origin; cross-origin checks compare with the Host header only", "origin", origin, "err", err)
			}
		}
	}
	s.sessions = session.NewManager(cfg.Store, session.Options{Now: s.now})
	s.tenants = tenantcfg.New(cfg.Store, tenantcfg.Options{BaseURL: s.baseURL(cfg.BaseURL), Now: s.now, CheckInterval: cfg.ConfigCheckInterval, Logger: s.logger})
	s.logins = &login.Service{Store: cfg.Store, Now: s.now}
	s.bindingCookie = newBindingCookiePolicy(cfg.BaseURL)
	if s.bindingCookie.fallback {
		s.logger.Warn("the base URL is plain http on a host other than localhost: browsers refuse Secure cookies there, so the SSO browser-binding cookie is sent without SameSite and Chrome returns it on the IdP's POST only within 2 minutes of the login's start; use https", "base_url", cfg.BaseURL.String())
	}
	s.metrics = newMetrics(cfg.Registry, s.logger)
	s.gateway = cfg.Gateway
	if s.gateway != nil {
		s.observeGateway(s.gateway)
	}
	s.demoTenant = cfg.DemoTenant
	s.handler = s.routes()
	return s
}

// baseURL is the configured base URL, or http://localhost when there is
// none (development only).
func (s *Server) baseURL(u *url.URL) *url.URL {
	if u == nil || u.Host == "" {
		return &url.URL{Scheme: "http", Host: "localhost"}
	}
	return u
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// SetReady opens the login endpoints and starts the background jobs. Call it
// once the database is migrated and the server's dependencies are in place.
func (s *Server) SetReady() {
	// Hash the dummy password now rather than during the first sign-in
	// with an unknown login, whose answer would otherwise come late.
	s.dummyHash()
	s.ready.Store(true)
	s.janitorOnce.Do(s.startJanitor)
}

// Close stops the background jobs and waits for them. It does not close the
// store, which belongs to the caller.
func (s *Server) Close() {
	s.janitorOnce.Do(func() { close(s.janitorDone) }) // never started
	if s.stopJanitor != nil {
		s.stopJanitor()
	}
	<-s.janitorDone
}

// apiDeps is what the JSON API (package web/api) needs: the admin service
// for every resource, or nothing when there is none (the API then answers
// 503).
func (s *Server) apiDeps() api.Deps {
	d := api.Deps{Logger: s.logger, Now: s.now, Ready: s.requireReady}
	if s.admin != nil {
		d.Tokens, d.Tenants, d.IdPs, d.Users = s.admin, s.admin, s.admin, s.admin
		d.Traces, d.Audit, d.ProxyRoutes = s.admin, s.admin, s.admin
	}
	return d
}
