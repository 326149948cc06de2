package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
)

// apiOperation describes one call of the JSON API for the OpenAPI document.
// Every "/api/v1/" route of routes.go has one (a test checks it).
type apiOperation struct {
	method, path string
	id           string
	summary      string
	scope        string   // read or write
	query        []string // query parameters, "name:type:description"
	body         string   // request body: a schema name, "csv", "xml" or ""
	response     string   // schema name of the 2xx answer, or "csv"
	status       string   // the 2xx status, "200" when empty
}

// apiOperations is the list of API calls, in the order of the document.
var apiOperations = []apiOperation{
	{method: "GET", path: "/api/v1/tenants", id: "listTenants", summary: "List tenants", scope: "read", response: "TenantList"},
	{method: "POST", path: "/api/v1/tenants", id: "createTenant", summary: "Create a tenant with its SP keys", scope: "write", body: "TenantCreate", response: "Tenant", status: "201"},
	{method: "GET", path: "/api/v1/tenants/{tenant}", id: "getTenant", summary: "A tenant with its settings, SP endpoints (entity ID, ACS URL) and IdPs", scope: "read", response: "TenantInfo"},
	{method: "PATCH", path: "/api/v1/tenants/{tenant}", id: "setTenant", summary: "Change tenant settings (the keys of lanyard tenant set); all or nothing", scope: "write", body: "Settings", response: "TenantChange"},
	{method: "GET", path: "/api/v1/tenants/{tenant}/idps", id: "listIdPs", summary: "List IdP connections with certificate expiry and refresh status", scope: "read", response: "IdPList"},
	{method: "POST", path: "/api/v1/tenants/{tenant}/idps", id: "importIdP", summary: "Connect an IdP: metadata XML as the body, or JSON {\"url\": ...}", scope: "write", body: "xml",
		query: []string{"entity_id:string:the IdP to take from a federation document", "legacy_sha1:boolean:accept RSA-SHA1 signatures"}, response: "IdPImport"},
	{method: "DELETE", path: "/api/v1/tenants/{tenant}/idps", id: "deleteIdP", summary: "Remove an IdP connection", scope: "write",
		query: []string{"entity_id:string:the entity ID of the IdP (required)"}, response: "Deleted"},
	{method: "POST", path: "/api/v1/tenants/{tenant}/idps/refresh", id: "refreshIdP", summary: "Fetch an IdP's metadata from its URL now (the last good copy is kept on failure)", scope: "write",
		query: []string{"entity_id:string:the entity ID of the IdP (required)"}, response: "IdPRefresh"},
	{method: "GET", path: "/api/v1/tenants/{tenant}/users", id: "listUsers", summary: "List users with filters", scope: "read",
		query: []string{"query:string:substring of login, email or names", "status:string:active or inactive", "source:string:local, idp or ldap",
			"login_method:string:password or sso", "role:string:holds this role", "limit:integer:at most this many", "offset:integer:skip this many"}, response: "UserList"},
	{method: "POST", path: "/api/v1/tenants/{tenant}/users", id: "createUser", summary: "Add a user", scope: "write", body: "UserCreate", response: "User", status: "201"},
	{method: "GET", path: "/api/v1/tenants/{tenant}/users/{login}", id: "getUser", summary: "A user with its IdP links", scope: "read", response: "UserInfo"},
	{method: "PATCH", path: "/api/v1/tenants/{tenant}/users/{login}", id: "setUser", summary: "Change a user (the keys of lanyard user set: status, locked, login_method, web_access, roles...)", scope: "write", body: "Settings", response: "UserChange"},
	{method: "POST", path: "/api/v1/tenants/{tenant}/users/import", id: "importUsers", summary: "Create and update users from CSV; every row checked first", scope: "write", body: "csv",
		query: []string{"dry_run:boolean:report what would change, change nothing"}, response: "ImportReport"},
	{method: "GET", path: "/api/v1/tenants/{tenant}/users/export", id: "exportUsers", summary: "The tenant's users as CSV (the columns import reads)", scope: "read", response: "csv"},
	{method: "POST", path: "/api/v1/tenants/{tenant}/users/merge", id: "mergeUsers", summary: "Merge account remove into keep (links, roles, sessions, history) in one transaction", scope: "write", body: "MergeRequest", response: "MergePlan"},
	{method: "POST", path: "/api/v1/tenants/{tenant}/users/convert", id: "convertUsers", summary: "Convert local accounts to SSO accounts (UPN login)", scope: "write", body: "ConvertRequest", response: "ConvertReport"},
	{method: "GET", path: "/api/v1/tenants/{tenant}/traces", id: "listTraces", summary: "Refused SSO logins kept by the SAML tracer", scope: "read",
		query: []string{"reason:string:only this reason code", "limit:integer:at most this many", "before:integer:only traces with a smaller ID"}, response: "TraceList"},
	{method: "GET", path: "/api/v1/tenants/{tenant}/traces/{id}", id: "getTrace", summary: "A refused SSO login with its hint and decoded SAML message", scope: "read", response: "Trace"},
	{method: "GET", path: "/api/v1/audit", id: "listAuditEvents", summary: "Audit events, newest first", scope: "read",
		query: []string{"tenant:string:slug of the tenant", "user:string:login of a user of the tenant", "action:string:e.g. user.merge", "outcome:string:success or failure",
			"reason:string:reason code", "since:string:RFC 3339 time", "limit:integer:1 to 1000 (default 100)", "before:integer:only events with a smaller ID"}, response: "AuditList"},
	{method: "GET", path: "/api/v1/tokens", id: "listTokens", summary: "List API tokens (never their secrets)", scope: "read", response: "TokenList"},
	{method: "POST", path: "/api/v1/tokens", id: "createToken", summary: "Create an API token; the secret is in the answer, once", scope: "write", body: "TokenCreate", response: "TokenCreated", status: "201"},
	{method: "DELETE", path: "/api/v1/tokens/{token}", id: "revokeToken", summary: "Revoke an API token by name or ID", scope: "write", response: "Token"},
	{method: "GET", path: "/api/v1/routes", id: "listRoutes", summary: "List the reverse proxy routes kept in the store", scope: "read", response: "RouteList"},
	{method: "PUT", path: "/api/v1/routes/{name}", id: "putRoute", summary: "Add a reverse proxy route, or replace the route of that name; running servers pick it up within seconds", scope: "write", body: "RoutePut", response: "Route"},
	{method: "DELETE", path: "/api/v1/routes/{name}", id: "deleteRoute", summary: "Remove a reverse proxy route", scope: "write", response: "Deleted"},
}

