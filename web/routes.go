package web

import (
	"net/http"

	"github.com/lanyard-sso/lanyard/web/api"
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
// Endpoints that need a migrated database sit behind requireReady; form
// posts behind limitForm; admin pages behind requireAdmin.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	ready := s.requireReady

	// Probes and metrics: always answered.
	mux.Handle(probeHealthz, handleHealthz())
	mux.Handle(probeReadyz, s.handleReadyz())
	mux.Handle(probeMetrics, s.metrics.handler(s.logger))
	mux.Handle("GET /static/", staticHandler())
	mux.Handle("GET /{$}", s.handleHome())

	// Break-glass administrator login and the admin UI.
	mux.Handle("GET /admin/login", ready(s.handleAdminLoginForm()))
	mux.Handle("POST /admin/login", ready(limitForm(s.handleAdminLoginSubmit())))
	mux.Handle("GET /admin/reset", ready(s.handleAdminResetForm()))
	mux.Handle("POST /admin/reset", ready(limitForm(s.handleAdminResetSubmit())))
	mux.Handle("GET /admin/{$}", ready(s.requireAdmin(s.handleAdminDashboard())))
	mux.Handle("GET /admin", http.RedirectHandler(adminHome, http.StatusMovedPermanently))
	// The admin UI pages (admin_pages.go): every form checks the session's
	// CSRF token; every change goes through package admin.
	admin := func(h http.Handler) http.Handler { return ready(s.requireAdmin(h)) }
	mux.Handle("POST /admin/tenants", admin(s.handleAdminTenantCreate()))
	mux.Handle("GET /admin/tenants/{tenant}", admin(s.handleAdminTenant()))
	mux.Handle("POST /admin/tenants/{tenant}/settings", admin(s.handleAdminTenantSettings()))
	mux.Handle("POST /admin/tenants/{tenant}/idps", admin(s.handleAdminIdPImport()))
	mux.Handle("POST /admin/tenants/{tenant}/idps/delete", admin(s.handleAdminIdPDelete()))
	mux.Handle("POST /admin/tenants/{tenant}/idps/refresh", admin(s.handleAdminIdPRefresh()))
	mux.Handle("GET /admin/tenants/{tenant}/sso-test", admin(s.handleAdminSSOTest()))
	mux.Handle("GET /admin/tenants/{tenant}/users", admin(s.handleAdminUsers()))
	mux.Handle("POST /admin/tenants/{tenant}/users", admin(s.handleAdminUserCreate()))
	mux.Handle("GET /admin/tenants/{tenant}/users/export", admin(s.handleAdminUsersExport()))
	mux.Handle("POST /admin/tenants/{tenant}/users/convert", admin(s.handleAdminUsersConvert()))
	mux.Handle("GET /admin/tenants/{tenant}/users/{login}", admin(s.handleAdminUser()))
	mux.Handle("POST /admin/tenants/{tenant}/users/{login}", admin(s.handleAdminUserSave()))
	mux.Handle("GET /admin/tenants/{tenant}/merge", admin(s.handleAdminMerge()))
	mux.Handle("POST /admin/tenants/{tenant}/merge", admin(s.handleAdminMergeSubmit()))
	mux.Handle("GET /admin/tenants/{tenant}/import", admin(s.handleAdminImport()))
	mux.Handle("POST /admin/tenants/{tenant}/import", admin(s.handleAdminImportSubmit()))
	mux.Handle("GET /admin/tenants/{tenant}/traces", admin(s.handleAdminTraces()))
	mux.Handle("GET /admin/tenants/{tenant}/traces/{id}", admin(s.handleAdminTrace()))
	mux.Handle("GET /admin/audit", admin(s.handleAdminAudit()))
	mux.Handle("GET /admin/tokens", admin(s.handleAdminTokens()))
	mux.Handle("POST /admin/tokens", admin(s.handleAdminTokenCreate()))
	mux.Handle("POST /admin/tokens/revoke", admin(s.handleAdminTokenRevoke()))
	mux.Handle("GET /admin/routes", admin(s.handleAdminRoutes()))
	mux.Handle("POST /admin/routes", admin(s.handleAdminRouteSave()))
	mux.Handle("POST /admin/routes/remove", admin(s.handleAdminRouteRemove()))
	// Admin pages still to be built: signed-in administrators get a clear
	// 404, everyone else the sign-in page.
	mux.Handle("/admin/", ready(s.requireAdmin(s.handleNotFound())))

	// The JSON admin API (package web/api): bearer tokens with the read
	// scope for GET calls, write for the others; the OpenAPI document is
	// public.
	api.Routes(mux, s.apiDeps())

	// Sign-out, for every kind of session.
	mux.Handle("GET /logout", ready(s.handleLogoutConfirm()))
	mux.Handle("POST /logout", ready(limitForm(s.handleLogout())))

	// SAML single sign-on, per tenant. The ACS takes the IdP's cross-site
	// POST: no origin check or CSRF token applies, the signed response and
	// the browser-binding cookie take their place.
	mux.Handle("GET /t/{tenant}/saml/metadata", ready(s.handleSAMLMetadata()))
	mux.Handle("GET /t/{tenant}/saml/login", ready(s.handleSAMLLogin()))
	mux.Handle("POST /t/{tenant}/saml/acs", s.requireReadySSO(s.handleSAMLACS()))
	mux.Handle("GET /t/{tenant}/saml/acs", s.handleSAMLACSGet())
	// Single Logout: the IdP's LogoutRequests and LogoutResponses, both
	// bindings. Like the ACS, it takes cross-site posts: the signed message
	// stands in for the CSRF token.
	mux.Handle("GET /t/{tenant}/saml/slo", ready(s.handleSAMLSLO()))
	mux.Handle("POST /t/{tenant}/saml/slo", ready(http.MaxBytesHandler(s.handleSAMLSLO(), maxACSBytes)))

	// Username-first login, the "log in automatically" preference, and
	// the password prompt of local accounts.
	mux.Handle("GET /login", ready(s.handleLoginStart()))
	mux.Handle("POST /login", ready(limitForm(s.handleLoginSubmit())))
	mux.Handle("POST /login/password", ready(limitForm(s.handleLoginPassword())))
	mux.Handle("POST /login/forget", ready(limitForm(s.handleLoginForget())))
	mux.Handle("GET "+autoLoginRememberPath, ready(s.handleAutoLoginRemember()))

	// Session keeping: session.js, its state endpoint and relay pages.
	mux.Handle("GET "+sessionScriptPath, handleScript(sessionScript, sessionScriptVersion))
	mux.Handle("GET "+relayScriptPath, handleScript(relayScript, relayScriptVersion))
	mux.Handle("GET "+sessionStatePath, ready(s.handleSessionState()))
	mux.Handle("GET "+popupDonePath, ready(s.handlePopupDone()))

	// Applications behind Lanyard: forward-auth and the identity token keys.
	if s.gateway != nil {
		mux.Handle(routeVerify, ready(s.gateway.Verify()))
		mux.Handle("GET /.well-known/jwks.json", ready(s.gateway.JWKS()))
	}

	// The sample application page of "lanyard demo".
	if s.demoTenant != "" {
		mux.Handle("GET /demo/{$}", ready(s.handleDemoPage()))
	}

	mux.Handle("/", s.handleNotFound())

	return s.observe(s.recoverPanics(securityHeaders(mux)))
}
