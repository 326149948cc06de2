package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// scimEnv is a server with a SCIM token of the default tenant.
type scimEnv struct {
	*env
	token string
	base  string // the service URL of the default tenant
}

func newSCIMEnv(t *testing.T, opts envOptions) *scimEnv {
	t.Helper()
	e := newEnv(t, opts)
	_, secret, err := e.admin.CreateTenantAPIToken(context.Background(), "cli", e.tenant.Slug, "okta", []string{lanyard.ScopeSCIM}, 0)
	if err != nil {
		t.Fatalf("create SCIM token: %v", err)
	}
	return &scimEnv{env: e, token: secret, base: e.http.URL + "/t/" + e.tenant.Slug + "/scim/v2"}
}

// scimAnswer is a read answer of the SCIM service.
type scimAnswer struct {
	status int
	header http.Header
	doc    map[string]any
	raw    string
}

// str reads a string at a dotted path of the answer ("meta.version").
func (a scimAnswer) str(path string) string {
	var v any = a.doc
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// call sends a SCIM request with the env's token; headers are name, value
// pairs; body is JSON-encoded unless it is a string.
func (s *scimEnv) call(method, path string, body any, headers ...string) scimAnswer {
	s.t.Helper()
	return s.callWith(s.token, method, path, body, headers...)
}

func (s *scimEnv) callWith(token, method, path string, body any, headers ...string) scimAnswer {
	s.t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	target := path
	if !strings.HasPrefix(path, "http") {
		target = s.base + path
	}
	req, err := http.NewRequest(method, target, r)
	if err != nil {
		s.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.http.Client().Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	a := scimAnswer{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	if len(data) > 0 {
		if err := json.Unmarshal(data, &a.doc); err != nil {
			s.t.Fatalf("%s %s: answer is not JSON: %v\n%s", method, path, err, data)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/scim+json" {
			s.t.Errorf("%s %s: Content-Type %q, want application/scim+json", method, path, ct)
		}
	}
	return a
}

// must checks the status of an answer.
func (a scimAnswer) must(t *testing.T, status int) scimAnswer {
	t.Helper()
	if a.status != status {
		t.Fatalf("status %d, want %d: %s", a.status, status, a.raw)
	}
	return a
}

// mustError checks a SCIM error answer (RFC 7644 section 3.12).
func (a scimAnswer) mustError(t *testing.T, status int, scimType string) scimAnswer {
	t.Helper()
	a.must(t, status)
	if got := a.str("scimType"); got != scimType {
		t.Fatalf("scimType %q, want %q: %s", got, scimType, a.raw)
	}
	if a.str("status") != fmt.Sprint(status) || !strings.Contains(a.raw, "urn:ietf:params:scim:api:messages:2.0:Error") || a.str("detail") == "" {
		t.Fatalf("not a SCIM error: %s", a.raw)
	}
	return a
}

func scimUser(userName, given, family, email string) map[string]any {
	return map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": userName,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"emails":   []any{map[string]any{"value": email, "type": "work", "primary": true}},
		"active":   true,
	}
}

func patchOp(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": ops}
}

// userNames lists the userNames of a list answer, sorted.
func (a scimAnswer) userNames() []string {
	var out []string
	res, _ := a.doc["Resources"].([]any)
	for _, r := range res {
		out = append(out, fmt.Sprint(r.(map[string]any)["userName"]))
	}
	sort.Strings(out)
	return out
}

func TestSCIMUserLifecycle(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		s := newSCIMEnv(t, opts)
		ctx := context.Background()

		// Create: 201, Location, ETag, the account marked scim.
		created := s.call("POST", "/Users", scimUser("Ada@Example.com", "Ada", "Lovelace", "ada@example.com")).must(t, http.StatusCreated)
		id := created.str("id")
		if created.header.Get("Location") != s.base+"/Users/"+id || created.header.Get("ETag") == "" || created.str("meta.version") != created.header.Get("ETag") {
			t.Fatalf("create: Location %q, ETag %q, meta %v", created.header.Get("Location"), created.header.Get("ETag"), created.doc["meta"])
		}
		u, err := s.store.UserByLogin(ctx, s.tenant.ID, "ada@example.com")
		if err != nil || u.Source != lanyard.SourceSCIM || u.Email != "ada@example.com" || u.FirstName != "Ada" || u.LoginMethod != lanyard.LoginSSO {
			t.Fatalf("account: %+v, %v", u, err)
		}

		// userName is unique without regard to case: 409 uniqueness.
		s.call("POST", "/Users", scimUser("ADA@example.COM", "A", "L", "x@example.com")).mustError(t, http.StatusConflict, "uniqueness")

		// Get, and If-None-Match.
		got := s.call("GET", "/Users/"+id, nil).must(t, http.StatusOK)
		if got.str("userName") != "Ada@Example.com" || got.str("name.familyName") != "Lovelace" || got.str("active") != "true" {
			t.Fatalf("get: %s", got.raw)
		}
		etag := got.header.Get("ETag")
		s.call("GET", "/Users/"+id, nil, "If-None-Match", etag).must(t, http.StatusNotModified)

		// A stale If-Match is refused with 412 and changes nothing.
		s.call("PUT", "/Users/"+id, scimUser("Ada@Example.com", "Ada", "King", "ada@example.com"), "If-Match", `W/"0000"`).mustError(t, http.StatusPreconditionFailed, "")
		// The current one is accepted; the version moves.
		put := s.call("PUT", "/Users/"+id, scimUser("Ada@Example.com", "Ada", "King", "ada@example.com"), "If-Match", etag).must(t, http.StatusOK)
		if put.str("name.familyName") != "King" || put.header.Get("ETag") == etag {
			t.Fatalf("put: %s (etag %s)", put.raw, put.header.Get("ETag"))
		}
		s.call("DELETE", "/Users/"+id, nil, "If-Match", etag).mustError(t, http.StatusPreconditionFailed, "")

		// Unknown IDs.
		for _, bad := range []string{"999999", "abc", "-1", "0"} {
			s.call("GET", "/Users/"+bad, nil).mustError(t, http.StatusNotFound, "")
		}

		// A session of the user, with a copy on an application host, ends
		// at a deactivation.
		sess := lanyard.Session{Hash: lanyard.HashSessionID("s-ada-1"), TenantID: s.tenant.ID, UserID: u.ID,
			Kind: lanyard.SessionSSO, CreatedAt: s.clock.Now(), LastSeenAt: s.clock.Now(), AbsExpiresAt: s.clock.Now().Add(time.Hour), IdleExpiresAt: s.clock.Now().Add(time.Hour)}
		if err := s.store.CreateSession(ctx, &sess); err != nil {
			t.Fatal(err)
		}
		cp := sess
		cp.Hash, cp.ParentHash, cp.Origin = lanyard.HashSessionID("s-ada-copy"), sess.Hash, "https://app.example.com"
		if err := s.store.CreateSession(ctx, &cp); err != nil {
			t.Fatal(err)
		}
		s.call("PATCH", "/Users/"+id, patchOp(map[string]any{"op": "replace", "path": "active", "value": false})).must(t, http.StatusOK)
		for _, h := range [][]byte{sess.Hash, cp.Hash} {
			if _, err := s.store.Session(ctx, h, s.clock.Now()); err == nil {
				t.Fatal("a session survived the deactivation")
			}
		}
		if u, _ := s.store.User(ctx, u.ID); u.Status != lanyard.StatusInactive {
			t.Fatalf("status %s after active=false", u.Status)
		}
		if !s.hasAudit("scim.user.deactivate", lanyard.OutcomeSuccess, "") {
			t.Fatal("no audit event of the deactivation")
		}
		evs := s.auditEvents("scim.user.create")
		if len(evs) != 1 || evs[0].Actor != "scim:okta" || evs[0].Detail["token"] != "okta" || evs[0].Detail["token_id"] == "" {
			t.Fatalf("audit of the creation: %+v", evs)
		}

		// DELETE under the default policy deactivates; under
		// scim_delete=delete it removes the account.
		s.call("PATCH", "/Users/"+id, patchOp(map[string]any{"op": "replace", "path": "active", "value": true})).must(t, http.StatusOK)
		s.call("DELETE", "/Users/"+id, nil).must(t, http.StatusNoContent)
		if u, err := s.store.User(ctx, u.ID); err != nil || u.Status != lanyard.StatusInactive {
			t.Fatalf("after DELETE (deactivate): %+v %v", u, err)
		}
		// The client sees it gone; the account stays, inactive.
		s.call("GET", "/Users/"+id, nil).mustError(t, http.StatusNotFound, "")
		s.call("PATCH", "/Users/"+id, patchOp(map[string]any{"op": "replace", "path": "active", "value": true})).mustError(t, http.StatusNotFound, "")
		if a := s.call("GET", "/Users?filter="+url.QueryEscape(`userName eq "ada@example.com"`), nil).must(t, http.StatusOK); a.str("totalResults") != "0" {
			t.Fatalf("a deleted user is listed: %s", a.raw)
		}
		// Created again, it is the same account, active.
		again := s.call("POST", "/Users", scimUser("ada@example.com", "Ada", "Byron", "ada@example.com")).must(t, http.StatusCreated)
		if again.str("id") != id || again.str("active") != "true" || again.str("name.familyName") != "Byron" {
			t.Fatalf("re-created: %s", again.raw)
		}
		if _, err := s.store.UpdateTenant(ctx, s.tenant.ID, func(t *lanyard.Tenant) error { t.SSO.SCIMDelete = lanyard.SCIMDeleteDeletes; return nil }); err != nil {
			t.Fatal(err)
		}
		s.call("DELETE", "/Users/"+id, nil).must(t, http.StatusNoContent)
		s.call("GET", "/Users/"+id, nil).mustError(t, http.StatusNotFound, "")
		s.call("DELETE", "/Users/"+id, nil).mustError(t, http.StatusNotFound, "")
	})
}

