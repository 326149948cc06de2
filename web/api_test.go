package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/apiclient"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// apiCaller is a client of the API with one token, and the last answer it
// got, whose status and body the tests check beside the typed result.
type apiCaller struct {
	*apiclient.Client
	last *lastAnswer
}

// lastAnswer is a transport that keeps the status and body of the last
// answer.
type lastAnswer struct {
	base   http.RoundTripper
	mu     sync.Mutex
	status int
	raw    string
}

func (l *lastAnswer) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	l.mu.Lock()
	defer l.mu.Unlock()
	l.status, l.raw = resp.StatusCode, string(b)
	return resp, nil
}

func (l *lastAnswer) get() (int, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.status, l.raw
}

// apiClient returns a client of the test server sending token.
func (e *env) apiClient(token string) apiCaller {
	e.t.Helper()
	last := &lastAnswer{base: e.http.Client().Transport}
	c, err := apiclient.New(e.http.URL, token, apiclient.WithHTTPClient(&http.Client{Transport: last, Timeout: 30 * time.Second}))
	if err != nil {
		e.t.Fatal(err)
	}
	return apiCaller{Client: c, last: last}
}

// check fails the test unless the last call of c answered want: an error
// answer is then an *apiclient.Error of that status, a success no error.
// It returns the answer's body.
func (c apiCaller) check(t *testing.T, what string, err error, want int) string {
	t.Helper()
	status, raw := c.last.get()
	if status != want {
		t.Fatalf("%s: status %d, want %d (%v)\n%s", what, status, want, err, raw)
	}
	var apiErr *apiclient.Error
	switch {
	case want/100 == 2 && err != nil:
		t.Fatalf("%s: %v", what, err)
	case want/100 != 2 && (!errors.As(err, &apiErr) || apiErr.Status != want):
		t.Fatalf("%s: error %v, want an *apiclient.Error of status %d", what, err, want)
	}
	return raw
}

// isStatus reports whether err is an API error answer of the status.
func isStatus(err error, status int) bool {
	var apiErr *apiclient.Error
	return errors.As(err, &apiErr) && apiErr.Status == status
}

// message is the message of an API error answer.
func message(err error) string {
	var apiErr *apiclient.Error
	if errors.As(err, &apiErr) {
		return apiErr.Message
	}
	return ""
}

func TestAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		ctx := t.Context()
		_, writerToken, err := e.admin.CreateAPIToken(ctx, "root", "provisioning", []string{"write"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, readerToken, err := e.admin.CreateAPIToken(ctx, "root", "dashboards", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		writer, reader := e.apiClient(writerToken), e.apiClient(readerToken)

		// Authentication and scopes.
		anonymous := e.apiClient("")
		_, err = anonymous.ListTenants(ctx)
		raw := anonymous.check(t, "no token", err, http.StatusUnauthorized)
		if !apiclient.IsKind(err, apiv1.KindUnauthorized) {
			t.Errorf("error body: %s", raw)
		}
		forged := e.apiClient("lyd_forged")
		_, err = forged.ListTenants(ctx)
		forged.check(t, "forged token", err, http.StatusUnauthorized)
		_, err = reader.CreateUser(ctx, "default", apiv1.UserCreate{Login: "x"})
		raw = reader.check(t, "read token writing", err, http.StatusForbidden)
		if !strings.Contains(message(err), "does not hold the write scope") {
			t.Errorf("scope refusal: %s", raw)
		}

		// Tenants and settings.
		tenants, err := reader.ListTenants(ctx)
		raw = reader.check(t, "list tenants", err, http.StatusOK)
		if len(tenants.Tenants) != 1 {
			t.Errorf("tenants: %s", raw)
		}
		_, err = writer.SetTenant(ctx, "default", map[string]string{"jit": "true", "clock_skew": "nope", "bogus": "1"})
		raw = writer.check(t, "bad settings", err, http.StatusBadRequest)
		if !strings.Contains(message(err), "clock_skew") || !strings.Contains(message(err), "bogus") {
			t.Errorf("every problem at once: %s", raw)
		}
		change, err := writer.SetTenant(ctx, "default", map[string]string{"jit": "true"})
		raw = writer.check(t, "set jit", err, http.StatusOK)
		if change.Tenant.Settings["jit"] != "true" {
			t.Errorf("jit not set: %s", raw)
		}
		info, err := reader.GetTenant(ctx, "default")
		raw = reader.check(t, "get tenant", err, http.StatusOK)
		if !strings.HasSuffix(info.Endpoints.ACSURL, "/t/default/saml/acs") {
			t.Errorf("ACS URL: %s", raw)
		}

		// IdP connections: metadata XML as the body; certificates listed
		// with their expiry.
		md := idpMetadataWith(t, "https://idp.example.org/api", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
		imported, err := writer.ImportIdP(ctx, "default", apiv1.IdPImportQuery{}, []byte(md))
		raw = writer.check(t, "import IdP", err, http.StatusOK)
		if len(imported.IdP.Certificates) != 1 {
			t.Errorf("IdP certificates: %s", raw)
		}
		if imported.IdP.LegacyEncryption || len(imported.Warnings) != 0 {
			t.Errorf("legacy encryption on by default: %s", raw)
		}
		// The legacy encryption opt-in: stored, shown, warned about.
		legacy, err := writer.ImportIdP(ctx, "default", apiv1.IdPImportQuery{LegacyEncryption: true}, []byte(md))
		raw = writer.check(t, "import IdP with legacy encryption", err, http.StatusOK)
		if !legacy.IdP.LegacyEncryption || !slices.Contains(legacy.Warnings, admin.LegacyEncryptionWarning) || !strings.Contains(raw, `"legacy_encryption": true`) {
			t.Errorf("legacy encryption: %s", raw)
		}
		_, err = writer.ImportIdP(ctx, "default", apiv1.IdPImportQuery{}, []byte(md))
		writer.check(t, "import IdP without legacy encryption", err, http.StatusOK)
		_, err = writer.ImportIdP(ctx, "default", apiv1.IdPImportQuery{}, []byte("<nope/>"))
		writer.check(t, "bad metadata", err, http.StatusBadRequest)
		idps, err := reader.ListIdPs(ctx, "default")
		raw = reader.check(t, "list IdPs", err, http.StatusOK)
		if len(idps.IdPs) != 1 {
			t.Errorf("IdPs: %s", raw)
		}
		_, err = writer.RefreshIdP(ctx, "default", "https://idp.example.org/api")
		writer.check(t, "refresh an IdP imported from a file", err, http.StatusBadRequest)
		_, err = writer.DeleteIdP(ctx, "default", "https://idp.example.org/api")
		writer.check(t, "delete IdP", err, http.StatusOK)

		// Users: import (dry run, then for real, then again), export.
		csv := "login,email,firstname,lastname,status,login_method,roles\njdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,editor\njohn.doe,,John,,active,password,viewer\n"
		report, err := writer.ImportUsers(ctx, "default", apiv1.ImportQuery{DryRun: true}, strings.NewReader(csv))
		raw = writer.check(t, "import dry run", err, http.StatusOK)
		if report.Created != 2 || !report.DryRun {
			t.Errorf("dry run: %s", raw)
		}
		_, err = writer.ImportUsers(ctx, "default", apiv1.ImportQuery{}, strings.NewReader("login,email\nbad,nope\n"))
		raw = writer.check(t, "bad CSV", err, http.StatusBadRequest)
		if !strings.Contains(message(err), "line 2") {
			t.Errorf("bad CSV: %s", raw)
		}
		report, err = writer.ImportUsers(ctx, "default", apiv1.ImportQuery{}, strings.NewReader(csv))
		raw = writer.check(t, "import", err, http.StatusOK)
		if report.Created != 2 {
			t.Errorf("import: %s", raw)
		}
		report, _ = writer.ImportUsers(ctx, "default", apiv1.ImportQuery{}, strings.NewReader(csv))
		if report.Unchanged != 2 {
			t.Errorf("second import changed something: %+v", report)
		}
		exported, err := reader.ExportUsers(ctx, "default")
		reader.check(t, "export", err, http.StatusOK)
		if !strings.Contains(string(exported), "jdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,editor") {
			t.Errorf("export: %s", exported)
		}
		users, err := reader.ListUsers(ctx, "default", apiv1.UserQuery{LoginMethod: apiv1.LoginPassword})
		raw = reader.check(t, "filter users", err, http.StatusOK)
		if len(users.Users) != 1 || users.Users[0].Login != "john.doe" {
			t.Errorf("users with password login: %s", raw)
		}

		// Lock, merge (preview, then for real), convert.
		_, err = writer.SetUser(ctx, "default", "john.doe", map[string]string{"locked": "true"})
		writer.check(t, "lock", err, http.StatusOK)
		plan, err := writer.MergeUsers(ctx, "default", apiv1.MergeRequest{Keep: "jdoe@acme.com", Remove: "john.doe", DryRun: true})
		raw = writer.check(t, "merge preview", err, http.StatusOK)
		if !slices.Contains(plan.Changes, "all roles: editor → editor,viewer") {
			t.Errorf("merge preview: %s", raw)
		}
		_, err = writer.MergeUsers(ctx, "default", apiv1.MergeRequest{Keep: "jdoe@acme.com", Remove: "john.doe"})
		writer.check(t, "merge", err, http.StatusOK)
		_, err = reader.GetUser(ctx, "default", "john.doe")
		reader.check(t, "merged account", err, http.StatusNotFound)
		if _, err := e.admin.AddUser(ctx, "root", "default", lanyard.User{Login: "ann", Email: "ann@acme.com", LoginMethod: lanyard.LoginPassword}); err != nil {
			t.Fatal(err)
		}
		conv, err := writer.ConvertUsers(ctx, "default", apiv1.ConvertRequest{Logins: []string{"ann"}})
		raw = writer.check(t, "convert", err, http.StatusOK)
		if len(conv.Conversions) == 0 || conv.Conversions[0].NewLogin != "ann@acme.com" {
			t.Errorf("convert: %s", raw)
		}

		// Traces.
		// The refusal's audit event: its ID is the page's reference.
		refusal := lanyard.AuditEvent{TenantID: e.tenant.ID, Actor: "alice", Action: "sso.login", Outcome: lanyard.OutcomeFailure, Reason: "expired", Subject: "alice"}
		if err := e.store.AppendAuditEvents(ctx, []*lanyard.AuditEvent{&refusal}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.admin.RecordLoginTrace(ctx, lanyard.LoginTrace{TenantID: e.tenant.ID, AuditID: refusal.ID, Reason: "expired", Message: "too late", ClockSkew: -5 * time.Minute, Document: "<Response/>"}); err != nil {
			t.Fatal(err)
		}
		traces, err := reader.ListTraces(ctx, "default", apiv1.TraceQuery{})
		raw = reader.check(t, "traces", err, http.StatusOK)
		if len(traces.Traces) == 0 {
			t.Fatalf("traces: %s", raw)
		}
		tr := traces.Traces[0]
		if tr.Reason != "expired" || tr.ClockSkewSeconds != -300 || !strings.Contains(tr.Hint, "NTP") {
			t.Errorf("trace: %s", raw)
		}
		_, err = reader.GetTrace(ctx, "default", tr.ID)
		reader.check(t, "trace", err, http.StatusOK)
		if tr.Reference != refusal.ID {
			t.Errorf("trace reference %d; want the audit event %d: %s", tr.Reference, refusal.ID, raw)
		}
		byRef, err := reader.ListAuditEvents(ctx, apiv1.AuditQuery{ID: tr.Reference})
		raw = reader.check(t, "audit by reference", err, http.StatusOK)
		if len(byRef.Events) != 1 || byRef.Events[0].ID != refusal.ID || byRef.Events[0].Subject != "alice" {
			t.Errorf("audit event by the trace's reference: %s", raw)
		}

		// Audit log names the token as the actor.
		events, err := reader.ListAuditEvents(ctx, apiv1.AuditQuery{Tenant: "default", Action: "user.merge"})
		raw = reader.check(t, "audit", err, http.StatusOK)
		if ev := events.Events; len(ev) != 1 || ev[0].Actor != "api:provisioning" {
			t.Errorf("audit: %s", raw)
		}

		// Tokens: create with the API, use, revoke.
		created, err := writer.CreateToken(ctx, apiv1.TokenCreate{Name: "short", Scopes: []apiv1.Scope{apiv1.ScopeRead}, ExpiresInHours: 1})
		writer.check(t, "create token", err, http.StatusCreated)
		short := e.apiClient(created.Secret)
		_, err = short.ListTokens(ctx)
		raw = short.check(t, "list tokens", err, http.StatusOK)
		if strings.Contains(raw, writerToken) || strings.Contains(raw, created.Secret) {
			t.Error("the token list shows a secret")
		}
		_, err = writer.RevokeToken(ctx, "short")
		writer.check(t, "revoke token", err, http.StatusOK)
		_, err = short.ListTokens(ctx)
		short.check(t, "revoked token", err, http.StatusUnauthorized)

		// A call outside the API's routes: no client method, a plain request.
		if resp := e.get(e.http.Client(), "/api/v1/nothing"); resp.StatusCode != http.StatusNotFound {
			t.Fatalf("unknown call: status %d, want 404\n%s", resp.StatusCode, resp.body)
		}
	})
}

// jsonNumber writes a number as JSON does (admin_pages_test.go uses it).
func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestOpenAPIDocument checks the document's shape and that it lists every
// /api/v1 route of routes.go and of the API's own routes.go (web/api).
func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t, envOptions{})
	doc, err := e.apiClient("").OpenAPIDocument(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	raw := string(doc)
	var parsed map[string]any
	if err := json.Unmarshal(doc, &parsed); err != nil {
		t.Fatal(err)
	}
	if parsed["openapi"] != "3.1.0" {
		t.Errorf("openapi version %v", parsed["openapi"])
	}
	paths := parsed["paths"].(map[string]any)
	var src []byte
	for _, file := range []string{"routes.go", "api/routes.go"} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		src = append(src, b...)
	}
	routes := regexp.MustCompile(`"(GET|POST|PATCH|DELETE|PUT) (/api/v1/[^"]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 20 {
		t.Fatalf("found %d API routes in routes.go and api/routes.go", len(routes))
	}
	for _, r := range routes {
		if r[2] == "/api/v1/openapi.json" {
			continue
		}
		item, ok := paths[r[2]].(map[string]any)
		if !ok || item[strings.ToLower(r[1])] == nil {
			t.Errorf("%s %s is not in the OpenAPI document", r[1], r[2])
		}
	}
	// Every $ref points at a schema.
	schemas := parsed["components"].(map[string]any)["schemas"].(map[string]any)
	for _, m := range regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(raw, -1) {
		if schemas[m[1]] == nil {
			t.Errorf("$ref to missing schema %s", m[1])
		}
	}
}
