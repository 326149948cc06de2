package web

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// certWarningWindow is how long before expiry a certificate is flagged.
const certWarningWindow = 30 * 24 * time.Hour

// certWarning says whether a certificate has expired or expires soon.
func certWarning(notAfter, now time.Time) string {
	switch {
	case !notAfter.After(now):
		return "expired"
	case notAfter.Sub(now) < certWarningWindow:
		return fmt.Sprintf("expires in %d days", int(notAfter.Sub(now).Hours()/24)+1)
	}
	return ""
}

func (s *Server) toAPIIdP(c lanyard.IdPConnection) apiIdP {
	out := apiIdP{ID: c.ID, EntityID: c.EntityID, SourceURL: c.SourceURL, RefreshedAt: optTime(c.RefreshedAt),
		RefreshError: c.RefreshError, LegacySHA1: c.LegacySHA1, Certificates: []apiCert{}}
	now := s.now()
	for _, cert := range admin.DescribeIdP(c).Certificates {
		out.Certificates = append(out.Certificates, apiCert{Subject: cert.Subject, NotAfter: cert.NotAfter, Warning: certWarning(cert.NotAfter, now)})
	}
	return out
}

// handleAPITenants lists the tenants.
func (s *Server) handleAPITenants() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		ts, err := s.admin.Tenants(r.Context())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"tenants": jsonList(ts, toAPITenant)}, nil
	})
}

// handleAPITenantCreate creates a tenant with its SP keys.
func (s *Server) handleAPITenantCreate() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		var body struct {
			Slug         string   `json:"slug"`
			DisplayName  string   `json:"display_name"`
			EmailDomains []string `json:"email_domains"`
		}
		if err := decodeJSON(nil, r, &body); err != nil {
			return 0, nil, err
		}
		t, err := s.admin.CreateTenant(r.Context(), apiActor(r.Context()), body.Slug, body.DisplayName, body.EmailDomains)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, toAPITenant(t), nil
	})
}

// handleAPITenant shows a tenant with its settings, SP endpoints and IdPs.
func (s *Server) handleAPITenant() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		info, err := s.admin.DescribeTenant(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return 0, nil, err
		}
		e := info.Endpoints
		return http.StatusOK, map[string]any{
			"tenant":    toAPITenant(info.Tenant),
			"endpoints": apiEndpoints{EntityID: e.EntityID, MetadataURL: e.MetadataURL, ACSURL: e.ACSURL, SLOURL: e.SLOURL, LoginURL: e.LoginURL},
			"idps":      jsonList(info.IdPs, s.toAPIIdP),
			"users":     info.Users,
		}, nil
	})
}

// handleAPITenantPatch changes tenant settings (SetTenant keys).
func (s *Server) handleAPITenantPatch() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		var body settingsBody
		if err := decodeJSON(nil, r, &body); err != nil {
			return 0, nil, err
		}
		t, changes, err := s.admin.SetTenant(r.Context(), apiActor(r.Context()), r.PathValue("tenant"), body.list())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"tenant": toAPITenant(t), "changes": orEmpty(changes)}, nil
	})
}

// handleAPIIdPs lists a tenant's IdP connections.
func (s *Server) handleAPIIdPs() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		cs, err := s.admin.IdPs(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"idps": jsonList(cs, s.toAPIIdP)}, nil
	})
}

// handleAPIIdPImport connects an IdP: the body is the metadata XML
// (application/samlmetadata+xml or any XML type), or JSON {"url": ...}.
func (s *Server) handleAPIIdPImport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		legacy, err := queryBool(r, "legacy_sha1")
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		src := admin.IdPSource{EntityID: q.Get("entity_id"), LegacySHA1: legacy}
		if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			var body struct {
				URL      string `json:"url"`
				EntityID string `json:"entity_id"`
			}
			if err := decodeJSON(w, r, &body); err != nil {
				s.writeAPIError(w, r, err)
				return
			}
			src.URL = body.URL
			if body.EntityID != "" {
				src.EntityID = body.EntityID
			}
		} else if src.Metadata, err = readUpload(w, r); err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		c, warnings, err := s.admin.ImportIdP(r.Context(), apiActor(r.Context()), r.PathValue("tenant"), src)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"idp": s.toAPIIdP(c), "warnings": orEmpty(warnings)})
	})
}

// handleAPIIdPDelete removes an IdP connection (?entity_id=...).
func (s *Server) handleAPIIdPDelete() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		id := r.URL.Query().Get("entity_id")
		if id == "" {
			return 0, nil, &lanyard.Error{Kind: lanyard.KindInvalid, Message: "give the IdP as ?entity_id=..."}
		}
		if err := s.admin.DeleteIdP(r.Context(), apiActor(r.Context()), r.PathValue("tenant"), id); err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"deleted": id}, nil
	})
}

