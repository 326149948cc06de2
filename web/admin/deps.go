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
	DeleteTenant(ctx context.Context, actor, slug, confirm string) (admin.TenantDeletion, error)
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
	DeleteUser(ctx context.Context, actor, tenantSlug, login string) (lanyard.User, error)
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
	CreateTenantAPIToken(ctx context.Context, actor, tenantSlug, name string, scopes []string, ttl time.Duration) (lanyard.APIToken, string, error)
	RevokeAPIToken(ctx context.Context, actor, ref string) (lanyard.APIToken, error)
}

// RouteAdmin manages the reverse proxy's routes.
type RouteAdmin interface {
	ProxyRoutes(ctx context.Context) ([]lanyard.ProxyRoute, error)
	PutProxyRoute(ctx context.Context, actor string, r lanyard.ProxyRoute) (lanyard.ProxyRoute, error)
	DeleteProxyRoute(ctx context.Context, actor, name string) error
}

// KeyLifeAdmin manages the life of keys and connections: SP key rollover,
// the certificate inventory, IdPs configured by hand, the connection doctor.
type KeyLifeAdmin interface {
	Certificates(ctx context.Context, slug string) ([]admin.HeldCertificate, error)
	SPKeyRollover(ctx context.Context, slug string) (admin.KeyRollover, error)
	AddNextSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse, material *admin.SPKeyMaterial) (admin.KeyInfo, error)
	SwitchSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse) (admin.KeyInfo, error)
	RetireSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse) ([]admin.KeyInfo, error)
	AddManualIdP(ctx context.Context, actor, slug string, m admin.ManualIdP) (lanyard.IdPConnection, []string, error)
	Diagnose(ctx context.Context, slug string) (admin.Diagnosis, error)
}

// Service is every administration use case the pages offer; package admin's
// Service implements it.
type Service interface {
	KeyLifeAdmin
	TenantAdmin
	IdPAdmin
	UserAdmin
	TraceReader
	AuditReader
	TokenAdmin
	RouteAdmin
	OIDCClientAdmin
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
	// Directories manages LDAP directories. Nil: the directory pages say
	// the feature is not available.
	Directories DirectoryAdmin
}

// page is one route of the administration UI and the access it requires
// (lanyard.Authorize decides); a route cannot be registered without one.
type page struct {
	pattern string
	access  lanyard.Access
	handle  func(*Deps) http.Handler
}

// Accesses, short.
const (
	public   = lanyard.AccessPublic
	anyAdmin = lanyard.AccessAdmin
	tenant   = lanyard.AccessTenant
	operator = lanyard.AccessOperator
)