func TestSCIMDiscovery(t *testing.T) {
	s := newSCIMEnv(t, envOptions{})
	cfg := s.call("GET", "/ServiceProviderConfig", nil).must(t, http.StatusOK)
	if cfg.str("patch.supported") != "true" || cfg.str("filter.supported") != "true" || cfg.str("etag.supported") != "true" || cfg.str("bulk.supported") != "false" {
		t.Fatalf("ServiceProviderConfig: %s", cfg.raw)
	}
	rts := s.call("GET", "/ResourceTypes", nil).must(t, http.StatusOK)
	if rts.str("totalResults") != "2" {
		t.Fatalf("ResourceTypes: %s", rts.raw)
	}
	s.call("GET", "/ResourceTypes/User", nil).must(t, http.StatusOK)
	s.call("GET", "/ResourceTypes/Nope", nil).mustError(t, http.StatusNotFound, "")
	schemas := s.call("GET", "/Schemas", nil).must(t, http.StatusOK)
	for _, id := range []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"} {
		if !strings.Contains(schemas.raw, id) {
			t.Errorf("Schemas lacks %s", id)
		}
		s.call("GET", "/Schemas/"+url.PathEscape(id), nil).must(t, http.StatusOK)
	}
	s.call("GET", "/Bulk", nil).mustError(t, http.StatusNotFound, "")
	s.call("POST", "/Users", scimUser("m", "M", "N", "m@example.com")).must(t, http.StatusCreated)
	s.call("POST", "/Users", scimUser("m", "M", "N", "m@example.com")).mustError(t, http.StatusConflict, "uniqueness")
	// Operations are counted by name and status.
	resp, err := s.http.Client().Get(s.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`lanyard_scim_operations_total{code="201",operation="user.create"} 1`, `lanyard_scim_operations_total{code="409",operation="user.create"} 1`,
		`lanyard_scim_operations_total{code="200",operation="config"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestSCIMAuthentication: only a live token of scope scim of the tenant in
// the path opens the service, and a SCIM token opens nothing else.
func TestSCIMAuthentication(t *testing.T) {
	s := newSCIMEnv(t, envOptions{})
	ctx := context.Background()
	other := lanyard.Tenant{Slug: "other"}
	if err := s.store.CreateTenant(ctx, &other); err != nil {
		t.Fatal(err)
	}
	_, otherToken, err := s.admin.CreateTenantAPIToken(ctx, "cli", "other", "other-scim", []string{"scim"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, apiToken, err := s.admin.CreateTenantAPIToken(ctx, "cli", s.tenant.Slug, "api-write", []string{"write"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, expiring, err := s.admin.CreateTenantAPIToken(ctx, "cli", s.tenant.Slug, "short", []string{"scim"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, revoked, err := s.admin.CreateTenantAPIToken(ctx, "cli", s.tenant.Slug, "gone", []string{"scim"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.RevokeAPIToken(ctx, "cli", fmt.Sprint(tok.ID)); err != nil {
		t.Fatal(err)
	}
	s.clock.Advance(2 * time.Hour)
	for _, c := range []struct{ name, token string }{
		{"none", ""}, {"unknown", "lyd_nope"}, {"another tenant's", otherToken}, {"API write token", apiToken},
		{"expired", expiring}, {"revoked", revoked},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := s.callWith(c.token, "GET", "/Users", nil).mustError(t, http.StatusUnauthorized, "")
			if !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Fatalf("WWW-Authenticate %q", a.header.Get("WWW-Authenticate"))
			}
		})
	}
	// The other tenant's token works on its own tenant only.
	s.callWith(otherToken, "GET", s.http.URL+"/t/other/scim/v2/Users", nil).must(t, http.StatusOK)
	// A SCIM token is refused by the admin API.
	req, _ := http.NewRequest("GET", s.http.URL+"/api/v1/tenants/"+s.tenant.Slug+"/users", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := s.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("admin API with a SCIM token: %d", resp.StatusCode)
	}
	// The API creates SCIM tokens too; the secret is shown once.
	req, _ = http.NewRequest("POST", s.http.URL+"/api/v1/tokens", strings.NewReader(`{"name":"entra","scopes":["scim"],"tenant":"default","expires_in_hours":24}`))
	req.Header.Set("Authorization", "Bearer "+apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err = s.http.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Secret string `json:"secret"`
		Token  struct {
			Scopes []string `json:"scopes"`
		} `json:"token"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || created.Secret == "" || !slices.Equal(created.Token.Scopes, []string{"scim"}) {
		t.Fatalf("API token creation: %d %+v", resp.StatusCode, created)
	}
	s.callWith(created.Secret, "GET", "/Users", nil).must(t, http.StatusOK)
	// scim is a scope of its own, of one tenant.
	for _, scopes := range [][]string{{"scim", "read"}, {"scim", "write"}} {
		if _, _, err := s.admin.CreateTenantAPIToken(ctx, "cli", s.tenant.Slug, "mixed", scopes, 0); err == nil {
			t.Errorf("a token with scopes %v was created", scopes)
		}
	}
	if _, _, err := s.admin.CreateAPIToken(ctx, "cli", "global-scim", []string{"scim"}, 0); err == nil {
		t.Error("a global SCIM token was created")
	}
}

