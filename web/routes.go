package web

import (
	"net/http"

	"github.com/lanyard-sso/lanyard/web/admin"
	"github.com/lanyard-sso/lanyard/web/api"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
	weblogin "github.com/lanyard-sso/lanyard/web/login"
	"github.com/lanyard-sso/lanyard/web/sessionjs"
	"github.com/lanyard-sso/lanyard/web/sso"
)

// Probe routes, named because the request log treats them apart.
const (
	probeHealthz = "GET /healthz"
	probeReadyz  = "GET /readyz"
	probeMetrics = "GET /metrics"
	routeVerify  = "GET /auth/verify"
)

// routes lists every endpoint of the server, and wraps the whole in the
// middleware every request passes through (outermost first): logging and
// metrics, panic recovery, security headers.
//
// Each face registers its own routes (its Routes function lists them);
// endpoints that need a migrated database sit behind requireReady, which
// every face receives as Deps.Ready.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	ready := s.requireReady

	// Probes and metrics: always answered.
	mux.Handle(probeHealthz, handleHealthz())
	mux.Handle(probeReadyz, s.handleReadyz())
	if s.metricsElsewhere {
		mux.Handle(probeMetrics, s.kit.NotFound())
	} else {
		mux.Handle(probeMetrics, s.MetricsHandler())
	}
	mux.Handle("GET /static/", ui.StaticHandler())
	mux.Handle("GET /{$}", s.handleHome())

	// SAML single sign-on, per tenant (web/sso): metadata, SP-initiated
	// login, the ACS, Single Logout, passive session checks.
	ssoDeps := sso.Deps{
		Kit: s.kit, Store: s.store, Sessions: s.sessions, Tenants: s.tenants, Logins: s.logins,
		Metrics: s.metrics, Origins: s.origins, Ready: ready, IsReady: s.isReady,
		Pending: s.store, PendingLimits: s.pending,
		Refusals: s.refusals,
	}
	if s.admin != nil {
		ssoDeps.Traces = s.admin
		ssoDeps.MetadataFetches = s.admin
	}
	sso.Routes(mux, ssoDeps)

	// People's sign-in (web/login): username-first login, the password
	// step, automatic login, the break-glass administrator login, password
	// reset links and sign-out, which goes on to the IdP's Single Logout.
	loginDeps := weblogin.Deps{
		Kit: s.kit, Store: s.store, Sessions: s.sessions, SingleLogout: sso.NewSingleLogout(ssoDeps),
		Metrics: s.metrics, DummyHash: s.dummyHash, Ready: ready,
	}
	if s.admin != nil {
		loginDeps.Resets = s.admin
	}
	weblogin.Routes(mux, loginDeps)

	// The admin UI (web/admin). Without the administration service, its
	// pages answer that it is unavailable.
	if s.admin != nil {
		adminDeps := admin.Deps{Kit: s.kit, Admin: s.admin, Store: s.store, Ready: ready}
		if s.directories != nil {
			adminDeps.Directories = s.directories
		}
		admin.Routes(mux, adminDeps)
	} else {
		mux.Handle("/admin/", ready(s.kit.RequireAdmin(s.kit.NotFound())))
	}

	// The JSON admin API (web/api): bearer tokens with the read scope for
	// GET calls, write for the others; the OpenAPI document is public.
	api.Routes(mux, s.apiDeps())

	// SCIM 2.0 provisioning of each tenant (web/scim).
	s.scimRoutes(mux)

	// Session keeping (web/sessionjs): session.js, its state endpoint and
	// relay pages.
	sessionjs.Routes(mux, sessionjs.Deps{Kit: s.kit, Store: s.store, Origins: s.origins, Ready: ready})

	// Applications behind Lanyard: forward-auth and the identity token keys.
	if s.gateway != nil {
		mux.Handle(routeVerify, ready(s.gateway.Verify()))
		mux.Handle("GET /.well-known/jwks.json", ready(s.gateway.JWKS()))
	}

	// OpenID Connect provider per tenant (web/oidc).
	s.oidcRoutes(mux, ssoDeps)

	// The sample application page of "lanyard demo".
	if s.demoTenant != "" {
		mux.Handle("GET /demo/{$}", ready(s.handleDemoPage()))
	}

	mux.Handle("/", s.kit.NotFound())

	return s.traced(s.observe(s.recoverPanics(securityHeaders(mux))))
}
