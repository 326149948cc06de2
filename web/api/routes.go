package api

import (
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// operation is one call of the API: the route, its entry in the OpenAPI
// document, and the handler maker whose endpoint gives the rest of the
// entry (query parameters, bodies, success status).
type operation struct {
	pattern string // "METHOD /path", as http.ServeMux takes it
	id      string // the operationId, and the method's name in package apiclient
	scope   string // the token scope it needs: lanyard.ScopeRead or ScopeWrite
	// access is who may call it (lanyard.Authorize decides, with the
	// tenant of the path for lanyard.AccessTenant).
	access  lanyard.Access
	summary string
	handle  func(Deps) endpoint
}

// methodPath splits the pattern.
func (op operation) methodPath() (method, path string) {
	method, path, _ = strings.Cut(op.pattern, " ")
	return method, path
}

const (
	read  = lanyard.ScopeRead
	write = lanyard.ScopeWrite

	anyAdmin = lanyard.AccessAdmin
	tenant   = lanyard.AccessTenant
	operator = lanyard.AccessOperator
)

// operations is every call of the API, in the order of the document. GET
// calls need the read scope, the others write.
var operations = []operation{
	{pattern: "GET /api/v1/tenants", id: "listTenants", scope: read, access: anyAdmin, summary: "List tenants", handle: handleTenantList},
	{pattern: "POST /api/v1/tenants", id: "createTenant", scope: write, access: operator, summary: "Create a tenant with its SP keys", handle: handleTenantCreate},
	{pattern: "GET /api/v1/tenants/{tenant}", id: "getTenant", scope: read, access: tenant, summary: "A tenant with its settings, SP endpoints (entity ID, ACS URL) and IdPs", handle: handleTenantGet},
	{pattern: "PATCH /api/v1/tenants/{tenant}", id: "setTenant", scope: write, access: tenant, summary: "Change tenant settings (the keys of lanyard tenant set); all or nothing", handle: handleTenantSet},
	{pattern: "DELETE /api/v1/tenants/{tenant}", id: "deleteTenant", scope: write, access: operator, summary: "Delete a tenant with its accounts, IdPs, SP keys and sessions (?confirm=SLUG); the audit trail stays", handle: handleTenantDelete},

	{pattern: "GET /api/v1/tenants/{tenant}/idps", id: "listIdPs", scope: read, access: tenant, summary: "List IdP connections with certificate expiry and refresh status", handle: handleIdPList},
	{pattern: "POST /api/v1/tenants/{tenant}/idps", id: "importIdP", scope: write, access: tenant, summary: "Connect an IdP: metadata XML as the body, or JSON {\"url\": ...}", handle: handleIdPImport},
	{pattern: "DELETE /api/v1/tenants/{tenant}/idps", id: "deleteIdP", scope: write, access: tenant, summary: "Remove an IdP connection", handle: handleIdPDelete},
	{pattern: "POST /api/v1/tenants/{tenant}/idps/refresh", id: "refreshIdP", scope: write, access: tenant, summary: "Fetch an IdP's metadata from its URL now (the last good copy is kept on failure)", handle: handleIdPRefresh},

	{pattern: "GET /api/v1/tenants/{tenant}/users", id: "listUsers", scope: read, access: tenant, summary: "List users with filters", handle: handleUserList},
	{pattern: "POST /api/v1/tenants/{tenant}/users", id: "createUser", scope: write, access: tenant, summary: "Add a user", handle: handleUserCreate},
	{pattern: "GET /api/v1/tenants/{tenant}/users/{login}", id: "getUser", scope: read, access: tenant, summary: "A user with its IdP links", handle: handleUserGet},
	{pattern: "PATCH /api/v1/tenants/{tenant}/users/{login}", id: "setUser", scope: write, access: tenant, summary: "Change a user (the keys of lanyard user set: status, locked, login_method, web_access, roles...)", handle: handleUserSet},
	{pattern: "DELETE /api/v1/tenants/{tenant}/users/{login}", id: "deleteUser", scope: write, access: tenant, summary: "Delete a user with its roles, IdP links, sessions and one-time tokens; the audit trail stays", handle: handleUserDelete},
	{pattern: "POST /api/v1/tenants/{tenant}/users/import", id: "importUsers", scope: write, access: tenant, summary: "Create and update users from CSV; every row checked first", handle: handleUserImport},
	{pattern: "GET /api/v1/tenants/{tenant}/users/export", id: "exportUsers", scope: read, access: tenant, summary: "The tenant's users as CSV (the columns import reads)", handle: handleUserExport},
	{pattern: "POST /api/v1/tenants/{tenant}/users/merge", id: "mergeUsers", scope: write, access: tenant, summary: "Merge account remove into keep (links, roles, sessions, history) in one transaction", handle: handleUserMerge},
	{pattern: "POST /api/v1/tenants/{tenant}/users/convert", id: "convertUsers", scope: write, access: tenant, summary: "Convert local accounts to SSO accounts (UPN login)", handle: handleUserConvert},

	{pattern: "GET /api/v1/tenants/{tenant}/traces", id: "listTraces", scope: read, access: tenant, summary: "Refused SSO logins kept by the SAML tracer", handle: handleTraceList},
	{pattern: "GET /api/v1/tenants/{tenant}/traces/{id}", id: "getTrace", scope: read, access: tenant, summary: "A refused SSO login with its hint and decoded SAML message", handle: handleTraceGet},

	{pattern: "GET /api/v1/tenants/{tenant}/ldap", id: "getLDAP", scope: read, access: tenant, summary: "The tenant's LDAP / Active Directory connection, sync state, precedence rules and newest runs", handle: handleLDAPGet},
	{pattern: "PATCH /api/v1/tenants/{tenant}/ldap", id: "setLDAP", scope: write, access: tenant, summary: "Change the LDAP connection (the keys of lanyard ldap set); all or nothing", handle: handleLDAPSet},
	{pattern: "POST /api/v1/tenants/{tenant}/ldap/test", id: "testLDAP", scope: write, access: tenant, summary: "Connect, bind, search and map five users as a sync would", handle: handleLDAPTest},
	{pattern: "POST /api/v1/tenants/{tenant}/ldap/sync", id: "syncLDAP", scope: write, access: tenant, summary: "Run a directory sync now (full, incremental, dry run, or the confirmation of a stopped run)", handle: handleLDAPSync},
	{pattern: "GET /api/v1/tenants/{tenant}/ldap/runs/{id}", id: "getLDAPRun", scope: read, access: tenant, summary: "One directory sync run with its report", handle: handleLDAPRun},

	{pattern: "GET /api/v1/audit", id: "listAuditEvents", scope: read, access: anyAdmin, summary: "Audit events, newest first", handle: handleAuditList},

	{pattern: "GET /api/v1/tokens", id: "listTokens", scope: read, access: anyAdmin, summary: "List API tokens (never their secrets)", handle: handleTokenList},
	{pattern: "POST /api/v1/tokens", id: "createToken", scope: write, access: anyAdmin, summary: "Create an API token; the secret is in the answer, once", handle: handleTokenCreate},
	{pattern: "DELETE /api/v1/tokens/{token}", id: "revokeToken", scope: write, access: anyAdmin, summary: "Revoke an API token by name or ID", handle: handleTokenRevoke},

	{pattern: "GET /api/v1/routes", id: "listRoutes", scope: read, access: operator, summary: "List the reverse proxy routes kept in the store", handle: handleRouteList},
	{pattern: "PUT /api/v1/routes/{name}", id: "putRoute", scope: write, access: operator, summary: "Add a reverse proxy route, or replace the route of that name; running servers pick it up within seconds", handle: handleRoutePut},
	{pattern: "DELETE /api/v1/routes/{name}", id: "deleteRoute", scope: write, access: operator, summary: "Remove a reverse proxy route", handle: handleRouteDelete},

	{pattern: "GET /api/v1/tenants/{tenant}/oidc/clients", id: "listOIDCClients", scope: read, access: tenant, summary: "List the OpenID Connect clients of the tenant's provider (never their secrets)", handle: handleOIDCClientList},
	{pattern: "POST /api/v1/tenants/{tenant}/oidc/clients", id: "createOIDCClient", scope: write, access: tenant, summary: "Register an OpenID Connect client; its secret is in the answer, once", handle: handleOIDCClientCreate},
	{pattern: "GET /api/v1/tenants/{tenant}/oidc/clients/{client}", id: "getOIDCClient", scope: read, access: tenant, summary: "An OpenID Connect client", handle: handleOIDCClientGet},
	{pattern: "PATCH /api/v1/tenants/{tenant}/oidc/clients/{client}", id: "setOIDCClient", scope: write, access: tenant, summary: "Change settings of an OpenID Connect client (the keys of lanyard oidc set); all or nothing", handle: handleOIDCClientSet},
	{pattern: "POST /api/v1/tenants/{tenant}/oidc/clients/{client}/secret", id: "rotateOIDCClientSecret", scope: write, access: tenant, summary: "Give an OpenID Connect client a new secret (in the answer, once); the old one stops working", handle: handleOIDCClientSecret},
	{pattern: "DELETE /api/v1/tenants/{tenant}/oidc/clients/{client}", id: "deleteOIDCClient", scope: write, access: tenant, summary: "Remove an OpenID Connect client; its tokens stop working", handle: handleOIDCClientDelete},
}

// openAPIPattern serves the document. It is outside the table: the
// document does not describe itself, and it needs no token.
const openAPIPattern = "GET /api/v1/openapi.json"

// Routes registers the API on mux: every operation, behind d.Ready and
// the token check of its scope; the OpenAPI document; and a JSON 404 for
// the rest of /api/.
func Routes(mux *http.ServeMux, d Deps) {
	register(mux, d)
}

// registrar is what register needs of a mux; tests record the patterns.
type registrar interface {
	Handle(pattern string, handler http.Handler)
}

// register is Routes. The operations table is the only source of the
// /api/v1/ routes: the document is built from the endpoints registered.
func register(mux registrar, d Deps) {
	d = d.withDefaults()
	eps := make([]endpoint, len(operations))
	for i, op := range operations {
		eps[i] = op.handle(d)
		mux.Handle(op.pattern, d.Ready(requireToken(d, op, eps[i])))
	}
	mux.Handle(openAPIPattern, handleOpenAPI(encodeDocument(document(operations, eps))))
	mux.Handle("/api/", handleNotFound(d))
}

// handleNotFound answers calls outside the API's routes in JSON.
func handleNotFound(d Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(d, w, r, &lanyard.Error{Kind: lanyard.KindNotFound, Message: "no such API call (or not with this method); the calls are listed in /api/v1/openapi.json"})
	})
}

// RouteTable lists every call of the API.
func RouteTable() []lanyard.RouteAccess {
	out := make([]lanyard.RouteAccess, len(operations))
	for i, op := range operations {
		out[i] = lanyard.RouteAccess{Pattern: op.pattern, Access: op.access}
	}
	return out
}
