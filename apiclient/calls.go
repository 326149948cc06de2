package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/lanyard-sso/lanyard/apiv1"
)

// One method per operation of the API, in the order of the document; the
// method's name is the operationId with a capital.

// ListTenants lists the tenants.
func (c *Client) ListTenants(ctx context.Context) (apiv1.TenantList, error) {
	var out apiv1.TenantList
	return out, c.call(ctx, http.MethodGet, []string{"tenants"}, nil, nil, &out)
}

// CreateTenant creates a tenant with its SP keys.
func (c *Client) CreateTenant(ctx context.Context, in apiv1.TenantCreate) (apiv1.Tenant, error) {
	var out apiv1.Tenant
	return out, c.call(ctx, http.MethodPost, []string{"tenants"}, nil, in, &out)
}

// GetTenant returns a tenant with its settings, SP endpoints and IdPs.
func (c *Client) GetTenant(ctx context.Context, tenant string) (apiv1.TenantInfo, error) {
	var out apiv1.TenantInfo
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant}, nil, nil, &out)
}

// SetTenant changes tenant settings (the keys of "lanyard tenant set"):
// all of them or, when one is not valid, none.
func (c *Client) SetTenant(ctx context.Context, tenant string, settings map[string]string) (apiv1.TenantChange, error) {
	var out apiv1.TenantChange
	return out, c.call(ctx, http.MethodPatch, []string{"tenants", tenant}, nil, apiv1.Settings{Settings: settings}, &out)
}

// ListIdPs lists a tenant's IdP connections.
func (c *Client) ListIdPs(ctx context.Context, tenant string) (apiv1.IdPList, error) {
	var out apiv1.IdPList
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "idps"}, nil, nil, &out)
}

// ImportIdP connects an IdP from its metadata document.
func (c *Client) ImportIdP(ctx context.Context, tenant string, q apiv1.IdPImportQuery, metadata []byte) (apiv1.IdPImport, error) {
	var out apiv1.IdPImport
	return out, c.decode(ctx, request{method: http.MethodPost, path: []string{"tenants", tenant, "idps"}, query: q,
		body: bytes.NewReader(metadata), contentType: "application/samlmetadata+xml"}, &out)
}

// ImportIdPFromURL connects an IdP whose metadata the server fetches from
// a URL, now and periodically.
func (c *Client) ImportIdPFromURL(ctx context.Context, tenant string, q apiv1.IdPImportQuery, in apiv1.IdPImportURL) (apiv1.IdPImport, error) {
	var out apiv1.IdPImport
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "idps"}, q, in, &out)
}

// DeleteIdP removes an IdP connection.
func (c *Client) DeleteIdP(ctx context.Context, tenant, entityID string) (apiv1.Deleted, error) {
	var out apiv1.Deleted
	return out, c.call(ctx, http.MethodDelete, []string{"tenants", tenant, "idps"}, apiv1.IdPQuery{EntityID: entityID}, nil, &out)
}

// DeleteTenant deletes a tenant with its accounts, IdPs, keys and
// sessions; confirm repeats its slug.
func (c *Client) DeleteTenant(ctx context.Context, tenant, confirm string) (apiv1.Deleted, error) {
	var out apiv1.Deleted
	return out, c.call(ctx, http.MethodDelete, []string{"tenants", tenant}, apiv1.TenantDeleteQuery{Confirm: confirm}, nil, &out)
}

// DeleteUser deletes a user with its links, sessions and tokens.
func (c *Client) DeleteUser(ctx context.Context, tenant, login string) (apiv1.Deleted, error) {
	var out apiv1.Deleted
	return out, c.call(ctx, http.MethodDelete, []string{"tenants", tenant, "users", login}, nil, nil, &out)
}

// RefreshIdP fetches an IdP's metadata from its URL now.
func (c *Client) RefreshIdP(ctx context.Context, tenant, entityID string) (apiv1.IdPRefresh, error) {
	var out apiv1.IdPRefresh
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "idps", "refresh"}, apiv1.IdPQuery{EntityID: entityID}, nil, &out)
}

// ListUsers lists a tenant's users matching q.
func (c *Client) ListUsers(ctx context.Context, tenant string, q apiv1.UserQuery) (apiv1.UserList, error) {
	var out apiv1.UserList
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "users"}, q, nil, &out)
}

// CreateUser adds a user.
func (c *Client) CreateUser(ctx context.Context, tenant string, in apiv1.UserCreate) (apiv1.User, error) {
	var out apiv1.User
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "users"}, nil, in, &out)
}

