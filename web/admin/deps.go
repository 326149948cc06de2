// Package admin is the administration UI under /admin/: server-rendered
// pages over package admin, one handler per page or form, post/redirect/get.
// Every route is behind the administrator check; every form carries the
// session's CSRF token, checked by adminForm before anything changes; every
// change is made by the administration service with the administrator's
// login as the actor.
package admin

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// TenantAdmin manages tenants and their SSO settings.
type TenantAdmin interface {
	Tenant(ctx context.Context, slug string) (lanyard.Tenant, error)
	Tenants(ctx context.Context) ([]lanyard.Tenant, error)
	CreateTenant(ctx context.Context, actor, slug, displayName string, emailDomains []string) (lanyard.Tenant, error)
	DescribeTenant(ctx context.Context, slug string) (admin.TenantInfo, error)
	SetTenant(ctx context.Context, actor, slug string, settings []string) (lanyard.Tenant, []string, error)
}

// IdPAdmin manages the IdP connections of tenants.
type IdPAdmin interface {
	IdP(ctx context.Context, tenantSlug, entityID string) (lanyard.IdPConnection, error)
	ImportIdP(ctx context.Context, actor, tenantSlug string, src admin.IdPSource) (lanyard.IdPConnection, []string, error)
	DeleteIdP(ctx context.Context, actor, tenantSlug, entityID string) error
	RefreshIdP(ctx context.Context, actor string, c lanyard.IdPConnection) (admin.RefreshResult, error)
}

// UserAdmin manages accounts.
type UserAdmin interface {
	User(ctx context.Context, tenantSlug, login string) (lanyard.User, error)
	Users(ctx context.Context, tenantSlug string, f lanyard.UserFilter) ([]lanyard.User, error)
	DescribeUser(ctx context.Context, tenantSlug, login string) (admin.UserInfo, error)
	AddUser(ctx context.Context, actor, tenantSlug string, u lanyard.User) (lanyard.User, error)
	SetUser(ctx context.Context, actor, tenantSlug, login string, settings []string) (lanyard.User, []string, error)
	ConvertToSSO(ctx context.Context, actor, tenantSlug string, logins []string, opts admin.ConvertOptions) ([]admin.Conversion, error)
	PreviewMerge(ctx context.Context, tenantSlug, keepLogin, removeLogin string) (admin.MergePlan, error)
	MergeUsers(ctx context.Context, actor, tenantSlug, keepLogin, removeLogin string) (admin.MergePlan, error)
	ImportUsers(ctx context.Context, actor, tenantSlug string, r io.Reader, opts admin.ImportOptions) (admin.ImportReport, error)
	ExportUsers(ctx context.Context, tenantSlug string, w io.Writer) (int, error)
}

// TraceReader reads the SAML tracer.
type TraceReader interface {
	LoginTrace(ctx context.Context, tenantSlug string, id int64) (lanyard.LoginTrace, error)
	LoginTraces(ctx context.Context, tenantSlug, reason string, limit int, beforeID int64) ([]lanyard.LoginTrace, error)
	LoginTraceByRef(ctx context.Context, ref int64) (lanyard.LoginTrace, string, error)
}

// AuditReader reads the audit trail.
type AuditReader interface {
	AuditLog(ctx context.Context, q admin.AuditQuery) ([]lanyard.AuditEvent, error)
}

// TokenAdmin manages API tokens.
type TokenAdmin interface {
	APITokens(ctx context.Context) ([]lanyard.APIToken, error)
	CreateAPIToken(ctx context.Context, actor, name string, scopes []string, ttl time.Duration) (lanyard.APIToken, string, error)
	RevokeAPIToken(ctx context.Context, actor, ref string) (lanyard.APIToken, error)
}

// RouteAdmin manages the reverse proxy's routes.
type RouteAdmin interface {
	ProxyRoutes(ctx context.Context) ([]lanyard.ProxyRoute, error)
	PutProxyRoute(ctx context.Context, actor string, r lanyard.ProxyRoute) (lanyard.ProxyRoute, error)
	DeleteProxyRoute(ctx context.Context, actor, name string) error
}

// Service is every administration use case the pages offer; package admin's
// Service implements it.
type Service interface {
	TenantAdmin
	IdPAdmin
	UserAdmin
	TraceReader
	AuditReader
	TokenAdmin
	RouteAdmin
}