var pathParam = regexp.MustCompile(`\{([a-z]+)\}`)

// apiSchemas are the JSON Schemas (2020-12, as OpenAPI 3.1 uses) of the
// bodies.
func apiSchemas() map[string]any {
	str := map[string]any{"type": "string"}
	integer := map[string]any{"type": "integer"}
	boolean := map[string]any{"type": "boolean"}
	strs := map[string]any{"type": "array", "items": str}
	dateTime := map[string]any{"type": "string", "format": "date-time"}
	nullableTime := map[string]any{"type": []string{"string", "null"}, "format": "date-time"}
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	list := func(field, item string) map[string]any {
		return object(map[string]any{field: map[string]any{"type": "array", "items": ref(item)}}, field)
	}
	return map[string]any{
		"Error": object(map[string]any{"error": object(map[string]any{
			"kind":    map[string]any{"type": "string", "enum": []string{"internal", "invalid", "not_found", "conflict", "unauthorized", "forbidden", "unavailable", "throttled"}},
			"message": map[string]any{"type": "string", "description": "what went wrong and what to do"},
		}, "kind", "message")}, "error"),
		"Settings": object(map[string]any{"settings": map[string]any{"type": "object", "additionalProperties": str,
			"description": "key to value, e.g. {\"jit\": \"true\", \"clock_skew\": \"3m\"}; every problem is reported at once and nothing is written unless all are valid"}}, "settings"),
		"Tenant": object(map[string]any{"id": integer, "slug": str, "display_name": str, "email_domains": strs, "sso_enabled": boolean,
			"settings": map[string]any{"type": "object", "additionalProperties": str}, "created_at": dateTime, "updated_at": dateTime}),
		"TenantList":   list("tenants", "Tenant"),
		"TenantCreate": object(map[string]any{"slug": str, "display_name": str, "email_domains": strs}, "slug"),
		"Endpoints":    object(map[string]any{"entity_id": str, "metadata_url": str, "acs_url": str, "slo_url": str, "login_url": str}),
		"TenantInfo": object(map[string]any{"tenant": ref("Tenant"), "endpoints": ref("Endpoints"),
			"idps": map[string]any{"type": "array", "items": ref("IdP")}, "users": integer}),
		"TenantChange": object(map[string]any{"tenant": ref("Tenant"), "changes": strs}),
		"Certificate": object(map[string]any{"subject": str, "not_after": dateTime,
			"warning": map[string]any{"type": "string", "description": "\"expired\" or \"expires in N days\" within 30 days"}}),
		"IdP": object(map[string]any{"id": integer, "entity_id": str, "source_url": str, "refreshed_at": nullableTime, "refresh_error": str,
			"legacy_sha1": boolean, "certificates": map[string]any{"type": "array", "items": ref("Certificate")}}),
		"IdPList":    list("idps", "IdP"),
		"IdPImport":  object(map[string]any{"idp": ref("IdP"), "warnings": strs}),
		"Deleted":    object(map[string]any{"deleted": str}),
		"IdPRefresh": object(map[string]any{"idp": ref("IdP"), "changed": boolean, "changes": str, "warnings": strs}),
		"Role":       object(map[string]any{"role": str, "source": map[string]any{"type": "string", "enum": []string{"manual", "idp"}}}),
		"User": object(map[string]any{"id": integer, "login": str, "email": str, "firstname": str, "lastname": str,
			"status": map[string]any{"type": "string", "enum": []string{"active", "inactive"}}, "locked": boolean,
			"login_method": map[string]any{"type": "string", "enum": []string{"password", "sso"}}, "web_access": boolean, "auto_login": boolean,
			"source": map[string]any{"type": "string", "enum": []string{"local", "idp", "ldap"}}, "idp_sourced": boolean,
			"roles": map[string]any{"type": "array", "items": ref("Role")}, "has_password": boolean,
			"created_at": dateTime, "updated_at": dateTime, "last_login_at": nullableTime}),
		"UserList": list("users", "User"),
		"UserCreate": object(map[string]any{"login": str, "email": str, "firstname": str, "lastname": str, "status": str, "login_method": str,
			"web_access": boolean, "auto_login": boolean, "roles": strs}, "login"),
		"UserInfo": object(map[string]any{"user": ref("User"), "links": map[string]any{"type": "array", "items": object(map[string]any{
			"idp_entity_id": str, "name_id": str, "created_at": dateTime})}, "live_sessions": integer}),
		"UserChange": object(map[string]any{"user": ref("User"), "changes": strs}),
		"ImportReport": object(map[string]any{"dry_run": boolean, "rows": integer, "created": integer, "updated": integer, "unchanged": integer,
			"changes": map[string]any{"type": "array", "items": object(map[string]any{"line": integer, "login": str,
				"action": map[string]any{"type": "string", "enum": []string{"create", "update"}}, "changes": strs})},
			"ignored_columns": strs}),
		"MergeRequest": object(map[string]any{"keep": str, "remove": str, "dry_run": boolean}, "keep", "remove"),
		"MergePlan": object(map[string]any{"dry_run": boolean, "keep": ref("User"), "remove": ref("User"), "result": ref("User"),
			"links":    map[string]any{"type": "array", "items": object(map[string]any{"idp_entity_id": str, "name_id": str})},
			"sessions": integer, "changes": strs, "audit_events_moved": integer}),
		"ConvertRequest": object(map[string]any{"logins": strs, "domain": str, "dry_run": boolean}, "logins"),
		"ConvertReport": object(map[string]any{"dry_run": boolean, "conversions": map[string]any{"type": "array", "items": object(map[string]any{
			"login": str, "new_login": str, "changes": strs})}}),
		"Trace": object(map[string]any{"id": integer, "time": dateTime, "idp_entity_id": str, "subject": str, "reason": str, "message": str,
			"hint": str, "clock_skew_seconds": map[string]any{"type": "number", "description": "IdP clock minus Lanyard's; 0 when unknown"},
			"client_ip": str, "document": map[string]any{"type": "string", "description": "decoded SAML message, signature values shortened"}}),
		"TraceList": list("traces", "Trace"),
		"AuditEvent": object(map[string]any{"id": integer, "time": dateTime, "tenant_id": integer, "actor": str, "action": str, "outcome": str,
			"reason": str, "user_id": integer, "subject": str, "client_ip": str, "message": str,
			"detail": map[string]any{"type": "object", "additionalProperties": str}}),
		"AuditList": list("events", "AuditEvent"),
		"Token": object(map[string]any{"id": integer, "name": str, "prefix": str, "scopes": strs, "created_by": str, "created_at": dateTime,
			"expires_at": nullableTime, "last_used_at": nullableTime, "revoked_at": nullableTime}),
		"TokenList": list("tokens", "Token"),
		"Route": object(map[string]any{"name": str, "host": str, "path_prefix": str, "upstream": str, "tenant": str, "roles": strs,
			"bearer_token": boolean, "strip_prefix": boolean, "created_at": dateTime, "updated_at": dateTime}),
		"RouteList": list("routes", "Route"),
		"RoutePut": object(map[string]any{"host": map[string]any{"type": "string", "description": "request host; empty: any"},
			"path_prefix": map[string]any{"type": "string", "description": "default /"}, "upstream": map[string]any{"type": "string", "format": "uri"},
			"tenant":       map[string]any{"type": "string", "description": "slug; default: the default tenant"},
			"roles":        map[string]any{"type": "array", "items": str, "description": "every one required"},
			"bearer_token": boolean, "strip_prefix": boolean}, "upstream"),
		"TokenCreate": object(map[string]any{"name": str, "scopes": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": []string{"read", "write"}}},
			"expires_in_hours": map[string]any{"type": "integer", "description": "0: until revoked"}}, "name", "scopes"),
		"TokenCreated": object(map[string]any{"token": ref("Token"), "secret": map[string]any{"type": "string", "description": "shown once; send as Authorization: Bearer"}}),
	}
}