// GetUser returns a user with its IdP links.
func (c *Client) GetUser(ctx context.Context, tenant, login string) (apiv1.UserInfo, error) {
	var out apiv1.UserInfo
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "users", login}, nil, nil, &out)
}

// SetUser changes a user (the keys of "lanyard user set").
func (c *Client) SetUser(ctx context.Context, tenant, login string, settings map[string]string) (apiv1.UserChange, error) {
	var out apiv1.UserChange
	return out, c.call(ctx, http.MethodPatch, []string{"tenants", tenant, "users", login}, nil, apiv1.Settings{Settings: settings}, &out)
}

// ImportUsers creates and updates users from a CSV file.
func (c *Client) ImportUsers(ctx context.Context, tenant string, q apiv1.ImportQuery, csv io.Reader) (apiv1.ImportReport, error) {
	var out apiv1.ImportReport
	return out, c.decode(ctx, request{method: http.MethodPost, path: []string{"tenants", tenant, "users", "import"}, query: q,
		body: csv, contentType: "text/csv"}, &out)
}

// ExportUsers returns the tenant's users as CSV, the columns ImportUsers
// reads.
func (c *Client) ExportUsers(ctx context.Context, tenant string) ([]byte, error) {
	resp, err := c.send(ctx, request{method: http.MethodGet, path: []string{"tenants", tenant, "users", "export"}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("apiclient: export users of %s: %w", tenant, err)
	}
	return b, nil
}

// MergeUsers merges account in.Remove into in.Keep, or previews the merge
// with in.DryRun.
func (c *Client) MergeUsers(ctx context.Context, tenant string, in apiv1.MergeRequest) (apiv1.MergePlan, error) {
	var out apiv1.MergePlan
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "users", "merge"}, nil, in, &out)
}

// ConvertUsers converts local accounts to SSO accounts.
func (c *Client) ConvertUsers(ctx context.Context, tenant string, in apiv1.ConvertRequest) (apiv1.ConvertReport, error) {
	var out apiv1.ConvertReport
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "users", "convert"}, nil, in, &out)
}

// ListTraces lists a tenant's refused SSO logins.
func (c *Client) ListTraces(ctx context.Context, tenant string, q apiv1.TraceQuery) (apiv1.TraceList, error) {
	var out apiv1.TraceList
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "traces"}, q, nil, &out)
}

// GetTrace returns a refused SSO login with its decoded SAML message.
func (c *Client) GetTrace(ctx context.Context, tenant string, id int64) (apiv1.Trace, error) {
	var out apiv1.Trace
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "traces", strconv.FormatInt(id, 10)}, nil, nil, &out)
}

// ListAuditEvents lists audit events matching q, newest first.
func (c *Client) ListAuditEvents(ctx context.Context, q apiv1.AuditQuery) (apiv1.AuditList, error) {
	var out apiv1.AuditList
	return out, c.call(ctx, http.MethodGet, []string{"audit"}, q, nil, &out)
}

// ListTokens lists the API tokens, never their secrets.
func (c *Client) ListTokens(ctx context.Context) (apiv1.TokenList, error) {
	var out apiv1.TokenList
	return out, c.call(ctx, http.MethodGet, []string{"tokens"}, nil, nil, &out)
}

// CreateToken creates an API token; the answer holds its secret, which
// cannot be shown again.
func (c *Client) CreateToken(ctx context.Context, in apiv1.TokenCreate) (apiv1.TokenCreated, error) {
	var out apiv1.TokenCreated
	return out, c.call(ctx, http.MethodPost, []string{"tokens"}, nil, in, &out)
}

// RevokeToken revokes an API token by name or ID.
func (c *Client) RevokeToken(ctx context.Context, token string) (apiv1.Token, error) {
	var out apiv1.Token
	return out, c.call(ctx, http.MethodDelete, []string{"tokens", token}, nil, nil, &out)
}

// ListRoutes lists the reverse proxy routes kept in the store.
func (c *Client) ListRoutes(ctx context.Context) (apiv1.RouteList, error) {
	var out apiv1.RouteList
	return out, c.call(ctx, http.MethodGet, []string{"routes"}, nil, nil, &out)
}

// PutRoute adds the reverse proxy route of that name, or replaces it.
func (c *Client) PutRoute(ctx context.Context, name string, in apiv1.RoutePut) (apiv1.Route, error) {
	var out apiv1.Route
	return out, c.call(ctx, http.MethodPut, []string{"routes", name}, nil, in, &out)
}

