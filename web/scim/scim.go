// Package scim is the SCIM 2.0 face (RFC 7643, RFC 7644): the provisioning
// service of a tenant under /t/{tenant}/scim/v2/, where an identity
// provider (Okta, Entra ID...) creates, updates and deactivates accounts and
// pushes groups, which map to roles. Clients authenticate with a bearer
// token of scope scim, which belongs to one tenant and allows nothing else.
package scim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Schema and message URNs (RFC 7643 section 8.7, RFC 7644 section 3).
const (
	SchemaUser       = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup      = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaEnterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	schemaSPConfig   = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	schemaResType    = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	schemaSchema     = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	msgList          = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	msgError         = "urn:ietf:params:scim:api:messages:2.0:Error"
	msgPatch         = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// contentType is the media type of SCIM messages (RFC 7644 section 3.1).
const contentType = "application/scim+json"

// Paging bounds: a page holds DefaultCount resources unless the client
// asks for fewer, and never more than MaxCount.
const (
	DefaultCount = 100
	MaxCount     = 500
	// maxBody bounds a request body: a group PATCH adding some thousand
	// members fits.
	maxBody = 4 << 20
	// maxOperations bounds the operations of one PATCH.
	maxOperations = 1000
)

// TokenAuthenticator checks bearer tokens (the admin service).
type TokenAuthenticator interface {
	// AuthenticateAPIToken returns the live token with the secret, with
	// what it may do now. Unknown, revoked and expired tokens are a
	// KindUnauthorized error.
	AuthenticateAPIToken(ctx context.Context, secret string) (lanyard.APIToken, lanyard.Principal, error)
}

// Metrics counts SCIM operations.
type Metrics interface {
	// SCIMOperation counts one operation (e.g. "user.create") answered
	// with the HTTP status.
	SCIMOperation(op string, status int)
}

// Deps is what the SCIM face needs. Provisioning writes an account, its
// profile, its groups' roles, its sessions and the audit trail in one
// transaction, so it takes the whole store.
type Deps struct {
	Logger *slog.Logger
	Now    func() time.Time
	Store  lanyard.Store
	Tokens TokenAuthenticator // nil: the service answers 503
	// Metrics may be nil.
	Metrics Metrics
	// ClientAddress names the client, for the audit trail; may be nil.
	ClientAddress func(*http.Request) string
	// Ready wraps the endpoints that need a migrated database.
	Ready func(http.Handler) http.Handler
	// BaseOrigin is Lanyard's external origin (scheme://host[:port]) for
	// the locations of resources; empty: the request's host.
	BaseOrigin string
}

// Prefix is where a tenant's service lives; {tenant} is its slug.
const Prefix = "/t/{tenant}/scim/v2"

// Routes registers the SCIM endpoints.
func Routes(mux *http.ServeMux, deps Deps) {
	d := &deps
	if d.Ready == nil {
		d.Ready = func(h http.Handler) http.Handler { return h }
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	handle := func(pattern, op string, h handlerFunc) {
		mux.Handle(pattern, d.Ready(d.serve(op, h)))
	}
	handle("GET "+Prefix+"/ServiceProviderConfig", "config", handleSPConfig)
	handle("GET "+Prefix+"/ResourceTypes", "resource_types", handleResourceTypes)
	handle("GET "+Prefix+"/ResourceTypes/{id}", "resource_types", handleResourceType)
	handle("GET "+Prefix+"/Schemas", "schemas", handleSchemas)
	handle("GET "+Prefix+"/Schemas/{id}", "schemas", handleSchema)
	handle("GET "+Prefix+"/Users", "user.list", handleUserList)
	handle("POST "+Prefix+"/Users/.search", "user.search", handleUserSearch)
	handle("POST "+Prefix+"/Users", "user.create", handleUserCreate)
	handle("GET "+Prefix+"/Users/{id}", "user.get", handleUserGet)
	handle("PUT "+Prefix+"/Users/{id}", "user.replace", handleUserReplace)
	handle("PATCH "+Prefix+"/Users/{id}", "user.patch", handleUserPatch)
	handle("DELETE "+Prefix+"/Users/{id}", "user.delete", handleUserDelete)
	handle("GET "+Prefix+"/Groups", "group.list", handleGroupList)
	handle("POST "+Prefix+"/Groups/.search", "group.search", handleGroupSearch)
	handle("POST "+Prefix+"/Groups", "group.create", handleGroupCreate)
	handle("GET "+Prefix+"/Groups/{id}", "group.get", handleGroupGet)
	handle("PUT "+Prefix+"/Groups/{id}", "group.replace", handleGroupReplace)
	handle("PATCH "+Prefix+"/Groups/{id}", "group.patch", handleGroupPatch)
	handle("DELETE "+Prefix+"/Groups/{id}", "group.delete", handleGroupDelete)
	handle(Prefix+"/", "unknown", func(*request) (int, any, error) {
		return 0, nil, scimErr(http.StatusNotFound, "", "no such SCIM endpoint; the service offers ServiceProviderConfig, ResourceTypes, Schemas, Users and Groups")
	})
}

// request is one authenticated call.
type request struct {
	*Deps
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	tenant lanyard.Tenant
	token  lanyard.APIToken
	base   string // the service's absolute URL, for meta.location
	// noDerived leaves out of a rendered User what is derived rather
	// than stored (see patchBase).
	noDerived bool
}

// actor names the token in the audit trail.
func (q *request) actor() string { return "scim:" + q.token.Name }

type handlerFunc func(q *request) (status int, body any, err error)

// Error is a SCIM error answer (RFC 7644 section 3.12).
type Error struct {
	Status   int
	SCIMType string
	Detail   string
}

func (e *Error) Error() string { return e.Detail }

func scimErr(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, SCIMType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// errBadToken is the one answer to a missing, unknown, revoked, expired
// or misplaced token: it tells a prober nothing about tenants or tokens.
var errBadToken = scimErr(http.StatusUnauthorized, "", "send a live SCIM token of this tenant as \"Authorization: Bearer <token>\"; an administrator creates one with: lanyard token create NAME --scopes scim --tenant SLUG")

// serve authenticates the call, runs h and writes its answer.
func (d *Deps) serve(op string, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := &request{Deps: d, w: w, r: r, ctx: r.Context()}
		status, body, err := q.authenticate()
		if err == nil {
			status, body, err = h(q)
		}
		if err != nil {
			status = d.writeError(w, r, err)
		} else {
			writeJSON(w, status, body)
		}
		if d.Metrics != nil {
			d.Metrics.SCIMOperation(op, status)
		}
	})
}

// authenticate finds the tenant and checks the bearer token: live, of
// scope scim, of this tenant, and still backed by its creator's rights.
func (q *request) authenticate() (int, any, error) {
	if q.Tokens == nil {
		return 0, nil, scimErr(http.StatusServiceUnavailable, "", "the SCIM service is not available on this server")
	}
	scheme, secret, ok := strings.Cut(q.r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		q.w.Header().Set("WWW-Authenticate", `Bearer realm="lanyard-scim"`)
		return 0, nil, errBadToken
	}
	tok, principal, err := q.Tokens.AuthenticateAPIToken(q.ctx, secret)
	if err != nil {
		if lanyard.ErrorKind(err) == lanyard.KindUnauthorized {
			q.w.Header().Set("WWW-Authenticate", `Bearer realm="lanyard-scim", error="invalid_token"`)
			return 0, nil, errBadToken
		}
		return 0, nil, err
	}
	t, err := q.Store.Tenant(q.ctx, q.r.PathValue("tenant"))
	if err != nil && !errors.Is(err, lanyard.ErrNotFound) {
		return 0, nil, err
	}
	// A token of another tenant, or of the API, gets the same answer as
	// an unknown one.
	if err != nil || !slices.Equal(tok.Scopes, []string{lanyard.ScopeSCIM}) || tok.TenantID != t.ID ||
		lanyard.Authorize(principal, lanyard.AccessTenant, t.ID) != nil {
		q.Logger.WarnContext(q.ctx, "SCIM call refused: the token is not a SCIM token of this tenant",
			"token", tok.Name, "token_tenant_id", tok.TenantID, "tenant", q.r.PathValue("tenant"))
		q.w.Header().Set("WWW-Authenticate", `Bearer realm="lanyard-scim", error="invalid_token"`)
		return 0, nil, errBadToken
	}
	q.tenant, q.token = t, tok
	q.ctx = lanyard.WithPrincipal(q.ctx, principal)
	origin := q.BaseOrigin
	if origin == "" {
		origin = "http://" + q.r.Host
		if q.r.TLS != nil {
			origin = "https://" + q.r.Host
		}
	}
	q.base = origin + "/t/" + t.Slug + "/scim/v2"
	return 0, nil, nil
}

// writeError writes err as a SCIM error and returns the status.
func (d *Deps) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	var se *Error
	if !errors.As(err, &se) {
		se = &Error{Status: http.StatusInternalServerError, Detail: "the request could not be completed; the server log says why"}
		switch lanyard.ErrorKind(err) {
		case lanyard.KindInvalid:
			se = &Error{Status: http.StatusBadRequest, SCIMType: "invalidValue", Detail: lanyard.ErrorMessage(err)}
		case lanyard.KindConflict:
			se = &Error{Status: http.StatusConflict, SCIMType: "uniqueness", Detail: lanyard.ErrorMessage(err)}
		case lanyard.KindNotFound:
			se = &Error{Status: http.StatusNotFound, Detail: lanyard.ErrorMessage(err)}
		case lanyard.KindUnavailable:
			se = &Error{Status: http.StatusServiceUnavailable, Detail: "the service is unavailable; try again later"}
		default:
			d.Logger.ErrorContext(r.Context(), "SCIM call failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
	}
	body := map[string]any{"schemas": []string{msgError}, "status": strconv.Itoa(se.Status), "detail": se.Detail}
	if se.SCIMType != "" {
		body["scimType"] = se.SCIMType
	}
	writeJSON(w, se.Status, body)
	return se.Status
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	if status == http.StatusNoContent || status == http.StatusNotModified {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(body)
}

// readBody decodes the JSON object of the request body.
func (q *request) readBody() (map[string]any, error) {
	if ct := q.r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != contentType && mt != "application/json") {
			return nil, scimErr(http.StatusUnsupportedMediaType, "", "send the body as %s (or application/json), not %q", contentType, ct)
		}
	}
	data, err := io.ReadAll(io.LimitReader(q.r.Body, maxBody+1))
	if err != nil {
		return nil, scimErr(http.StatusBadRequest, "invalidSyntax", "the body could not be read: %v", err)
	}
	if len(data) > maxBody {
		return nil, scimErr(http.StatusRequestEntityTooLarge, "tooLarge", "the body is larger than %d bytes", maxBody)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil || doc == nil {
		return nil, scimErr(http.StatusBadRequest, "invalidSyntax", "the body is not a JSON object: %v", err)
	}
	if dec.More() {
		return nil, scimErr(http.StatusBadRequest, "invalidSyntax", "the body holds more than one JSON value")
	}
	return doc, nil
}

// audit records one change made by the token, in tx.
func (q *request) audit(ctx context.Context, tx lanyard.Store, action string, userID int64, subject, format string, args ...any) error {
	ip := ""
	if q.ClientAddress != nil {
		ip = q.ClientAddress(q.r)
	}
	return tx.AppendAudit(ctx, &lanyard.AuditEvent{
		Time: q.Now().UTC(), TenantID: q.tenant.ID, Actor: q.actor(), Action: action, Outcome: lanyard.OutcomeSuccess,
		UserID: userID, Subject: subject, ClientIP: ip, Message: fmt.Sprintf(format, args...),
		Detail: map[string]string{"token": q.token.Name, "token_id": strconv.FormatInt(q.token.ID, 10)},
	})
}

// page reads startIndex and count (RFC 7644 section 3.4.2.4): startIndex
// below 1 is 1, count below 0 is 0, above MaxCount is MaxCount.
func page(v map[string]string) (lanyard.SCIMPage, int, error) {
	start, count := 1, DefaultCount
	if s := v["startIndex"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return lanyard.SCIMPage{}, 0, scimErr(http.StatusBadRequest, "invalidValue", "startIndex %q: give a whole number", s)
		}
		start = max(n, 1)
	}
	if s := v["count"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return lanyard.SCIMPage{}, 0, scimErr(http.StatusBadRequest, "invalidValue", "count %q: give a whole number", s)
		}
		count = min(max(n, 0), MaxCount)
	}
	return lanyard.SCIMPage{Offset: start - 1, Limit: count}, start, nil
}

