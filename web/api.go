package web

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// The JSON admin API (/api/v1/) is the third face of package admin, beside
// the CLI and the admin UI: every handler here parses the request, calls one
// admin.Service method with the token as the actor, and writes JSON. Every
// route is in routes.go and in the OpenAPI document (api_openapi.json).

// maxAPIBody bounds a JSON request body; maxAPIUpload a CSV or metadata
// upload.
const (
	maxAPIBody   = 1 << 20
	maxAPIUpload = 64 << 20
)

type apiTokenKey struct{}

// apiError is the body of every API error.
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
}

// errAPIDisabled answers when the server runs without the admin service.
var errAPIDisabled = &lanyard.Error{Kind: lanyard.KindUnavailable, Message: "the admin API is not available on this server"}

// requireAPIToken lets through calls with a live bearer token holding
// scope; the token is then in the context (apiActor names it).
func (s *Server) requireAPIToken(scope string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.admin == nil {
			s.writeAPIError(w, r, errAPIDisabled)
			return
		}
		secret, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lanyard"`)
			s.writeAPIError(w, r, &lanyard.Error{Kind: lanyard.KindUnauthorized,
				Message: "send an API token as \"Authorization: Bearer <token>\"; an administrator creates one with: lanyard token create NAME --scopes read,write"})
			return
		}
		tok, err := s.admin.AuthenticateAPIToken(r.Context(), secret)
		if err != nil {
			if lanyard.ErrorKind(err) == lanyard.KindUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="lanyard", error="invalid_token"`)
			}
			s.writeAPIError(w, r, err)
			return
		}
		if !tok.Allows(scope) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="lanyard", error="insufficient_scope", scope=%q`, scope))
			s.writeAPIError(w, r, &lanyard.Error{Kind: lanyard.KindForbidden,
				Message: fmt.Sprintf("the API token %q does not hold the %s scope this call needs; create a token with --scopes %s", tok.Name, scope, scope)})
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), apiTokenKey{}, tok)))
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// apiActor is the audit actor of an API call: "api:" and the token name.
func apiActor(ctx context.Context) string {
	tok, _ := ctx.Value(apiTokenKey{}).(lanyard.APIToken)
	return "api:" + tok.Name
}

// apiRead and apiWrite wrap a handler for a GET call and a changing call.
func (s *Server) apiRead(h http.Handler) http.Handler { return s.requireAPIToken(lanyard.ScopeRead, h) }
func (s *Server) apiWrite(h http.Handler) http.Handler {
	return s.requireAPIToken(lanyard.ScopeWrite, h)
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeAPIError answers with the status of err's kind (the table of
// errors.go) and its user-safe message.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	kind := lanyard.ErrorKind(err)
	page, ok := errorPages[kind]
	if !ok {
		kind, page = lanyard.KindInternal, errorPages[lanyard.KindInternal]
	}
	msg := page.fallback
	if kind != lanyard.KindInternal {
		if m := lanyard.ErrorMessage(err); m != lanyard.ErrNotFound.Message && m != lanyard.ErrConflict.Message {
			msg = m
		}
		s.logger.Info("API call refused", "method", r.Method, "path", r.URL.Path, "kind", kind.String(), "err", err)
	} else {
		s.logger.Error("API call failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, page.status, apiError{Error: apiErrorBody{Kind: strings.ReplaceAll(kind.String(), " ", "_"), Message: msg}})
}

// decodeJSON reads a JSON request body into v, refusing unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("send the body as application/json, not %s", mt)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &lanyard.Error{Kind: lanyard.KindInvalid, Message: "the JSON body could not be read: " + err.Error(), Err: err}
	}
	return nil
}

// apiHandler adapts a function returning (status, body, error) to a handler.
func (s *Server) apiHandler(fn func(r *http.Request) (int, any, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		status, body, err := fn(r)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		writeJSON(w, status, body)
	})
}

// JSON shapes of the API. Field names are snake_case; times RFC 3339 UTC.

