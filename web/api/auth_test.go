package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// answer is a raw HTTP answer.
type answer struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, s *served, method, path, token, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(raw)}
}

// errorBody decodes an error answer, refusing any other field than
// {"error": {"kind", "message"}}.
func errorBody(t *testing.T, a answer) (kind, message string) {
	t.Helper()
	var body struct {
		Error struct {
			Kind    string `json:"kind"`
			Message string `json:"message"`
		} `json:"error"`
	}
	dec := json.NewDecoder(strings.NewReader(a.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("error body %q: %v", a.body, err)
	}
	if ct := a.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("error answer of type %q", ct)
	}
	return body.Error.Kind, body.Error.Message
}

func TestTokenAndScope(t *testing.T) {
	s := serve(t, (&fakeAdmin{}).deps())
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		kind, challenge, message  string
	}{
		{"no token", "GET", "/api/v1/tenants", "", 401, "unauthorized", `Bearer realm="lanyard"`, "lanyard token create"},
		{"unknown token", "GET", "/api/v1/tenants", "lyd_forged", 401, "unauthorized", `Bearer realm="lanyard", error="invalid_token"`, "unknown, revoked or expired"},
		{"read token writing", "POST", "/api/v1/tokens", "reader", 403, "forbidden", `Bearer realm="lanyard", error="insufficient_scope", scope="write"`, "does not hold the write scope"},
		{"read token reading", "GET", "/api/v1/tenants", "reader", 200, "", "", ""},
		{"write token reading", "GET", "/api/v1/tokens", "writer", 200, "", "", ""},
		{"document without token", "GET", "/api/v1/openapi.json", "", 200, "", "", ""},
		{"unknown call", "GET", "/api/v1/nothing", "writer", 404, "not_found", "", "openapi.json"},
		{"known path, other method", "PUT", "/api/v1/tenants", "writer", 404, "not_found", "", "no such API call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := send(t, s, tc.method, tc.path, tc.token, "")
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if got := a.header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if tc.kind == "" {
				return
			}
			kind, msg := errorBody(t, a)
			if kind != tc.kind || !strings.Contains(msg, tc.message) {
				t.Errorf("error %s %q, want %s with %q", kind, msg, tc.kind, tc.message)
			}
		})
	}
}

func TestWithoutAdminServiceEveryCallIsUnavailable(t *testing.T) {
	s := serve(t, Deps{})
	a := send(t, s, "GET", "/api/v1/tenants", "writer", "")
	if a.status != http.StatusServiceUnavailable || a.header.Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q: %s", a.status, a.header.Get("Retry-After"), a.body)
	}
	if kind, msg := errorBody(t, a); kind != "unavailable" || !strings.Contains(msg, "not available on this server") {
		t.Errorf("error %s %q", kind, msg)
	}
}

func TestReadyWrapsTheOperationsOnly(t *testing.T) {
	d := (&fakeAdmin{}).deps()
	d.Ready = func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	}
	s := serve(t, d)
	for path, want := range map[string]int{"/api/v1/tenants": http.StatusTeapot, "/api/v1/openapi.json": http.StatusOK, "/api/v1/nothing": http.StatusNotFound} {
		if a := send(t, s, "GET", path, "reader", ""); a.status != want {
			t.Errorf("GET %s: status %d, want %d", path, a.status, want)
		}
	}
}

func TestErrorAnswers(t *testing.T) {
	f := &fakeAdmin{}
	s := serve(t, f.deps())
	for _, tc := range []struct {
		name, method, path, body string
		serviceErr               error
		status                   int
		kind, message            string
	}{
		{"internal error", "GET", "/api/v1/tenants", "", errors.New("db: connection refused"), 500, "internal", "An internal error occurred"},
		{"kind with spaces", "GET", "/api/v1/tenants/acme", "", &lanyard.Error{Kind: lanyard.KindNotFound, Message: `tenant "acme" not found`}, 404, "not_found", `tenant "acme" not found`},
		{"store sentinel", "GET", "/api/v1/tenants/acme", "", lanyard.ErrConflict, 409, "conflict", "clashes with existing data"},
		{"bad integer", "GET", "/api/v1/tenants/acme/users?limit=ten", "", nil, 400, "invalid", `query parameter limit="ten": give a whole number`},
		{"bad boolean", "POST", "/api/v1/tenants/acme/users/import?dry_run=maybe", "login\n", nil, 400, "invalid", `query parameter dry_run="maybe": use true or false`},
		{"bad time", "GET", "/api/v1/audit?since=yesterday", "", nil, 400, "invalid", "RFC 3339"},
		{"missing required parameter", "DELETE", "/api/v1/tenants/acme/idps", "", nil, 400, "invalid", "give the entity ID of the IdP as ?entity_id="},
		{"unknown JSON field", "POST", "/api/v1/tenants", `{"slug":"a","colour":"red"}`, nil, 400, "invalid", `unknown field "colour"`},
		{"no JSON body", "POST", "/api/v1/tenants", "", nil, 400, "invalid", "the JSON body could not be read"},
		{"bad ID", "GET", "/api/v1/tenants/acme/traces/007", "", nil, 400, "invalid", `"007" is not an ID`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.failWith(tc.serviceErr)
			a := send(t, s, tc.method, tc.path, "writer", tc.body)
			if a.status != tc.status {
				t.Fatalf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			kind, msg := errorBody(t, a)
			if kind != tc.kind || !strings.Contains(msg, tc.message) {
				t.Errorf("error %s %q, want %s with %q", kind, msg, tc.kind, tc.message)
			}
			if strings.Contains(msg, "db:") {
				t.Errorf("the detail of an internal error reached the client: %q", msg)
			}
		})
	}
}