// handleAPIUsers lists a tenant's users with filters.
func (s *Server) handleAPIUsers() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		q := r.URL.Query()
		limit, err := queryInt(r, "limit")
		if err != nil {
			return 0, nil, err
		}
		offset, err := queryInt(r, "offset")
		if err != nil {
			return 0, nil, err
		}
		users, err := s.admin.Users(r.Context(), r.PathValue("tenant"), lanyard.UserFilter{
			Query: q.Get("query"), Status: lanyard.UserStatus(q.Get("status")), Source: lanyard.UserSource(q.Get("source")),
			LoginMethod: lanyard.LoginMethod(q.Get("login_method")), Role: q.Get("role"), Limit: int(limit), Offset: int(offset),
		})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"users": jsonList(users, toAPIUser)}, nil
	})
}

// handleAPIUserCreate adds a user.
func (s *Server) handleAPIUserCreate() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		var body struct {
			Login       string   `json:"login"`
			Email       string   `json:"email"`
			FirstName   string   `json:"firstname"`
			LastName    string   `json:"lastname"`
			Status      string   `json:"status"`
			LoginMethod string   `json:"login_method"`
			WebAccess   *bool    `json:"web_access"`
			AutoLogin   bool     `json:"auto_login"`
			Roles       []string `json:"roles"`
		}
		if err := decodeJSON(nil, r, &body); err != nil {
			return 0, nil, err
		}
		u := lanyard.User{Login: body.Login, Email: body.Email, FirstName: body.FirstName, LastName: body.LastName,
			Status: lanyard.UserStatus(body.Status), LoginMethod: lanyard.LoginMethod(body.LoginMethod),
			WebAccess: body.WebAccess == nil || *body.WebAccess, AutoLogin: body.AutoLogin, Source: lanyard.SourceLocal}
		u.SetRoles(lanyard.RoleManual, body.Roles)
		u, err := s.admin.AddUser(r.Context(), apiActor(r.Context()), r.PathValue("tenant"), u)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, toAPIUser(u), nil
	})
}

// handleAPIUser shows a user with its IdP links and live sessions count.
func (s *Server) handleAPIUser() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		info, err := s.admin.DescribeUser(r.Context(), r.PathValue("tenant"), r.PathValue("login"))
		if err != nil {
			return 0, nil, err
		}
		links := []map[string]any{}
		for _, l := range info.Links {
			links = append(links, map[string]any{"idp_entity_id": l.IdPEntityID, "name_id": l.NameID, "created_at": l.CreatedAt})
		}
		return http.StatusOK, map[string]any{"user": toAPIUser(info.User), "links": links, "live_sessions": len(info.Sessions)}, nil
	})
}

// handleAPIUserPatch changes a user (SetUser keys).
func (s *Server) handleAPIUserPatch() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		var body settingsBody
		if err := decodeJSON(nil, r, &body); err != nil {
			return 0, nil, err
		}
		u, changes, err := s.admin.SetUser(r.Context(), apiActor(r.Context()), r.PathValue("tenant"), r.PathValue("login"), body.list())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"user": toAPIUser(u), "changes": orEmpty(changes)}, nil
	})
}

// handleAPIUserImport imports a CSV body (text/csv); ?dry_run=true
// reports what would change.
func (s *Server) handleAPIUserImport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dry, err := queryBool(r, "dry_run")
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		body, err := readUpload(w, r)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		rep, err := s.admin.ImportUsers(r.Context(), apiActor(r.Context()), r.PathValue("tenant"), bytes.NewReader(body), admin.ImportOptions{DryRun: dry})
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, importReportJSON(rep))
	})
}

// importReportJSON is the JSON shape of an import report.
func importReportJSON(rep admin.ImportReport) map[string]any {
	changes := []map[string]any{}
	for _, c := range rep.Changes {
		changes = append(changes, map[string]any{"line": c.Line, "login": c.Login, "action": c.Action, "changes": c.Changes})
	}
	return map[string]any{"dry_run": rep.DryRun, "rows": rep.Rows, "created": rep.Created, "updated": rep.Updated,
		"unchanged": rep.Unchanged, "changes": changes, "ignored_columns": orEmpty(rep.Ignored)}
}

// handleAPIUserExport answers the tenant's users as CSV.
func (s *Server) handleAPIUserExport() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := s.writeUsersCSV(w, r); err != nil {
			s.writeAPIError(w, r, err)
		}
	})
}

// mergeJSON is the JSON shape of a merge plan.
func mergeJSON(p admin.MergePlan, dry bool) map[string]any {
	links := []map[string]string{}
	for _, l := range p.Links {
		links = append(links, map[string]string{"idp_entity_id": l.IdPEntityID, "name_id": l.NameID})
	}
	return map[string]any{"dry_run": dry, "keep": toAPIUser(p.Keep), "remove": toAPIUser(p.Remove), "result": toAPIUser(p.Result),
		"links": links, "sessions": p.Sessions, "changes": orEmpty(p.Changes), "audit_events_moved": p.AuditEvents}
}