// TestSCIMFilters runs the filter grammar against the store of each
// engine: every operator, and/or/not, grouping, value paths.
func TestSCIMFilters(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		s := newSCIMEnv(t, opts)
		for _, u := range []struct{ login, given, family, email string }{
			{"alice", "Alice", "Archer", "alice@example.com"},
			{"bob", "Bob", "Baker", "bob@corp.example"},
			{"carol", "Carol", "Cooper", "carol@example.com"},
			{"dave_x", "Dave", "Dunn", "dave@corp.example"},
			{"100%", "Per", "Cent", ""},
		} {
			doc := scimUser(u.login, u.given, u.family, u.email)
			if u.email == "" {
				delete(doc, "emails")
			}
			if u.login == "carol" {
				doc["active"] = false
				doc["externalId"] = "EXT-carol"
			}
			s.call("POST", "/Users", doc).must(t, http.StatusCreated)
		}
		all := []string{"100%", "alice", "bob", "carol", "dave_x"}
		for _, c := range []struct {
			filter string
			want   []string
		}{
			{`userName eq "alice"`, []string{"alice"}},
			{`USERNAME EQ "ALICE"`, []string{"alice"}},
			{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "bob"`, []string{"bob"}},
			{`userName ne "alice"`, []string{"100%", "bob", "carol", "dave_x"}},
			{`userName co "a"`, []string{"alice", "carol", "dave_x"}},
			{`userName co "%"`, []string{"100%"}},
			{`userName co "_"`, []string{"dave_x"}},
			{`userName sw "b"`, []string{"bob"}},
			{`userName ew "x"`, []string{"dave_x"}},
			{`userName gt "bob"`, []string{"carol", "dave_x"}},
			{`userName ge "bob"`, []string{"bob", "carol", "dave_x"}},
			{`userName lt "bob"`, []string{"100%", "alice"}},
			{`userName le "alice"`, []string{"100%", "alice"}},
			{`userName pr`, all},
			{`emails pr`, []string{"alice", "bob", "carol", "dave_x"}},
			{`not (emails pr)`, []string{"100%"}},
			{`emails eq null`, []string{"100%"}},
			{`emails.value ew "@corp.example"`, []string{"bob", "dave_x"}},
			{`emails[type eq "work"].value ew "@example.com"`, []string{"alice", "carol"}},
			{`emails[type eq "work" and value co "dave"]`, []string{"dave_x"}},
			{`emails[type eq "home"].value ew "@example.com"`, nil},
			{`emails[primary eq true]`, []string{"alice", "bob", "carol", "dave_x"}},
			{`name.givenName eq "carol"`, []string{"carol"}},
			{`name.familyName sw "B" or name.familyName sw "D"`, []string{"bob", "dave_x"}},
			{`active eq false`, []string{"carol"}},
			{`active eq true and userName sw "a"`, []string{"alice"}},
			{`externalId eq "EXT-carol"`, []string{"carol"}},
			{`externalId eq "ext-carol"`, nil}, // externalId is caseExact
			{`externalId pr`, []string{"carol"}},
			{`userName eq "alice" or userName eq "bob" and active eq false`, []string{"alice"}},
			{`(userName eq "alice" or userName eq "bob") and not (userName eq "bob")`, []string{"alice"}},
			{`not (userName eq "alice" or userName eq "bob")`, []string{"100%", "carol", "dave_x"}},
			{`id eq "999999"`, nil},
			{`id eq "abc"`, nil},
			{`meta.created gt "2020-01-01T00:00:00Z"`, all},
			{`meta.lastModified lt "2020-01-01T00:00:00Z"`, nil},
			{`userName eq "a\"b"`, nil},
		} {
			t.Run(c.filter, func(t *testing.T) {
				a := s.call("GET", "/Users?filter="+url.QueryEscape(c.filter), nil).must(t, http.StatusOK)
				if got := a.userNames(); !slices.Equal(got, c.want) {
					t.Fatalf("got %v, want %v", got, c.want)
				}
				if a.str("totalResults") != fmt.Sprint(len(c.want)) {
					t.Fatalf("totalResults %s, want %d", a.str("totalResults"), len(c.want))
				}
			})
		}
		for _, bad := range []string{
			`userName`, `userName eq`, `userName xx "a"`, `userName eq alice`, `(userName eq "a"`, `userName eq "a")`,
			`userName eq "a" and`, `not userName eq "a"`, `emails[type eq "work"`, `userName eq "unterminated`,
			`nickName eq "x"`, `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x"`,
			`active eq "yes"`, `active gt true`, `meta.created gt "yesterday"`, `name[givenName eq "x"]`,
			`emails[value eq "x"].value[type eq "y"]`, `userName eq "a" "b"`, `1userName eq "a"`,
			strings.Repeat("(", 40) + `userName pr` + strings.Repeat(")", 40),
			`userName eq "` + strings.Repeat("a", 5000) + `"`,
		} {
			t.Run("malformed/"+bad[:min(len(bad), 40)], func(t *testing.T) {
				s.call("GET", "/Users?filter="+url.QueryEscape(bad), nil).mustError(t, http.StatusBadRequest, "invalidFilter")
			})
		}

		// Pagination: startIndex is 1-based; count bounds the page;
		// totalResults counts every match.
		var seen []string
		for start := 1; start <= 5; start += 2 {
			a := s.call("GET", fmt.Sprintf("/Users?startIndex=%d&count=2", start), nil).must(t, http.StatusOK)
			if a.str("totalResults") != "5" || a.str("startIndex") != fmt.Sprint(start) {
				t.Fatalf("page at %d: %s", start, a.raw)
			}
			seen = append(seen, a.userNames()...)
		}
		sort.Strings(seen)
		if !slices.Equal(seen, all) {
			t.Fatalf("pages hold %v", seen)
		}
		if a := s.call("GET", "/Users?count=0", nil).must(t, http.StatusOK); a.str("totalResults") != "5" || a.str("itemsPerPage") != "0" {
			t.Fatalf("count=0: %s", a.raw)
		}
		if a := s.call("GET", "/Users?startIndex=0&count=1", nil).must(t, http.StatusOK); a.str("startIndex") != "1" || len(a.userNames()) != 1 {
			t.Fatalf("startIndex=0: %s", a.raw)
		}
		if a := s.call("GET", "/Users?startIndex=99", nil).must(t, http.StatusOK); a.str("totalResults") != "5" || len(a.userNames()) != 0 {
			t.Fatalf("startIndex past the end: %s", a.raw)
		}
		s.call("GET", "/Users?count=x", nil).mustError(t, http.StatusBadRequest, "invalidValue")
		// POST .search takes the same parameters.
		a := s.call("POST", "/Users/.search", map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:SearchRequest"},
			"filter": `userName sw "a"`, "startIndex": 1, "count": 10}).must(t, http.StatusOK)
		if got := a.userNames(); !slices.Equal(got, []string{"alice"}) {
			t.Fatalf(".search: %v", got)
		}
		// attributes / excludedAttributes.
		a = s.call("GET", "/Users?filter="+url.QueryEscape(`userName eq "alice"`)+"&attributes=userName", nil).must(t, http.StatusOK)
		if strings.Contains(a.raw, "emails") || !strings.Contains(a.raw, `"id"`) {
			t.Fatalf("attributes=userName: %s", a.raw)
		}
	})
}
