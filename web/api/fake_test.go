package api

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// fakeAdmin stands in for *admin.Service: it records each call with its
// arguments and answers zero values. The tokens "reader" and "writer" hold
// the read and write scopes; any other is refused as admin.Service does.
type fakeAdmin struct {
	mu    sync.Mutex
	calls []string
	err   error // see failWith
}

func (f *fakeAdmin) record(method string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	parts := []string{method}
	for _, a := range args {
		parts = append(parts, fmt.Sprint(a))
	}
	f.calls = append(f.calls, strings.Join(parts, " "))
	return f.err
}

// failWith makes every service call but token checks fail with err (nil:
// succeed again).
func (f *fakeAdmin) failWith(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

// lastCall returns the last call recorded, "" for none, and forgets them.
func (f *fakeAdmin) lastCall() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	last := ""
	if len(f.calls) > 0 {
		last = f.calls[len(f.calls)-1]
	}
	f.calls = nil
	return last
}

// deps wires f as every service.
func (f *fakeAdmin) deps() Deps {
	return Deps{Tokens: f, Tenants: f, IdPs: f, Users: f, Traces: f, Audit: f, ProxyRoutes: f, Directories: fakeDirectories{f}, KeyLife: f, OIDCClients: f}
}

// fakeDirectories records the directory calls (its method names would
// clash with fakeAdmin's).
type fakeDirectories struct{ f *fakeAdmin }

func (d fakeDirectories) Status(_ context.Context, slug string, runs int) (ldapsync.Status, error) {
	return ldapsync.Status{}, d.f.record("LDAPStatus", slug, runs)
}

func (d fakeDirectories) Set(_ context.Context, actor, slug string, settings []string, _ func(string) ([]byte, error)) ([]string, error) {
	return nil, d.f.record("LDAPSet", actor, slug, settings)
}

func (d fakeDirectories) Test(_ context.Context, slug string) (ldapsync.TestResult, error) {
	return ldapsync.TestResult{}, d.f.record("LDAPTest", slug)
}

func (d fakeDirectories) Sync(_ context.Context, slug string, opt ldapsync.Options) (lanyard.LDAPSyncRun, error) {
	return lanyard.LDAPSyncRun{ID: 1}, d.f.record("LDAPSync", slug, opt.Kind, opt.DryRun, opt.Confirm, opt.Actor)
}

func (d fakeDirectories) Run(_ context.Context, slug string, id int64) (lanyard.LDAPSyncRun, error) {
	return lanyard.LDAPSyncRun{}, d.f.record("LDAPRun", slug, id)
}

func (f *fakeAdmin) AuthenticateAPIToken(_ context.Context, secret string) (lanyard.APIToken, lanyard.Principal, error) {
	switch secret {
	case "reader":
		return lanyard.APIToken{Name: "reader", Scopes: []string{lanyard.ScopeRead}}, lanyard.CLIPrincipal, nil
	case "writer":
		return lanyard.APIToken{Name: "writer", Scopes: []string{lanyard.ScopeWrite}}, lanyard.CLIPrincipal, nil
	}
	return lanyard.APIToken{}, lanyard.Principal{}, admin.ErrBadToken
}

func (f *fakeAdmin) Tenant(_ context.Context, slug string) (lanyard.Tenant, error) {
	return lanyard.Tenant{ID: 1, Slug: slug}, nil
}

func (f *fakeAdmin) APITokens(context.Context) ([]lanyard.APIToken, error) {
	return nil, f.record("APITokens")
}

func (f *fakeAdmin) CreateTenantAPIToken(_ context.Context, actor, tenant, name string, scopes []string, ttl time.Duration) (lanyard.APIToken, string, error) {
	return lanyard.APIToken{}, "", f.record("CreateTenantAPIToken", actor, tenant, name, scopes, ttl)
}

func (f *fakeAdmin) RevokeAPIToken(_ context.Context, actor, ref string) (lanyard.APIToken, error) {
	return lanyard.APIToken{}, f.record("RevokeAPIToken", actor, ref)
}

