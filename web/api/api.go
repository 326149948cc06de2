// Package api is the JSON admin API (/api/v1/), the third face of package
// admin beside the CLI and the admin UI: every handler parses the request,
// calls one admin method with the token as the actor, and answers JSON.
//
// The operations table of routes.go is the one source of truth: Routes
// registers each operation on the mux and generates the OpenAPI 3.1
// document (GET /api/v1/openapi.json) from the same entries, with the JSON
// Schemas derived from the Go types the handlers read and answer (package
// apiv1, shared with the Go client, package apiclient). A call that is not
// in the table is not served; one that is is documented.
package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// Deps is what the API needs from the server. *admin.Service provides every
// service interface.
type Deps struct {
	// Logger receives refused and failed calls. Nil discards them.
	Logger *slog.Logger
	// Now tells the time (certificate expiry warnings). Nil means time.Now.
	Now func() time.Time
	// Ready wraps the calls that need a migrated database; it answers 503
	// until the server is ready. Nil lets every call through.
	Ready func(http.Handler) http.Handler

	// Tokens authenticates the bearer tokens and manages them. Nil turns
	// the API off: every call answers 503 "not available on this server".
	// With Tokens set, every service below must be set too.
	Tokens      TokenAdmin
	Tenants     TenantAdmin
	IdPs        IdPAdmin
	Users       UserAdmin
	Traces      TraceReader
	Audit       AuditReader
	ProxyRoutes RouteAdmin
	// Directories manages tenants' LDAP directories. Nil: those calls
	// answer 503.
	Directories DirectoryAdmin
	// KeyLife: SP key rollover, certificates, IdPs by hand, the doctor.
	KeyLife KeyLifeAdmin
	// OIDCClients manages OpenID Connect clients; nil answers those calls
	// 503.
	OIDCClients OIDCClientAdmin
}

// TokenAdmin checks and manages API tokens.
type TokenAdmin interface {
	AuthenticateAPIToken(ctx context.Context, secret string) (lanyard.APIToken, lanyard.Principal, error)
	APITokens(ctx context.Context) ([]lanyard.APIToken, error)
	CreateTenantAPIToken(ctx context.Context, actor, tenantSlug, name string, scopes []string, ttl time.Duration) (lanyard.APIToken, string, error)
	RevokeAPIToken(ctx context.Context, actor, ref string) (lanyard.APIToken, error)
}

// TenantAdmin lists, creates, shows and configures tenants.
type TenantAdmin interface {
	Tenant(ctx context.Context, slug string) (lanyard.Tenant, error)
	Tenants(ctx context.Context) ([]lanyard.Tenant, error)
	CreateTenant(ctx context.Context, actor, slug, displayName string, emailDomains []string) (lanyard.Tenant, error)
	DescribeTenant(ctx context.Context, slug string) (admin.TenantInfo, error)
	SetTenant(ctx context.Context, actor, slug string, settings []string) (lanyard.Tenant, []string, error)
	DeleteTenant(ctx context.Context, actor, slug, confirm string) (admin.TenantDeletion, error)
}

// IdPAdmin manages the IdP connections of a tenant.
type IdPAdmin interface {
	IdPs(ctx context.Context, tenantSlug string) ([]lanyard.IdPConnection, error)
	IdP(ctx context.Context, tenantSlug, entityID string) (lanyard.IdPConnection, error)
	ImportIdP(ctx context.Context, actor, tenantSlug string, src admin.IdPSource) (lanyard.IdPConnection, []string, error)
	DeleteIdP(ctx context.Context, actor, tenantSlug, entityID string) error
	RefreshIdP(ctx context.Context, actor string, c lanyard.IdPConnection) (admin.RefreshResult, error)
}

// UserAdmin manages the accounts of a tenant, one by one and in bulk.
type UserAdmin interface {
	Users(ctx context.Context, tenantSlug string, f lanyard.UserFilter) ([]lanyard.User, error)
	AddUser(ctx context.Context, actor, tenantSlug string, u lanyard.User) (lanyard.User, error)
	DescribeUser(ctx context.Context, tenantSlug, login string) (admin.UserInfo, error)
	SetUser(ctx context.Context, actor, tenantSlug, login string, settings []string) (lanyard.User, []string, error)
	ImportUsers(ctx context.Context, actor, tenantSlug string, r io.Reader, opts admin.ImportOptions) (admin.ImportReport, error)
	ExportUsers(ctx context.Context, tenantSlug string, w io.Writer) (int, error)
	PreviewMerge(ctx context.Context, tenantSlug, keepLogin, removeLogin string) (admin.MergePlan, error)
	MergeUsers(ctx context.Context, actor, tenantSlug, keepLogin, removeLogin string) (admin.MergePlan, error)
	ConvertToSSO(ctx context.Context, actor, tenantSlug string, logins []string, opts admin.ConvertOptions) ([]admin.Conversion, error)
	DeleteUser(ctx context.Context, actor, tenantSlug, login string) (lanyard.User, error)
}

// TraceReader reads the refused SSO logins kept by the SAML tracer.
type TraceReader interface {
	LoginTraces(ctx context.Context, tenantSlug, reason string, limit int, beforeID int64) ([]lanyard.LoginTrace, error)
	LoginTrace(ctx context.Context, tenantSlug string, id int64) (lanyard.LoginTrace, error)
}

// AuditReader reads the audit log.
type AuditReader interface {
	AuditLog(ctx context.Context, q admin.AuditQuery) ([]lanyard.AuditEvent, error)
}

// RouteAdmin manages the reverse proxy routes kept in the store.
type RouteAdmin interface {
	ProxyRoutes(ctx context.Context) ([]lanyard.ProxyRoute, error)
	PutProxyRoute(ctx context.Context, actor string, r lanyard.ProxyRoute) (lanyard.ProxyRoute, error)
	DeleteProxyRoute(ctx context.Context, actor, name string) error
}

// The admin service is what the server passes for every interface.
var (
	_ TokenAdmin  = (*admin.Service)(nil)
	_ TenantAdmin = (*admin.Service)(nil)
	_ IdPAdmin    = (*admin.Service)(nil)
	_ UserAdmin   = (*admin.Service)(nil)
	_ TraceReader = (*admin.Service)(nil)
	_ AuditReader = (*admin.Service)(nil)
	_ RouteAdmin  = (*admin.Service)(nil)
)

// withDefaults fills the optional fields, and panics when Tokens is set
// without every service: a wiring bug that every test run finds, better
// than a nil dereference on the first call that needs the missing one.
func (d Deps) withDefaults() Deps {
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Ready == nil {
		d.Ready = func(h http.Handler) http.Handler { return h }
	}
	if d.Tokens != nil && (d.Tenants == nil || d.IdPs == nil || d.Users == nil || d.Traces == nil || d.Audit == nil || d.ProxyRoutes == nil || d.KeyLife == nil) {
		panic("api: Deps sets Tokens but not every service")
	}
	return d
}

// errStarting answers a call that arrives while the server starts.
var errStarting = &lanyard.Error{Kind: lanyard.KindUnavailable,
	Message: "Lanyard is starting (its database is being migrated); try again in a few seconds"}

// ReadyGate is a Deps.Ready for a server that starts: until isReady
// reports true, every call is answered 503 in the API's own error format,
// with Retry-After, so that a client reads JSON, never the HTML page.
func ReadyGate(isReady func() bool, logger *slog.Logger) func(http.Handler) http.Handler {
	d := Deps{Logger: logger}.withDefaults()
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !isReady() {
				writeError(d, w, r, errStarting)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
