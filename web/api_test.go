package web

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// apiCall sends a request with a bearer token and decodes the JSON answer.
func (e *env) apiCall(token, method, path, contentType, body string) (int, map[string]any, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.http.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.http.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			e.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	return resp.StatusCode, out, string(raw)
}

func TestAPI(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		ctx := t.Context()
		_, writer, err := e.admin.CreateAPIToken(ctx, "root", "provisioning", []string{"write"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		_, reader, err := e.admin.CreateAPIToken(ctx, "root", "dashboards", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string, got, want int, raw string) {
			t.Helper()
			if got != want {
				t.Fatalf("%s: status %d, want %d\n%s", what, got, want, raw)
			}
		}

		// Authentication and scopes.
		status, body, raw := e.apiCall("", "GET", "/api/v1/tenants", "", "")
		check("no token", status, http.StatusUnauthorized, raw)
		if body["error"].(map[string]any)["kind"] != "unauthorized" {
			t.Errorf("error body: %s", raw)
		}
		status, _, raw = e.apiCall("lyd_forged", "GET", "/api/v1/tenants", "", "")
		check("forged token", status, http.StatusUnauthorized, raw)
		status, _, raw = e.apiCall(reader, "POST", "/api/v1/tenants/default/users", "application/json", `{"login":"x"}`)
		check("read token writing", status, http.StatusForbidden, raw)
		if !strings.Contains(raw, "does not hold the write scope") {
			t.Errorf("scope refusal: %s", raw)
		}

		// Tenants and settings.
		status, body, raw = e.apiCall(reader, "GET", "/api/v1/tenants", "", "")
		check("list tenants", status, http.StatusOK, raw)
		if len(body["tenants"].([]any)) != 1 {
			t.Errorf("tenants: %s", raw)
		}
		status, _, raw = e.apiCall(writer, "PATCH", "/api/v1/tenants/default", "application/json", `{"settings":{"jit":"true","clock_skew":"nope","bogus":"1"}}`)
		check("bad settings", status, http.StatusBadRequest, raw)
		if !strings.Contains(raw, "clock_skew") || !strings.Contains(raw, "bogus") {
			t.Errorf("every problem at once: %s", raw)
		}
		status, body, raw = e.apiCall(writer, "PATCH", "/api/v1/tenants/default", "application/json", `{"settings":{"jit":"true"}}`)
		check("set jit", status, http.StatusOK, raw)
		if body["tenant"].(map[string]any)["settings"].(map[string]any)["jit"] != "true" {
			t.Errorf("jit not set: %s", raw)
		}
		status, body, raw = e.apiCall(reader, "GET", "/api/v1/tenants/default", "", "")
		check("get tenant", status, http.StatusOK, raw)
		if acs, _ := body["endpoints"].(map[string]any)["acs_url"].(string); !strings.HasSuffix(acs, "/t/default/saml/acs") {
			t.Errorf("ACS URL: %s", raw)
		}

		// IdP connections: metadata XML as the body; certificates listed
		// with their expiry.
		md := idpMetadataWith(t, "https://idp.example.org/api", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
		status, body, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/idps", "application/samlmetadata+xml", md)
		check("import IdP", status, http.StatusOK, raw)
		if c := body["idp"].(map[string]any)["certificates"].([]any); len(c) != 1 {
			t.Errorf("IdP certificates: %s", raw)
		}
		status, _, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/idps", "application/samlmetadata+xml", "<nope/>")
		check("bad metadata", status, http.StatusBadRequest, raw)
		status, body, raw = e.apiCall(reader, "GET", "/api/v1/tenants/default/idps", "", "")
		check("list IdPs", status, http.StatusOK, raw)
		if len(body["idps"].([]any)) != 1 {
			t.Errorf("IdPs: %s", raw)
		}
		status, _, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/idps/refresh?entity_id="+url.QueryEscape("https://idp.example.org/api"), "", "")
		check("refresh an IdP imported from a file", status, http.StatusBadRequest, raw)
		status, _, raw = e.apiCall(writer, "DELETE", "/api/v1/tenants/default/idps?entity_id="+url.QueryEscape("https://idp.example.org/api"), "", "")
		check("delete IdP", status, http.StatusOK, raw)

		// Users: import (dry run, then for real, then again), export.
		csv := "login,email,firstname,lastname,status,login_method,roles\njdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,editor\njohn.doe,,John,,active,password,viewer\n"
		status, body, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/users/import?dry_run=true", "text/csv", csv)
		check("import dry run", status, http.StatusOK, raw)
		if body["created"].(float64) != 2 || body["dry_run"] != true {
			t.Errorf("dry run: %s", raw)
		}
		status, _, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/users/import", "text/csv", "login,email\nbad,nope\n")
		check("bad CSV", status, http.StatusBadRequest, raw)
		if !strings.Contains(raw, "line 2") {
			t.Errorf("bad CSV: %s", raw)
		}
		status, body, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/users/import", "text/csv", csv)
		check("import", status, http.StatusOK, raw)
		if body["created"].(float64) != 2 {
			t.Errorf("import: %s", raw)
		}
		_, body, _ = e.apiCall(writer, "POST", "/api/v1/tenants/default/users/import", "text/csv", csv)
		if body["unchanged"].(float64) != 2 {
			t.Errorf("second import changed something: %v", body)
		}
		status, _, raw = e.apiCall(reader, "GET", "/api/v1/tenants/default/users/export", "", "")
		check("export", status, http.StatusOK, raw)
		if !strings.Contains(raw, "jdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,editor") {
			t.Errorf("export: %s", raw)
		}
		status, body, raw = e.apiCall(reader, "GET", "/api/v1/tenants/default/users?login_method=password", "", "")
		check("filter users", status, http.StatusOK, raw)
		if users := body["users"].([]any); len(users) != 1 || users[0].(map[string]any)["login"] != "john.doe" {
			t.Errorf("users with password login: %s", raw)
		}

		// Lock, merge (preview, then for real), convert.
		status, _, raw = e.apiCall(writer, "PATCH", "/api/v1/tenants/default/users/john.doe", "application/json", `{"settings":{"locked":"true"}}`)
		check("lock", status, http.StatusOK, raw)
		status, body, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/users/merge", "application/json", `{"keep":"jdoe@acme.com","remove":"john.doe","dry_run":true}`)
		check("merge preview", status, http.StatusOK, raw)
		if !slices.Contains(body["changes"].([]any), any("all roles: editor → editor;viewer")) {
			t.Errorf("merge preview: %s", raw)
		}
		status, _, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/users/merge", "application/json", `{"keep":"jdoe@acme.com","remove":"john.doe"}`)
		check("merge", status, http.StatusOK, raw)
		status, _, raw = e.apiCall(reader, "GET", "/api/v1/tenants/default/users/john.doe", "", "")
		check("merged account", status, http.StatusNotFound, raw)
		if _, err := e.admin.AddUser(ctx, "root", "default", lanyard.User{Login: "ann", Email: "ann@acme.com", LoginMethod: lanyard.LoginPassword}); err != nil {
			t.Fatal(err)
		}
		status, body, raw = e.apiCall(writer, "POST", "/api/v1/tenants/default/users/convert", "application/json", `{"logins":["ann"]}`)
		check("convert", status, http.StatusOK, raw)
		if c := body["conversions"].([]any)[0].(map[string]any); c["new_login"] != "ann@acme.com" {
			t.Errorf("convert: %s", raw)
		}

		// Traces.
		if _, err := e.admin.RecordLoginTrace(ctx, lanyard.LoginTrace{TenantID: e.tenant.ID, Reason: "expired", Message: "too late", ClockSkew: -5 * time.Minute, Document: "<Response/>"}); err != nil {
			t.Fatal(err)
		}
		status, body, raw = e.apiCall(reader, "GET", "/api/v1/tenants/default/traces", "", "")
		check("traces", status, http.StatusOK, raw)
		tr := body["traces"].([]any)[0].(map[string]any)
		if tr["reason"] != "expired" || tr["clock_skew_seconds"].(float64) != -300 || !strings.Contains(tr["hint"].(string), "NTP") {
			t.Errorf("trace: %s", raw)
		}
		status, _, raw = e.apiCall(reader, "GET", "/api/v1/tenants/default/traces/"+jsonNumber(tr["id"]), "", "")
		check("trace", status, http.StatusOK, raw)

		// Audit log names the token as the actor.
		status, body, raw = e.apiCall(reader, "GET", "/api/v1/audit?tenant=default&action=user.merge", "", "")
		check("audit", status, http.StatusOK, raw)
		if ev := body["events"].([]any); len(ev) != 1 || ev[0].(map[string]any)["actor"] != "api:provisioning" {
			t.Errorf("audit: %s", raw)
		}

		// Tokens: create with the API, use, revoke.
		status, body, raw = e.apiCall(writer, "POST", "/api/v1/tokens", "application/json", `{"name":"short","scopes":["read"],"expires_in_hours":1}`)
		check("create token", status, http.StatusCreated, raw)
		secret := body["secret"].(string)
		status, _, raw = e.apiCall(secret, "GET", "/api/v1/tokens", "", "")
		check("list tokens", status, http.StatusOK, raw)
		if strings.Contains(raw, writer) || strings.Contains(raw, secret) {
			t.Error("the token list shows a secret")
		}
		status, _, raw = e.apiCall(writer, "DELETE", "/api/v1/tokens/short", "", "")
		check("revoke token", status, http.StatusOK, raw)
		status, _, raw = e.apiCall(secret, "GET", "/api/v1/tokens", "", "")
		check("revoked token", status, http.StatusUnauthorized, raw)

		status, _, raw = e.apiCall(writer, "GET", "/api/v1/nothing", "", "")
		check("unknown call", status, http.StatusNotFound, raw)
	})
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestOpenAPIDocument checks the document's shape and that it lists every
// /api/v1 route of routes.go.
func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t, envOptions{})
	status, doc, raw := e.apiCall("", "GET", "/api/v1/openapi.json", "", "")
	if status != http.StatusOK {
		t.Fatalf("status %d: %s", status, raw)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi version %v", doc["openapi"])
	}
	paths := doc["paths"].(map[string]any)
	src, err := os.ReadFile("routes.go")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`"(GET|POST|PATCH|DELETE|PUT) (/api/v1/[^"]+)"`).FindAllStringSubmatch(string(src), -1)
	if len(routes) < 20 {
		t.Fatalf("found %d API routes in routes.go", len(routes))
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
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, m := range regexp.MustCompile(`"#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(raw, -1) {
		if schemas[m[1]] == nil {
			t.Errorf("$ref to missing schema %s", m[1])
		}
	}
}