func (f *fakeAdmin) Tenants(context.Context) ([]lanyard.Tenant, error) {
	return nil, f.record("Tenants")
}

func (f *fakeAdmin) CreateTenant(_ context.Context, actor, slug, displayName string, emailDomains []string) (lanyard.Tenant, error) {
	return lanyard.Tenant{}, f.record("CreateTenant", actor, slug, displayName, emailDomains)
}

func (f *fakeAdmin) DescribeTenant(_ context.Context, slug string) (admin.TenantInfo, error) {
	return admin.TenantInfo{}, f.record("DescribeTenant", slug)
}

func (f *fakeAdmin) SetTenant(_ context.Context, actor, slug string, settings []string) (lanyard.Tenant, []string, error) {
	return lanyard.Tenant{}, nil, f.record("SetTenant", actor, slug, settings)
}

func (f *fakeAdmin) DeleteTenant(_ context.Context, actor, slug, confirm string) (admin.TenantDeletion, error) {
	return admin.TenantDeletion{Tenant: lanyard.Tenant{Slug: slug}}, f.record("DeleteTenant", actor, slug, confirm)
}

func (f *fakeAdmin) DeleteUser(_ context.Context, actor, tenantSlug, login string) (lanyard.User, error) {
	return lanyard.User{Login: login}, f.record("DeleteUser", actor, tenantSlug, login)
}

func (f *fakeAdmin) IdPs(_ context.Context, tenantSlug string) ([]lanyard.IdPConnection, error) {
	return nil, f.record("IdPs", tenantSlug)
}

func (f *fakeAdmin) IdP(_ context.Context, tenantSlug, entityID string) (lanyard.IdPConnection, error) {
	return lanyard.IdPConnection{EntityID: entityID}, f.record("IdP", tenantSlug, entityID)
}

func (f *fakeAdmin) ImportIdP(_ context.Context, actor, tenantSlug string, src admin.IdPSource) (lanyard.IdPConnection, []string, error) {
	return lanyard.IdPConnection{}, nil, f.record("ImportIdP", actor, tenantSlug, string(src.Metadata), src.URL, src.EntityID, src.LegacySHA1)
}

func (f *fakeAdmin) DeleteIdP(_ context.Context, actor, tenantSlug, entityID string) error {
	return f.record("DeleteIdP", actor, tenantSlug, entityID)
}

func (f *fakeAdmin) RefreshIdP(_ context.Context, actor string, c lanyard.IdPConnection) (admin.RefreshResult, error) {
	return admin.RefreshResult{}, f.record("RefreshIdP", actor, c.EntityID)
}

func (f *fakeAdmin) Users(_ context.Context, tenantSlug string, fl lanyard.UserFilter) ([]lanyard.User, error) {
	return nil, f.record("Users", tenantSlug, fl.Query, fl.Status, fl.Source, fl.LoginMethod, fl.Role, fl.Limit, fl.Offset)
}

func (f *fakeAdmin) AddUser(_ context.Context, actor, tenantSlug string, u lanyard.User) (lanyard.User, error) {
	return u, f.record("AddUser", actor, tenantSlug, u.Login, u.WebAccess, u.Source)
}

func (f *fakeAdmin) DescribeUser(_ context.Context, tenantSlug, login string) (admin.UserInfo, error) {
	return admin.UserInfo{}, f.record("DescribeUser", tenantSlug, login)
}

func (f *fakeAdmin) SetUser(_ context.Context, actor, tenantSlug, login string, settings []string) (lanyard.User, []string, error) {
	return lanyard.User{}, nil, f.record("SetUser", actor, tenantSlug, login, settings)
}

func (f *fakeAdmin) ImportUsers(_ context.Context, actor, tenantSlug string, r io.Reader, opts admin.ImportOptions) (admin.ImportReport, error) {
	b, _ := io.ReadAll(r)
	return admin.ImportReport{DryRun: opts.DryRun}, f.record("ImportUsers", actor, tenantSlug, string(b), opts.DryRun)
}

