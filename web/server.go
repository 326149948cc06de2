// Package web is Lanyard's HTTP server: it builds the faces (web/sso,
// web/login, web/admin, web/api, web/sessionjs) over their narrow
// dependencies, lists every route in routes.go, and wraps them in the
// middleware every request passes through. It also answers the probes, the
// metrics, the home page and the sample application page of "lanyard demo".
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
	"github.com/lanyard-sso/lanyard/ldapsync"
	"github.com/lanyard-sso/lanyard/login"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	webadmin "github.com/lanyard-sso/lanyard/web/admin"
	"github.com/lanyard-sso/lanyard/web/api"
	"github.com/lanyard-sso/lanyard/web/internal/relay"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
	weblogin "github.com/lanyard-sso/lanyard/web/login"
	"github.com/lanyard-sso/lanyard/web/oidc"
	"github.com/lanyard-sso/lanyard/web/sso"
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
	// Admin runs the administration use cases: the admin UI, the JSON API,
	// password reset links and the SAML tracer. Nil leaves the admin UI
	// and the API unavailable and makes the password reset pages say to
	// use the CLI instead.
	Admin *admin.Service
	// Directories manages the tenants' LDAP directories (admin UI, API).
	// Nil: the server makes one over Store (without metrics) when Store
	// keeps directories.
	Directories *ldapsync.Service
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
	// AdminHost is the admin UI's own host (admin_base_url), if any; see
	// gateway.Config.AdminHost.
	AdminHost string
	// DemoTenant, when set, serves the sample application page of
	// "lanyard demo" at /demo/, behind sign-in to that tenant. Empty: no
	// sample page.
	DemoTenant string
	// MetricsToken, when set, is the bearer token GET /metrics requires
	// (Authorization: Bearer TOKEN); without it the metrics are public.
	MetricsToken string
	// MetricsElsewhere takes GET /metrics off this handler (404): the
	// caller serves MetricsHandler on a listener of its own.
	MetricsElsewhere bool
	// PendingRequests bounds the AuthnRequests awaiting their response,
	// per client and in total; zero means sso.DefaultPendingLimits.
	PendingRequests sso.PendingLimits
	// Readiness: what /readyz checks, and the write probe.
	Readiness ReadinessConfig
	// OIDCLogoutInterval is how often RunOIDC looks for ended sessions to
	// send back-channel logout tokens for. Zero means
	// oidc.DefaultLogoutInterval (5 seconds).
	OIDCLogoutInterval time.Duration
}

// Server is Lanyard's HTTP handler. Create it with New and call SetReady
// once the database is migrated.
type Server struct {
	handler  http.Handler
	logger   *slog.Logger
	store    lanyard.Store
	admin    *admin.Service // nil: no admin UI, API or reset pages
	sessions *session.Manager
	tenants  *tenantcfg.Registry
	logins   *login.Service
	metrics  *metrics
	kit      *ui.Kit
	origins  relay.Origins
	now      func() time.Time

	// gateway answers forward-auth; nil: none.
	gateway *gateway.Gateway
	// demoTenant is the tenant of the sample page at /demo/; "": none.
	demoTenant string
	// refusals budgets the records of refused SSO logins and logouts; its
	// summary writer stops at Close.
	refusals *sso.RefusalLimiter
	pending  sso.PendingLimits
	// metricsToken and metricsElsewhere: see Config.
	metricsToken     string
	metricsElsewhere bool
	// dummyHash is verified against when an account has no usable hash, so
	// that a refusal takes as long whether or not the account exists.
	dummyHash func() string

	ready atomic.Bool
	// readiness and probe: see Config.Readiness and RunWriteProbe.
	readiness ReadinessConfig
	probe     *writeProbe

	// directories manages LDAP directories; nil when the store keeps none.
	directories *ldapsync.Service
	// OpenID Connect provider (oidc_wiring.go); nil without one.
	oidc               *oidc.Provider
	baseURL            *url.URL
	oidcLogoutInterval time.Duration
}