var _ Service = (*admin.Service)(nil)

// Store is what the pages read beside the service: the tenants of the
// dashboard, the SP certificates of a tenant, role names and user counts.
type Store interface {
	Tenants(ctx context.Context) ([]lanyard.Tenant, error)
	SPKeys(ctx context.Context, tenantID int64) ([]lanyard.SPKey, error)
	Roles(ctx context.Context, tenantID int64) ([]string, error)
	CountUsers(ctx context.Context, f lanyard.UserFilter) (int, error)
}

// Deps is what the administration UI needs.
type Deps struct {
	Kit   *ui.Kit
	Admin Service
	Store Store
	// Ready wraps the pages that need a migrated database.
	Ready func(http.Handler) http.Handler
}

// Routes registers the administration pages. Pages not built yet answer a
// clear 404 to administrators, and the sign-in page to everyone else.
func Routes(mux *http.ServeMux, deps Deps) {
	d := &deps
	page := func(h http.Handler) http.Handler { return d.Ready(d.Kit.RequireAdmin(h)) }
	mux.Handle("GET /admin/{$}", page(handleAdminDashboard(d)))
	mux.Handle("GET /admin", http.RedirectHandler(ui.AdminHome, http.StatusMovedPermanently))
	mux.Handle("POST /admin/tenants", page(handleAdminTenantCreate(d)))
	mux.Handle("GET /admin/tenants/{tenant}", page(handleAdminTenant(d)))
	mux.Handle("POST /admin/tenants/{tenant}/settings", page(handleAdminTenantSettings(d)))
	mux.Handle("POST /admin/tenants/{tenant}/idps", page(handleAdminIdPImport(d)))
	mux.Handle("POST /admin/tenants/{tenant}/idps/delete", page(handleAdminIdPDelete(d)))
	mux.Handle("POST /admin/tenants/{tenant}/idps/refresh", page(handleAdminIdPRefresh(d)))
	mux.Handle("GET /admin/tenants/{tenant}/sso-test", page(handleAdminSSOTest(d)))
	mux.Handle("GET /admin/tenants/{tenant}/users", page(handleAdminUsers(d)))
	mux.Handle("POST /admin/tenants/{tenant}/users", page(handleAdminUserCreate(d)))
	mux.Handle("GET /admin/tenants/{tenant}/users/export", page(handleAdminUsersExport(d)))
	mux.Handle("POST /admin/tenants/{tenant}/users/convert", page(handleAdminUsersConvert(d)))
	mux.Handle("GET /admin/tenants/{tenant}/users/{login}", page(handleAdminUser(d)))
	mux.Handle("POST /admin/tenants/{tenant}/users/{login}", page(handleAdminUserSave(d)))
	mux.Handle("GET /admin/tenants/{tenant}/merge", page(handleAdminMerge(d)))
	mux.Handle("POST /admin/tenants/{tenant}/merge", page(handleAdminMergeSubmit(d)))
	mux.Handle("GET /admin/tenants/{tenant}/import", page(handleAdminImport(d)))
	mux.Handle("POST /admin/tenants/{tenant}/import", page(handleAdminImportSubmit(d)))
	mux.Handle("GET /admin/tenants/{tenant}/traces", page(handleAdminTraces(d)))
	mux.Handle("GET /admin/tenants/{tenant}/traces/{id}", page(handleAdminTrace(d)))
	mux.Handle("GET /admin/traces", page(handleAdminTraceByRef(d)))
	mux.Handle("GET /admin/audit", page(handleAdminAudit(d)))
	mux.Handle("GET /admin/tokens", page(handleAdminTokens(d)))
	mux.Handle("POST /admin/tokens", page(handleAdminTokenCreate(d)))
	mux.Handle("POST /admin/tokens/revoke", page(handleAdminTokenRevoke(d)))
	mux.Handle("GET /admin/routes", page(handleAdminRoutes(d)))
	mux.Handle("POST /admin/routes", page(handleAdminRouteSave(d)))
	mux.Handle("POST /admin/routes/remove", page(handleAdminRouteRemove(d)))
	mux.Handle("/admin/", page(d.Kit.NotFound()))
}