type apiUser struct {
	ID          int64      `json:"id"`
	Login       string     `json:"login"`
	Email       string     `json:"email"`
	FirstName   string     `json:"firstname"`
	LastName    string     `json:"lastname"`
	Status      string     `json:"status"`
	Locked      bool       `json:"locked"`
	LoginMethod string     `json:"login_method"`
	WebAccess   bool       `json:"web_access"`
	AutoLogin   bool       `json:"auto_login"`
	Source      string     `json:"source"`
	IdPSourced  bool       `json:"idp_sourced"`
	Roles       []apiRole  `json:"roles"`
	HasPassword bool       `json:"has_password"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastLoginAt *time.Time `json:"last_login_at"`
}

type apiRole struct {
	Role   string `json:"role"`
	Source string `json:"source"`
}

func toAPIUser(u lanyard.User) apiUser {
	out := apiUser{ID: u.ID, Login: u.Login, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Status: string(u.Status), Locked: u.Locked, LoginMethod: string(u.LoginMethod), WebAccess: u.WebAccess,
		AutoLogin: u.AutoLogin, Source: string(u.Source), IdPSourced: u.IdPSourced, Roles: []apiRole{},
		HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: optTime(u.LastLoginAt)}
	for _, g := range u.Roles {
		out.Roles = append(out.Roles, apiRole{Role: g.Role, Source: string(g.Source)})
	}
	return out
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type apiTenant struct {
	ID           int64             `json:"id"`
	Slug         string            `json:"slug"`
	DisplayName  string            `json:"display_name"`
	EmailDomains []string          `json:"email_domains"`
	SSOEnabled   bool              `json:"sso_enabled"`
	Settings     map[string]string `json:"settings"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

func toAPITenant(t lanyard.Tenant) apiTenant {
	out := apiTenant{ID: t.ID, Slug: t.Slug, DisplayName: t.DisplayName, EmailDomains: append([]string{}, t.EmailDomains...),
		SSOEnabled: t.SSO.Enabled, Settings: map[string]string{}, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	for _, kv := range admin.TenantSettingValues(t) {
		out.Settings[kv.Key] = kv.Value
	}
	return out
}

type apiEndpoints struct {
	EntityID    string `json:"entity_id"`
	MetadataURL string `json:"metadata_url"`
	ACSURL      string `json:"acs_url"`
	SLOURL      string `json:"slo_url"`
	LoginURL    string `json:"login_url"`
}

type apiIdP struct {
	ID           int64      `json:"id"`
	EntityID     string     `json:"entity_id"`
	SourceURL    string     `json:"source_url,omitempty"`
	RefreshedAt  *time.Time `json:"refreshed_at"`
	RefreshError string     `json:"refresh_error,omitempty"`
	LegacySHA1   bool       `json:"legacy_sha1"`
	Certificates []apiCert  `json:"certificates"`
}

type apiCert struct {
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
	Warning  string    `json:"warning,omitempty"`
}

type apiToken struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func toAPIToken(t lanyard.APIToken) apiToken {
	return apiToken{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: t.Scopes, CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt,
		ExpiresAt: optTime(t.ExpiresAt), LastUsedAt: optTime(t.LastUsedAt), RevokedAt: optTime(t.RevokedAt)}
}

type apiTrace struct {
	ID               int64     `json:"id"`
	Time             time.Time `json:"time"`
	IdPEntityID      string    `json:"idp_entity_id"`
	Subject          string    `json:"subject"`
	Reason           string    `json:"reason"`
	Message          string    `json:"message"`
	Hint             string    `json:"hint"`
	ClockSkewSeconds float64   `json:"clock_skew_seconds"`
	ClientIP         string    `json:"client_ip"`
	Document         string    `json:"document,omitempty"`
}

func toAPITrace(t lanyard.LoginTrace, withDocument bool) apiTrace {
	out := apiTrace{ID: t.ID, Time: t.Time, IdPEntityID: t.IdPEntityID, Subject: t.Subject, Reason: t.Reason, Message: t.Message,
		Hint: t.Hint, ClockSkewSeconds: t.ClockSkew.Seconds(), ClientIP: t.ClientIP}
	if withDocument {
		out.Document = t.Document
	}
	return out
}

type apiAuditEvent struct {
	ID       int64             `json:"id"`
	Time     time.Time         `json:"time"`
	TenantID int64             `json:"tenant_id"`
	Actor    string            `json:"actor"`
	Action   string            `json:"action"`
	Outcome  string            `json:"outcome"`
	Reason   string            `json:"reason,omitempty"`
	UserID   int64             `json:"user_id,omitempty"`
	Subject  string            `json:"subject,omitempty"`
	ClientIP string            `json:"client_ip,omitempty"`
	Message  string            `json:"message"`
	Detail   map[string]string `json:"detail,omitempty"`
}

func toAPIAuditEvent(e lanyard.AuditEvent) apiAuditEvent {
	return apiAuditEvent{ID: e.ID, Time: e.Time, TenantID: e.TenantID, Actor: e.Actor, Action: e.Action, Outcome: string(e.Outcome),
		Reason: e.Reason, UserID: e.UserID, Subject: e.Subject, ClientIP: e.ClientIP, Message: e.Message, Detail: e.Detail}
}

// jsonList converts each element of in with f. The list is never nil, so
// that an empty one is [] in JSON, not null.
func jsonList[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

// settingsBody is the body of the PATCH calls: settings as SetTenant and
// SetUser take them, as an object of key to value.
type settingsBody struct {
	Settings map[string]string `json:"settings"`
}

func (b settingsBody) list() []string {
	out := make([]string, 0, len(b.Settings))
	for k, v := range b.Settings {
		out = append(out, k+"="+v)
	}
	return out
}

// queryInt reads an optional integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("query parameter %s=%q: give a whole number", name, v)}
	}
	return n, nil
}

// queryPage reads the optional paging parameters of a list that pages by
// ID: limit, and before (the ID the page ends before).
func queryPage(r *http.Request) (limit int, before int64, err error) {
	n, err := queryInt(r, "limit")
	if err != nil {
		return 0, 0, err
	}
	before, err = queryInt(r, "before")
	if err != nil {
		return 0, 0, err
	}
	return int(n), before, nil
}

// queryBool reads an optional boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("query parameter %s=%q: use true or false", name, v)}
	}
	return b, nil
}

// readUpload reads a request body of at most maxAPIUpload bytes.
func readUpload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIUpload))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("the body is larger than %d MiB", maxAPIUpload>>20), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("web: read request body: %w", err)
	}
	return b, nil
}

// etagOf is a strong ETag of a document.
func etagOf(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf(`"%x"`, sum[:8])
}

// handleAPINotFound answers calls outside the API's routes in JSON.
func (s *Server) handleAPINotFound() http.Handler {
	return s.apiHandler(func(r *http.Request) (int, any, error) {
		return 0, nil, &lanyard.Error{Kind: lanyard.KindNotFound, Message: "no such API call (or not with this method); the calls are listed in /api/v1/openapi.json"}
	})
}