// New returns a server that answers /healthz at once and refuses logins
// (503, "starting") until SetReady.
func New(cfg Config) *Server {
	s := &Server{
		logger:    cfg.Logger,
		store:     cfg.Store,
		admin:     cfg.Admin,
		now:       cfg.Now,
		gateway:   cfg.Gateway,
		dummyHash: sync.OnceValue(weblogin.MakeDummyHash),
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if cfg.BaseURL != nil && cfg.BaseURL.Host != "" {
		s.origins.Self, _ = lanyard.CanonicalOrigin(cfg.BaseURL.Scheme + "://" + cfg.BaseURL.Host)
	}
	if s.gateway != nil {
		// The gateway knows which applications' origins may use
		// session.js across origins.
		s.origins.Trusted = s.gateway
	}
	s.sessions = session.NewManager(cfg.Store, session.Options{Now: s.now})
	s.tenants = tenantcfg.New(cfg.Store, tenantcfg.Options{BaseURL: baseURL(cfg.BaseURL), Now: s.now, CheckInterval: cfg.ConfigCheckInterval, Logger: s.logger})
	s.logins = &login.Service{Store: cfg.Store, Now: s.now}
	if d, ok := cfg.Store.(login.DirectoryStore); ok {
		s.logins.Directory = d // the LDAP directory's precedence over SAML (issue 16)
	}
	s.directories = cfg.Directories
	if ds, ok := cfg.Store.(ldapsync.Store); ok && s.directories == nil {
		s.directories = &ldapsync.Service{Store: ds, Syncer: &ldapsync.Syncer{Store: ds, Logger: s.logger}}
	}
	s.kit = ui.New(ui.Options{
		BaseURL:       cfg.BaseURL,
		Logger:        s.logger,
		Now:           s.now,
		ClientAddress: cfg.ClientIP.Address,
		Audit:         cfg.Store,
		Sessions:      s.sessions,
		Users:         cfg.Store,
		Tenants:       cfg.Store,
		AdminHost:     cfg.AdminHost,
		// Error pages of the admin UI keep the administrator's navigation.
		AdminNavigation: webadmin.Navigation,
	})
	s.readiness = cfg.Readiness
	s.probe = newWriteProbe(s, cfg.Readiness)
	s.metrics = newMetrics(cfg.Registry, s.logger)
	s.probe.failures = register(s.metrics.registry, s.logger, s.probe.failures)
	for _, c := range storeFailureCounters(cfg.Store) {
		replace(s.metrics.registry, s.logger, c)
	}
	if s.gateway != nil {
		s.observeGateway(s.gateway)
	}
	s.observeCertificates()
	s.demoTenant = cfg.DemoTenant
	s.refusals = sso.NewRefusalLimiter(sso.DefaultRefusalLimits, s.now, s.logger, s.kit.AuditRef)
	s.pending = cfg.PendingRequests
	s.metricsToken, s.metricsElsewhere = cfg.MetricsToken, cfg.MetricsElsewhere
	s.baseURL, s.oidcLogoutInterval = baseURL(cfg.BaseURL), cfg.OIDCLogoutInterval
	s.handler = s.routes()
	return s
}

// Close stops the server's background work once it no longer takes
// requests (after http.Server.Shutdown): the summaries of refused logins it
// still holds are written, before the store closes.
func (s *Server) Close(ctx context.Context) {
	s.refusals.Close(ctx)
}

// baseURL is the configured base URL, or http://localhost when there is
// none (development only).
func baseURL(u *url.URL) *url.URL {
	if u == nil || u.Host == "" {
		return &url.URL{Scheme: "http", Host: "localhost"}
	}
	return u
}

// ServeHTTP answers one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// SetReady opens the login endpoints. Call it once the database is
// migrated and the server's dependencies are in place.
func (s *Server) SetReady() {
	// Hash the dummy password now rather than during the first sign-in
	// with an unknown login, whose answer would otherwise come late.
	s.dummyHash()
	s.ready.Store(true)
}

// isReady reports whether SetReady was called.
func (s *Server) isReady() bool { return s.ready.Load() }

// apiDeps is what the JSON API (package web/api) needs: the admin service
// for every resource, or nothing when there is none (the API then answers
// 503).
func (s *Server) apiDeps() api.Deps {
	d := api.Deps{Logger: s.logger, Now: s.now, Ready: api.ReadyGate(s.isReady, s.logger)}
	if s.admin != nil {
		d.Tokens, d.Tenants, d.IdPs, d.Users = s.admin, s.admin, s.admin, s.admin
		d.Traces, d.Audit, d.ProxyRoutes = s.admin, s.admin, s.admin
		d.KeyLife = s.admin
	}
	if s.directories != nil {
		d.Directories = s.directories
		d.OIDCClients = s.admin
	}
	return d
}