// pages is every route of the administration UI. Tenant routes name their
// tenant as {tenant}; anyAdmin routes show and change only what the
// administrator manages.
var pages = []page{
	{"GET /admin/{$}", anyAdmin, handleAdminDashboard},
	{"GET /admin", public, func(*Deps) http.Handler { return http.RedirectHandler(ui.AdminHome, http.StatusMovedPermanently) }},
	{"POST /admin/tenants", operator, handleAdminTenantCreate},
	{"GET /admin/tenants/{tenant}", tenant, handleAdminTenant},
	{"POST /admin/tenants/{tenant}/settings", tenant, handleAdminTenantSettings},
	{"POST /admin/tenants/{tenant}/idps", tenant, handleAdminIdPImport},
	{"POST /admin/tenants/{tenant}/idps/delete", tenant, handleAdminIdPDelete},
	{"POST /admin/tenants/{tenant}/idps/refresh", tenant, handleAdminIdPRefresh},
	{"GET /admin/tenants/{tenant}/sso-test", tenant, handleAdminSSOTest},
	{"GET /admin/tenants/{tenant}/keys", tenant, handleAdminKeys},
	{"POST /admin/tenants/{tenant}/keys/next", tenant, func(d *Deps) http.Handler { return keyStep(d, "next") }},
	{"POST /admin/tenants/{tenant}/keys/switch", tenant, func(d *Deps) http.Handler { return keyStep(d, "switch") }},
	{"POST /admin/tenants/{tenant}/keys/retire", tenant, func(d *Deps) http.Handler { return keyStep(d, "retire") }},
	{"POST /admin/tenants/{tenant}/idps/manual", tenant, handleAdminManualIdP},
	{"GET /admin/tenants/{tenant}/doctor", tenant, handleAdminDoctor},
	{"GET /admin/tenants/{tenant}/users", tenant, handleAdminUsers},
	{"POST /admin/tenants/{tenant}/users", tenant, handleAdminUserCreate},
	{"GET /admin/tenants/{tenant}/users/export", tenant, handleAdminUsersExport},
	{"POST /admin/tenants/{tenant}/users/convert", tenant, handleAdminUsersConvert},
	{"GET /admin/tenants/{tenant}/users/{login}", tenant, handleAdminUser},
	{"POST /admin/tenants/{tenant}/users/{login}", tenant, handleAdminUserSave},
	{"GET /admin/tenants/{tenant}/users/{login}/delete", tenant, handleAdminUserDeleteConfirm},
	{"POST /admin/tenants/{tenant}/users/{login}/delete", tenant, handleAdminUserDelete},
	{"GET /admin/tenants/{tenant}/delete", operator, handleAdminTenantDeleteConfirm},
	{"POST /admin/tenants/{tenant}/delete", operator, handleAdminTenantDelete},
	{"GET /admin/tenants/{tenant}/merge", tenant, handleAdminMerge},
	{"POST /admin/tenants/{tenant}/merge", tenant, handleAdminMergeSubmit},
	{"GET /admin/tenants/{tenant}/import", tenant, handleAdminImport},
	{"POST /admin/tenants/{tenant}/import", tenant, handleAdminImportSubmit},
	{"GET /admin/tenants/{tenant}/traces", tenant, handleAdminTraces},
	{"GET /admin/tenants/{tenant}/ldap", tenant, handleAdminLDAP},
	{"POST /admin/tenants/{tenant}/ldap", tenant, handleAdminLDAPSave},
	{"POST /admin/tenants/{tenant}/ldap/test", tenant, handleAdminLDAPTest},
	{"POST /admin/tenants/{tenant}/ldap/sync", tenant, handleAdminLDAPSync},
	{"GET /admin/tenants/{tenant}/ldap/runs/{id}", tenant, handleAdminLDAPRun},
	{"GET /admin/tenants/{tenant}/traces/{id}", tenant, handleAdminTrace},
	{"GET /admin/traces", anyAdmin, handleAdminTraceByRef},
	{"GET /admin/audit", anyAdmin, handleAdminAudit},
	{"GET /admin/tokens", anyAdmin, handleAdminTokens},
	{"POST /admin/tokens", anyAdmin, handleAdminTokenCreate},
	{"POST /admin/tokens/revoke", anyAdmin, handleAdminTokenRevoke},
	{"GET /admin/routes", operator, handleAdminRoutes},
	{"POST /admin/routes", operator, handleAdminRouteSave},
	{"POST /admin/routes/remove", operator, handleAdminRouteRemove},
	{"GET /admin/tenants/{tenant}/oidc", tenant, handleAdminOIDCClients},
	{"POST /admin/tenants/{tenant}/oidc", tenant, handleAdminOIDCClientCreate},
	{"POST /admin/tenants/{tenant}/oidc/secret", tenant, handleAdminOIDCClientSecret},
	{"POST /admin/tenants/{tenant}/oidc/delete", tenant, handleAdminOIDCClientDelete},
	{"/admin/", anyAdmin, func(d *Deps) http.Handler { return d.Kit.NotFound() }},
}

// RouteTable lists every route Routes registers.
func RouteTable() []lanyard.RouteAccess {
	out := make([]lanyard.RouteAccess, len(pages))
	for i, p := range pages {
		out[i] = lanyard.RouteAccess{Pattern: p.pattern, Access: p.access}
	}
	return out
}

// Routes registers the administration pages, each behind the check of
// its access. Pages not built yet answer a clear 404 to administrators, and
// the sign-in page to everyone else.
func Routes(mux *http.ServeMux, deps Deps) {
	d := &deps
	for _, p := range pages {
		h := d.Kit.RequireAccess(p.access, d.pathTenant, p.handle(d))
		if p.access != public {
			h = d.Ready(h)
		}
		mux.Handle(p.pattern, h)
	}
}

// pathTenant is the ID of the tenant the path names, 0 when there is none
// (the refusal must not tell a missing tenant from another's).
func (d *Deps) pathTenant(r *http.Request) (int64, error) {
	t, err := d.Admin.Tenant(r.Context(), r.PathValue("tenant"))
	if lanyard.ErrorKind(err) == lanyard.KindNotFound || lanyard.ErrorKind(err) == lanyard.KindInvalid {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return t.ID, nil
}