// listResponse is the answer of a list (RFC 7644 section 3.4.2).
func listResponse(total, start int, resources []any) map[string]any {
	if resources == nil {
		resources = []any{}
	}
	return map[string]any{
		"schemas": []string{msgList}, "totalResults": total, "startIndex": start,
		"itemsPerPage": len(resources), "Resources": resources,
	}
}

// queryParams reads the list parameters of a GET (case-insensitively) or
// of a POST .search body.
func queryParams(r *http.Request) map[string]string {
	out := map[string]string{}
	for k, v := range r.URL.Query() {
		for _, name := range []string{"filter", "startIndex", "count", "attributes", "excludedAttributes", "sortBy", "sortOrder"} {
			if strings.EqualFold(k, name) && len(v) > 0 {
				out[name] = v[0]
			}
		}
	}
	return out
}

func searchParams(doc map[string]any) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range doc {
		for _, name := range []string{"filter", "startIndex", "count", "sortBy", "sortOrder"} {
			if strings.EqualFold(k, name) {
				out[name] = fmt.Sprint(v)
			}
		}
		for _, name := range []string{"attributes", "excludedAttributes"} {
			if strings.EqualFold(k, name) {
				if list, ok := v.([]any); ok {
					var s []string
					for _, x := range list {
						s = append(s, fmt.Sprint(x))
					}
					out[name] = strings.Join(s, ",")
				}
			}
		}
	}
	return out, nil
}