// object is a JSON Schema of an object with the properties.
func object(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// openAPIDocument builds the OpenAPI 3.1 document of the API.
func openAPIDocument() map[string]any {
	errResp := func(desc string) map[string]any {
		return map[string]any{"description": desc, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Error"}}}}
	}
	paths := map[string]any{}
	for _, op := range apiOperations {
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(op.path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range op.query {
			parts := strings.SplitN(q, ":", 3)
			params = append(params, map[string]any{"name": parts[0], "in": "query", "required": false, "description": parts[2], "schema": map[string]any{"type": parts[1]}})
		}
		status := op.status
		if status == "" {
			status = "200"
		}
		var content map[string]any
		if op.response == "csv" {
			content = map[string]any{"text/csv": map[string]any{"schema": map[string]any{"type": "string"}}}
		} else {
			content = map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + op.response}}}
		}
		o := map[string]any{
			"operationId": op.id,
			"summary":     op.summary,
			"security":    []any{map[string]any{"bearer": []string{op.scope}}},
			"description": "Needs a token with the " + op.scope + " scope.",
			"responses": map[string]any{
				status: map[string]any{"description": "success", "content": content},
				"400":  errResp("the request is not valid; the message lists every problem"),
				"401":  errResp("no token, or an unknown, revoked or expired one"),
				"403":  errResp("the token lacks the scope"),
				"404":  errResp("no such tenant, user or record"),
				"409":  errResp("the change clashes with existing data"),
			},
		}
		if params != nil {
			o["parameters"] = params
		}
		switch op.body {
		case "":
		case "csv":
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"text/csv": map[string]any{"schema": map[string]any{"type": "string",
				"description": "header login,email,firstname,lastname,status,login_method,roles (roles separated by ;)"}}}}
		case "xml":
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/samlmetadata+xml": map[string]any{"schema": map[string]any{"type": "string"}},
				"application/json":             map[string]any{"schema": object(map[string]any{"url": map[string]any{"type": "string", "format": "uri"}, "entity_id": map[string]any{"type": "string"}}, "url")},
			}}
		default:
			o["requestBody"] = map[string]any{"required": true, "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/" + op.body}}}}
		}
		item, _ := paths[op.path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[op.path] = item
		}
		item[strings.ToLower(op.method)] = o
	}
	return map[string]any{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
		"info": map[string]any{
			"title":       "Lanyard admin API",
			"version":     "1",
			"description": "The administration of Lanyard over HTTP: the same operations as the admin UI and the lanyard command. Every change is written to the audit log with the token's name as the actor (api:NAME). Create a token with: lanyard token create NAME --scopes read,write",
		},
		"servers": []any{map[string]any{"url": "/"}},
		"paths":   paths,
		"components": map[string]any{
			"schemas": apiSchemas(),
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "An API token (lyd_...). Scopes: read (GET calls), write (every call)."}},
		},
	}
}

// openAPIJSON is the document, encoded once.
var openAPIJSON = sync.OnceValue(func() []byte {
	b, err := json.MarshalIndent(openAPIDocument(), "", "  ")
	if err != nil {
		panic(err) // a bug in the literal above, found by every test
	}
	return b
})

// handleOpenAPI serves the OpenAPI document; it is public, like any API
// description.
func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc := openAPIJSON()
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("ETag", etagOf(doc))
		if r.Header.Get("If-None-Match") == etagOf(doc) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(doc)
	})
}