// handleAPIUserMerge merges {"remove"} into {"keep"}; "dry_run" previews.
func (s *Server) handleAPIUserMerge() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		var body struct {
			Keep   string `json:"keep"`
			Remove string `json:"remove"`
			DryRun bool   `json:"dry_run"`
		}
		if err := decodeJSON(nil, r, &body); err != nil {
			return 0, nil, err
		}
		var (
			plan admin.MergePlan
			err  error
		)
		if body.DryRun {
			plan, err = s.admin.PreviewMerge(r.Context(), r.PathValue("tenant"), body.Keep, body.Remove)
		} else {
			plan, err = s.admin.MergeUsers(r.Context(), apiActor(r.Context()), r.PathValue("tenant"), body.Keep, body.Remove)
		}
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, mergeJSON(plan, body.DryRun), nil
	})
}

// handleAPIUserConvert converts accounts to SSO accounts.
func (s *Server) handleAPIUserConvert() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		var body struct {
			Logins []string `json:"logins"`
			Domain string   `json:"domain"`
			DryRun bool     `json:"dry_run"`
		}
		if err := decodeJSON(nil, r, &body); err != nil {
			return 0, nil, err
		}
		results, err := s.admin.ConvertToSSO(r.Context(), apiActor(r.Context()), r.PathValue("tenant"), body.Logins, admin.ConvertOptions{Domain: body.Domain, DryRun: body.DryRun})
		if err != nil {
			return 0, nil, err
		}
		out := []map[string]any{}
		for _, c := range results {
			out = append(out, map[string]any{"login": c.Login, "new_login": c.NewLogin, "changes": orEmpty(c.Changes)})
		}
		return http.StatusOK, map[string]any{"dry_run": body.DryRun, "conversions": out}, nil
	})
}

// handleAPITraces lists a tenant's refused SSO logins.
func (s *Server) handleAPITraces() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		limit, before, err := queryPage(r)
		if err != nil {
			return 0, nil, err
		}
		traces, err := s.admin.LoginTraces(r.Context(), r.PathValue("tenant"), r.URL.Query().Get("reason"), limit, before)
		if err != nil {
			return 0, nil, err
		}
		out := jsonList(traces, func(t lanyard.LoginTrace) apiTrace { return toAPITrace(t, false) })
		return http.StatusOK, map[string]any{"traces": out}, nil
	})
}

// handleAPITrace shows one refused login with its decoded message.
func (s *Server) handleAPITrace() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		id, err := parseID(r.PathValue("id"))
		if err != nil {
			return 0, nil, err
		}
		t, err := s.admin.LoginTrace(r.Context(), r.PathValue("tenant"), id)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, toAPITrace(t, true), nil
	})
}

// handleAPIAudit lists audit events with filters.
func (s *Server) handleAPIAudit() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		q := r.URL.Query()
		limit, before, err := queryPage(r)
		if err != nil {
			return 0, nil, err
		}
		f := lanyard.AuditFilter{Action: q.Get("action"), Outcome: lanyard.Outcome(q.Get("outcome")), Reason: q.Get("reason"), Limit: limit, BeforeID: before}
		if v := q.Get("since"); v != "" {
			if f.Since, err = time.Parse(time.RFC3339, v); err != nil {
				return 0, nil, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("since=%q: give an RFC 3339 time such as 2026-11-01T00:00:00Z", v)}
			}
		}
		evs, err := s.admin.AuditLog(r.Context(), admin.AuditQuery{Tenant: q.Get("tenant"), User: q.Get("user"), Filter: f})
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"events": jsonList(evs, toAPIAuditEvent)}, nil
	})
}

// handleAPITokens lists the API tokens (never their secrets).
func (s *Server) handleAPITokens() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		toks, err := s.admin.APITokens(r.Context())
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, map[string]any{"tokens": jsonList(toks, toAPIToken)}, nil
	})
}

// handleAPITokenCreate creates a token; the secret is in the answer, once.
func (s *Server) handleAPITokenCreate() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		var body struct {
			Name           string   `json:"name"`
			Scopes         []string `json:"scopes"`
			ExpiresInHours int      `json:"expires_in_hours"`
		}
		if err := decodeJSON(nil, r, &body); err != nil {
			return 0, nil, err
		}
		tok, secret, err := s.admin.CreateAPIToken(r.Context(), apiActor(r.Context()), body.Name, body.Scopes, time.Duration(body.ExpiresInHours)*time.Hour)
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, map[string]any{"token": toAPIToken(tok), "secret": secret}, nil
	})
}

// handleAPITokenRevoke revokes a token by name or ID.
func (s *Server) handleAPITokenRevoke() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		tok, err := s.admin.RevokeAPIToken(r.Context(), apiActor(r.Context()), r.PathValue("token"))
		if err != nil {
			return 0, nil, err
		}
		return http.StatusOK, toAPIToken(tok), nil
	})
}

// parseID reads a positive record ID from a path.
func parseID(s string) (int64, error) {
	var id int64
	if _, err := fmt.Sscan(s, &id); err != nil || id <= 0 || fmt.Sprint(id) != s {
		return 0, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("%q is not an ID: give the number shown in the list", s)}
	}
	return id, nil
}

// orEmpty returns s, or an empty (not null) list.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