// projection applies attributes / excludedAttributes (RFC 7644 section
// 3.9) to a resource's top-level attributes; id, schemas and meta stay.
func projection(res map[string]any, params map[string]string) map[string]any {
	split := func(s string) []string {
		var out []string
		for _, a := range strings.Split(s, ",") {
			if a = strings.TrimSpace(a); a != "" {
				a, _, _ = strings.Cut(a, ".")
				out = append(out, strings.ToLower(a))
			}
		}
		return out
	}
	keep := func(k string) bool { return k == "id" || k == "schemas" || k == "meta" }
	if attrs := split(params["attributes"]); len(attrs) > 0 {
		for k := range res {
			if !keep(k) && !slices.Contains(attrs, strings.ToLower(k)) {
				delete(res, k)
			}
		}
	}
	for _, x := range split(params["excludedAttributes"]) {
		for k := range res {
			if !keep(k) && strings.ToLower(k) == x {
				delete(res, k)
			}
		}
	}
	return res
}

// checkIfMatch answers 412 when the request's If-Match names another
// version than current (RFC 7644 section 3.14).
func (q *request) checkIfMatch(current string) error {
	h := q.r.Header.Get("If-Match")
	if h == "" || strings.TrimSpace(h) == "*" {
		return nil
	}
	for _, v := range strings.Split(h, ",") {
		if strings.TrimSpace(v) == current {
			return nil
		}
	}
	return scimErr(http.StatusPreconditionFailed, "", "the resource changed: its version is %s, the request's If-Match names %s; read it again", current, h)
}

// notModified reports whether If-None-Match names the current version.
func (q *request) notModified(current string) bool {
	for _, v := range strings.Split(q.r.Header.Get("If-None-Match"), ",") {
		if strings.TrimSpace(v) == current {
			return true
		}
	}
	return false
}

// resourceID parses the {id} of the path; an ID Lanyard never gives out
// is simply not found.
func resourceID(q *request, kind string) (int64, error) {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, scimErr(http.StatusNotFound, "", "%s %q not found", kind, q.r.PathValue("id"))
	}
	return id, nil
}