// DeleteRoute removes a reverse proxy route.
func (c *Client) DeleteRoute(ctx context.Context, name string) (apiv1.Deleted, error) {
	var out apiv1.Deleted
	return out, c.call(ctx, http.MethodDelete, []string{"routes", name}, nil, nil, &out)
}

// OpenAPIDocument returns the OpenAPI 3.1 document of the API; it needs no
// token.
func (c *Client) OpenAPIDocument(ctx context.Context) (json.RawMessage, error) {
	var out json.RawMessage
	return out, c.decode(ctx, request{method: http.MethodGet, path: []string{"openapi.json"}}, &out)
}

// GetLDAP returns the tenant's LDAP connection, sync state, precedence
// rules and newest runs.
func (c *Client) GetLDAP(ctx context.Context, tenant string) (apiv1.LDAPStatus, error) {
	var out apiv1.LDAPStatus
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "ldap"}, nil, nil, &out)
}

// SetLDAP changes the LDAP connection (the keys of "lanyard ldap set"):
// all of them or, when one is not valid, none.
func (c *Client) SetLDAP(ctx context.Context, tenant string, settings map[string]string) (apiv1.LDAPChange, error) {
	var out apiv1.LDAPChange
	return out, c.call(ctx, http.MethodPatch, []string{"tenants", tenant, "ldap"}, nil, apiv1.Settings{Settings: settings}, &out)
}

// TestLDAP connects, binds and maps five users as a sync would.
func (c *Client) TestLDAP(ctx context.Context, tenant string) (apiv1.LDAPTest, error) {
	var out apiv1.LDAPTest
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "ldap", "test"}, nil, nil, &out)
}

// SyncLDAP runs a directory sync now and returns its run.
func (c *Client) SyncLDAP(ctx context.Context, tenant string, q apiv1.LDAPSyncQuery) (apiv1.LDAPSyncRun, error) {
	var out apiv1.LDAPSyncRun
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "ldap", "sync"}, q, nil, &out)
}

// GetLDAPRun returns one directory sync run with its report.
func (c *Client) GetLDAPRun(ctx context.Context, tenant string, id int64) (apiv1.LDAPSyncRun, error) {
	var out apiv1.LDAPSyncRun
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "ldap", "runs", strconv.FormatInt(id, 10)}, nil, nil, &out)
}

// ListOIDCClients lists the OpenID Connect clients of the tenant's provider.
func (c *Client) ListOIDCClients(ctx context.Context, tenant string) (apiv1.OIDCClientList, error) {
	var out apiv1.OIDCClientList
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "oidc", "clients"}, nil, nil, &out)
}

// CreateOIDCClient registers an OpenID Connect client; the answer holds its
// secret, once.
func (c *Client) CreateOIDCClient(ctx context.Context, tenant string, in apiv1.OIDCClientCreate) (apiv1.OIDCClientCreated, error) {
	var out apiv1.OIDCClientCreated
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "oidc", "clients"}, nil, in, &out)
}

// GetOIDCClient returns an OpenID Connect client.
func (c *Client) GetOIDCClient(ctx context.Context, tenant, client string) (apiv1.OIDCClient, error) {
	var out apiv1.OIDCClient
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "oidc", "clients", client}, nil, nil, &out)
}

// SetOIDCClient changes settings of an OpenID Connect client: all of them
// or, when one is not valid, none.
func (c *Client) SetOIDCClient(ctx context.Context, tenant, client string, settings map[string]string) (apiv1.OIDCClient, error) {
	var out apiv1.OIDCClient
	return out, c.call(ctx, http.MethodPatch, []string{"tenants", tenant, "oidc", "clients", client}, nil, apiv1.Settings{Settings: settings}, &out)
}

// RotateOIDCClientSecret gives an OpenID Connect client a new secret.
func (c *Client) RotateOIDCClientSecret(ctx context.Context, tenant, client string) (apiv1.OIDCClientSecret, error) {
	var out apiv1.OIDCClientSecret
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "oidc", "clients", client, "secret"}, nil, nil, &out)
}

// DeleteOIDCClient removes an OpenID Connect client.
func (c *Client) DeleteOIDCClient(ctx context.Context, tenant, client string) (apiv1.Deleted, error) {
	var out apiv1.Deleted
	return out, c.call(ctx, http.MethodDelete, []string{"tenants", tenant, "oidc", "clients", client}, nil, nil, &out)
}