func (f *fakeAdmin) ExportUsers(_ context.Context, tenantSlug string, w io.Writer) (int, error) {
	if err := f.record("ExportUsers", tenantSlug); err != nil {
		return 0, err
	}
	_, _ = io.WriteString(w, "login\njdoe\n")
	return 1, nil
}

func (f *fakeAdmin) PreviewMerge(_ context.Context, tenantSlug, keepLogin, removeLogin string) (admin.MergePlan, error) {
	return admin.MergePlan{}, f.record("PreviewMerge", tenantSlug, keepLogin, removeLogin)
}

func (f *fakeAdmin) MergeUsers(_ context.Context, actor, tenantSlug, keepLogin, removeLogin string) (admin.MergePlan, error) {
	return admin.MergePlan{}, f.record("MergeUsers", actor, tenantSlug, keepLogin, removeLogin)
}

func (f *fakeAdmin) ConvertToSSO(_ context.Context, actor, tenantSlug string, logins []string, opts admin.ConvertOptions) ([]admin.Conversion, error) {
	return nil, f.record("ConvertToSSO", actor, tenantSlug, logins, opts.Domain, opts.DryRun)
}

func (f *fakeAdmin) LoginTraces(_ context.Context, tenantSlug, reason string, limit int, beforeID int64) ([]lanyard.LoginTrace, error) {
	return nil, f.record("LoginTraces", tenantSlug, reason, limit, beforeID)
}

func (f *fakeAdmin) LoginTrace(_ context.Context, tenantSlug string, id int64) (lanyard.LoginTrace, error) {
	return lanyard.LoginTrace{ID: id}, f.record("LoginTrace", tenantSlug, id)
}

func (f *fakeAdmin) AuditLog(_ context.Context, q admin.AuditQuery) ([]lanyard.AuditEvent, error) {
	return nil, f.record("AuditLog", q.Tenant, q.User, q.Filter.Action, q.Filter.Outcome, q.Filter.Since.Format(time.RFC3339), q.Filter.Limit, q.Filter.BeforeID)
}

func (f *fakeAdmin) ProxyRoutes(context.Context) ([]lanyard.ProxyRoute, error) {
	return nil, f.record("ProxyRoutes")
}

func (f *fakeAdmin) PutProxyRoute(_ context.Context, actor string, r lanyard.ProxyRoute) (lanyard.ProxyRoute, error) {
	return r, f.record("PutProxyRoute", actor, r.Name, r.Upstream, r.BearerToken)
}

func (f *fakeAdmin) DeleteProxyRoute(_ context.Context, actor, name string) error {
	return f.record("DeleteProxyRoute", actor, name)
}

func (f *fakeAdmin) OIDCClients(_ context.Context, tenantSlug string) ([]lanyard.OIDCClient, error) {
	return nil, f.record("OIDCClients", tenantSlug)
}

func (f *fakeAdmin) OIDCClient(_ context.Context, tenantSlug, clientID string) (lanyard.OIDCClient, error) {
	return lanyard.OIDCClient{ClientID: clientID}, f.record("OIDCClient", tenantSlug, clientID)
}

func (f *fakeAdmin) CreateOIDCClient(_ context.Context, actor, tenantSlug, clientID string, settings []string) (lanyard.OIDCClient, string, error) {
	return lanyard.OIDCClient{ClientID: clientID}, "lyc_secret", f.record("CreateOIDCClient", actor, tenantSlug, clientID, settings)
}

func (f *fakeAdmin) SetOIDCClient(_ context.Context, actor, tenantSlug, clientID string, settings []string) (lanyard.OIDCClient, error) {
	return lanyard.OIDCClient{ClientID: clientID}, f.record("SetOIDCClient", actor, tenantSlug, clientID, settings)
}

func (f *fakeAdmin) RotateOIDCClientSecret(_ context.Context, actor, tenantSlug, clientID string) (string, error) {
	return "lyc_new", f.record("RotateOIDCClientSecret", actor, tenantSlug, clientID)
}

func (f *fakeAdmin) DeleteOIDCClient(_ context.Context, actor, tenantSlug, clientID string) error {
	return f.record("DeleteOIDCClient", actor, tenantSlug, clientID)
}
