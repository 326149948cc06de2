package web

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiv1"
	"github.com/lanyard-sso/lanyard/web/admin"
	"github.com/lanyard-sso/lanyard/web/api"
)

// Every route of the admin UI and of the API declares the access it
// requires, and the only registrations are those of the tables: a route
// added beside the tables would have none.
func TestEveryAdminRouteDeclaresAccess(t *testing.T) {
	valid := map[lanyard.Access]bool{lanyard.AccessPublic: true, lanyard.AccessAdmin: true, lanyard.AccessTenant: true, lanyard.AccessOperator: true}
	check := func(face, pattern string, a lanyard.Access) {
		if !valid[a] {
			t.Errorf("%s route %q declares no valid access (%v)", face, pattern, a)
		}
		// A tenant route names its tenant; an operator route may name one
		// (deleting a tenant), any other access may not.
		names := strings.Contains(pattern, "{tenant}")
		if a == lanyard.AccessTenant && !names || names && a != lanyard.AccessTenant && a != lanyard.AccessOperator {
			t.Errorf("%s route %q: access %v, but tenant routes name {tenant} and only they and operator routes may", face, pattern, a)
		}
	}
	ui := admin.RouteTable()
	for _, r := range ui {
		check("UI", r.Pattern, r.Access)
	}
	apiRoutes := api.RouteTable()
	for _, r := range apiRoutes {
		check("API", r.Pattern, r.Access)
		if r.Access == lanyard.AccessPublic {
			t.Errorf("API route %q is public: every call needs a token", r.Pattern)
		}
	}
	if len(ui) < 25 || len(apiRoutes) < 25 {
		t.Fatalf("only %d UI and %d API routes listed", len(ui), len(apiRoutes))
	}

	// The packages register routes in one place each: the loop over
	// their table.
	for dir, allowed := range map[string]int{"admin": 1, "api": 3} {
		calls := 0
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Handle" || sel.Sel.Name == "HandleFunc") {
					calls++
				}
				return true
			})
		}
		// web/api: the table loop, the OpenAPI document and the JSON 404.
		if calls != allowed {
			t.Errorf("web/%s calls Handle %d times, want %d: register routes through the table, with their access", dir, calls, allowed)
		}
	}
}

// concretePath fills the wildcards of a route pattern.
func concretePath(pattern, tenant string) (method, path string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, pattern+"no-such-page"
	}
	path = strings.ReplaceAll(path, "{$}", "")
	r := strings.NewReplacer("{tenant}", tenant, "{login}", "bob", "{id}", "1", "{token}", "no-such-token", "{name}", "wiki")
	return method, r.Replace(path)
}

// scopeEnv is a server with tenants acme and globex, bob in both, and
// alice, an SSO user of acme whom acme's IdP made a tenant administrator.
type scopeEnv struct {
	*env
	acme, globex lanyard.Tenant
	alice        lanyard.User
	aliceClient  *http.Client
	aliceCSRF    string
	aliceToken   string
	opToken      string
}

func newScopeEnv(t *testing.T, opts envOptions) *scopeEnv {
	e := &scopeEnv{env: newEnv(t, opts)}
	ctx := context.Background()
	for _, tt := range []*lanyard.Tenant{&e.acme, &e.globex} {
		*tt = lanyard.Tenant{Slug: map[*lanyard.Tenant]string{&e.acme: "acme", &e.globex: "globex"}[tt]}
		tt.DisplayName = tt.Slug
		if err := e.store.CreateTenant(ctx, tt); err != nil {
			t.Fatal(err)
		}
	}
	e.addUserIn(e.acme, "bob", "")
	e.addUserIn(e.globex, "bob", "")
	e.alice = e.addUserIn(e.acme, "alice", "")
	e.updateUser(e.alice.ID, func(u *lanyard.User) {
		u.LoginMethod, u.Source = lanyard.LoginSSO, lanyard.SourceIdP
		u.SetRoles(lanyard.RoleIdP, []string{"admin", lanyard.RoleTenantAdmin})
	})
	e.alice, _ = e.store.User(ctx, e.alice.ID)
	id, _, err := e.server.sessions.Open(ctx, e.acme, e.alice, lanyard.SessionSSO, sessionMeta())
	if err != nil {
		t.Fatal(err)
	}
	e.aliceClient = e.client()
	base, _ := url.Parse(e.http.URL)
	e.aliceClient.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
	home := e.get(e.aliceClient, "/admin/")
	if home.StatusCode != http.StatusOK {
		t.Fatalf("alice's admin home: %d\n%s", home.StatusCode, home.body)
	}
	e.aliceCSRF = e.csrfToken(home)
	if _, e.aliceToken, err = e.admin.CreateAPIToken(lanyard.WithPrincipal(ctx, lanyard.PrincipalOf(e.alice)), "alice", "acme-sync", []string{"write"}, 0); err != nil {
		t.Fatal(err)
	}
	if _, e.opToken, err = e.admin.CreateAPIToken(ctx, "cli", "ops", []string{"write"}, 0); err != nil {
		t.Fatal(err)
	}
	// Something of globex in the audit trail, to see it is not shown.
	if _, err := e.admin.AddUser(ctx, "cli", "globex", lanyard.User{Login: "globex-secret-user"}); err != nil {
		t.Fatal(err)
	}
	return e
}

// request sends a request of the method to path (a form with the CSRF
// token, or for the API a JSON body and the bearer token).
func (e *scopeEnv) request(c *http.Client, method, path, bearer string) response {
	e.t.Helper()
	var body *strings.Reader
	ct := "application/x-www-form-urlencoded"
	switch {
	case method == http.MethodGet:
		body = strings.NewReader("")
	case bearer != "":
		body, ct = strings.NewReader("{}"), "application/json"
	default:
		body = strings.NewReader(url.Values{csrfField: {e.aliceCSRF}}.Encode())
	}
	req, err := http.NewRequest(method, e.http.URL+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if method != http.MethodGet {
		req.Header.Set("Content-Type", ct)
		req.Header.Set("Origin", e.http.URL)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return e.do(c, req)
}

// Spellings of another tenant in a path, and of none: all refused alike.
var otherTenants = []string{"globex", "GLOBEX", "Globex", "%67lobex", "default", "nope", "acme-nope"}

// TestTenantAdminConfinedToTenant: an IdP-granted administrator of acme
// gets 403, the same for an existing and a missing tenant, on every UI page
// and API call of another tenant and on every operator's route; on the
// others, never 403.
func TestTenantAdminConfinedToTenant(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newScopeEnv(t, opts)
		noCookies := &http.Client{CheckRedirect: e.aliceClient.CheckRedirect}
		faces := []struct {
			name   string
			routes []lanyard.RouteAccess
			client *http.Client
			bearer string
		}{
			{"UI", admin.RouteTable(), e.aliceClient, ""},
			{"API", api.RouteTable(), noCookies, e.aliceToken},
		}
		for _, face := range faces {
			for _, r := range face.routes {
				var refusedBody string
				switch r.Access {
				case lanyard.AccessTenant:
					for _, other := range otherTenants {
						method, path := concretePath(r.Pattern, other)
						resp := e.request(face.client, method, path, face.bearer)
						if resp.StatusCode != http.StatusForbidden {
							t.Errorf("%s %s %s: status %d, want 403\n%.300s", face.name, method, path, resp.StatusCode, resp.body)
							continue
						}
						if refusedBody == "" {
							refusedBody = resp.body
						} else if resp.body != refusedBody {
							t.Errorf("%s %s %s: the refusal differs from another tenant's, so it tells what exists:\n%s\n---\n%s", face.name, method, path, resp.body, refusedBody)
						}
					}
					method, path := concretePath(r.Pattern, "acme")
					if resp := e.request(face.client, method, path, face.bearer); resp.StatusCode == http.StatusForbidden {
						t.Errorf("%s %s %s: 403 in alice's own tenant\n%.300s", face.name, method, path, resp.body)
					}
				case lanyard.AccessOperator:
					method, path := concretePath(r.Pattern, "acme")
					if resp := e.request(face.client, method, path, face.bearer); resp.StatusCode != http.StatusForbidden {
						t.Errorf("%s %s %s (operators only): status %d, want 403\n%.300s", face.name, method, path, resp.StatusCode, resp.body)
					}
				default:
					method, path := concretePath(r.Pattern, "acme")
					if resp := e.request(face.client, method, path, face.bearer); resp.StatusCode == http.StatusForbidden {
						t.Errorf("%s %s %s (%v): 403\n%.300s", face.name, method, path, r.Access, resp.body)
					}
				}
			}
		}

		// An operator's token passes every check (the answers are then
		// the handlers': 200, 400, 404...).
		for _, r := range api.RouteTable() {
			method, path := concretePath(r.Pattern, "globex")
			if resp := e.request(noCookies, method, path, e.opToken); resp.StatusCode == http.StatusForbidden || resp.StatusCode == http.StatusUnauthorized {
				t.Errorf("operator: %s %s: %d\n%.300s", method, path, resp.StatusCode, resp.body)
			}
		}
	})
}

// The routes open to every administrator show a tenant administrator only
// their tenant: tenants, audit trail, API tokens.
func TestTenantAdminSeesOnlyTheirTenant(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newScopeEnv(t, opts)
		home := e.get(e.aliceClient, "/admin/")
		for _, hidden := range []string{"globex", `href="/admin/tenants/default"`, "Create a tenant", `href="/admin/routes"`} {
			if strings.Contains(home.body, hidden) {
				t.Errorf("alice's home shows %q:\n%s", hidden, home.body)
			}
		}
		for _, shown := range []string{`href="/admin/tenants/acme"`, "administrator of tenant acme"} {
			if !strings.Contains(home.body, shown) {
				t.Errorf("alice's home lacks %q", shown)
			}
		}
		audit := e.get(e.aliceClient, "/admin/audit")
		if audit.StatusCode != http.StatusOK || strings.Contains(audit.body, "globex-secret-user") || strings.Contains(audit.body, `value="globex"`) {
			t.Errorf("alice's audit page shows globex (%d):\n%s", audit.StatusCode, audit.body)
		}
		if r := e.get(e.aliceClient, "/admin/audit?tenant=globex"); r.StatusCode != http.StatusForbidden {
			t.Errorf("alice's audit of globex: %d", r.StatusCode)
		}
		// A trace of globex is not found through acme's path.
		tr := lanyard.LoginTrace{TenantID: e.globex.ID, Time: e.clock.Now(), Reason: "signature", Message: "globex-secret-trace"}
		if err := e.store.AddLoginTrace(t.Context(), &tr, 0); err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(tr.ID, 10)
		if r := e.get(e.aliceClient, "/admin/tenants/acme/traces/"+id); r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "globex-secret-trace") {
			t.Errorf("globex's trace through acme's page: %d", r.StatusCode)
		}
		if r := e.request(&http.Client{}, http.MethodGet, "/api/v1/tenants/acme/traces/"+id, e.aliceToken); r.StatusCode != http.StatusNotFound || strings.Contains(r.body, "globex-secret-trace") {
			t.Errorf("globex's trace through acme's API: %d", r.StatusCode)
		}
		tokens := e.get(e.aliceClient, "/admin/tokens")
		if strings.Contains(tokens.body, ">ops<") || !strings.Contains(tokens.body, "acme-sync") {
			t.Errorf("alice's tokens page:\n%s", tokens.body)
		}

		alice := e.apiClient(e.aliceToken)
		ctx := t.Context()
		ts, err := alice.ListTenants(ctx)
		if err != nil || len(ts.Tenants) != 1 || ts.Tenants[0].Slug != "acme" {
			t.Errorf("alice lists tenants %+v (%v)", ts, err)
		}
		evs, err := alice.ListAuditEvents(ctx, apiv1.AuditQuery{Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs.Events {
			if ev.TenantID != e.acme.ID {
				t.Errorf("alice reads an audit event of tenant %d: %+v", ev.TenantID, ev)
			}
		}
		if _, err := alice.ListAuditEvents(ctx, apiv1.AuditQuery{Tenant: "globex"}); !isStatus(err, http.StatusForbidden) {
			t.Errorf("alice's audit of globex: %v", err)
		}
		toks, err := alice.ListTokens(ctx)
		if err != nil || len(toks.Tokens) != 1 || toks.Tokens[0].Name != "acme-sync" {
			t.Errorf("alice lists tokens %+v (%v)", toks, err)
		}
	})
}

// A tenant administrator cannot make an operator, nor touch an operator's
// account, nor make the IdP or new accounts grant administrative roles.
func TestTenantAdminCannotEscalate(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newScopeEnv(t, opts)
		e.addUserIn(e.acme, "acme-root", "", lanyard.RoleOperator)
		patch := func(path string, settings map[string]string) response {
			b, _ := json.Marshal(map[string]any{"settings": settings})
			req, _ := http.NewRequest(http.MethodPatch, e.http.URL+path, strings.NewReader(string(b)))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.aliceToken)
			return e.do(&http.Client{}, req)
		}
		for _, c := range []struct {
			name     string
			path     string
			settings map[string]string
			status   int
		}{
			{"grant operator", "/api/v1/tenants/acme/users/bob", map[string]string{"roles": lanyard.RoleOperator}, http.StatusForbidden},
			{"grant operator among others", "/api/v1/tenants/acme/users/bob", map[string]string{"roles": "staff;" + lanyard.RoleOperator}, http.StatusForbidden},
			{"look-alike operator", "/api/v1/tenants/acme/users/bob", map[string]string{"roles": "Lanyard:Operator"}, http.StatusBadRequest},
			{"change an operator's account", "/api/v1/tenants/acme/users/acme-root", map[string]string{"status": "inactive"}, http.StatusForbidden},
			{"take the operator role away", "/api/v1/tenants/acme/users/acme-root", map[string]string{"roles": "staff"}, http.StatusForbidden},
			{"map a group to operator", "/api/v1/tenants/acme", map[string]string{"group_roles.x": lanyard.RoleOperator}, http.StatusBadRequest},
			{"map a group to a look-alike", "/api/v1/tenants/acme", map[string]string{"group_roles.x": "LANYARD:operator"}, http.StatusBadRequest},
			{"default role tenant admin", "/api/v1/tenants/acme", map[string]string{"new_user.roles": lanyard.RoleTenantAdmin}, http.StatusBadRequest},
			{"claim an email domain", "/api/v1/tenants/acme", map[string]string{"email_domains": "globex.example"}, http.StatusForbidden},
			{"make a tenant administrator", "/api/v1/tenants/acme/users/bob", map[string]string{"roles": lanyard.RoleTenantAdmin}, http.StatusOK},
			{"map a group to tenant admin", "/api/v1/tenants/acme", map[string]string{"group_roles.admins": lanyard.RoleTenantAdmin}, http.StatusOK},
		} {
			if r := patch(c.path, c.settings); r.StatusCode != c.status {
				t.Errorf("%s: %d, want %d\n%s", c.name, r.StatusCode, c.status, r.body)
			}
		}
		u, err := e.admin.User(t.Context(), "acme", "acme-root")
		if err != nil || u.Status != lanyard.StatusActive || !u.IsOperator() {
			t.Errorf("the operator's account changed: %+v", u)
		}
		// Merging and converting go through the same rule.
		for _, body := range []string{`{"keep":"bob","remove":"acme-root"}`, `{"keep":"acme-root","remove":"bob"}`} {
			req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/tenants/acme/users/merge", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+e.aliceToken)
			if r := e.do(&http.Client{}, req); r.StatusCode != http.StatusForbidden {
				t.Errorf("merge %s: %d\n%s", body, r.StatusCode, r.body)
			}
		}
		req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/tenants/acme/users/convert", strings.NewReader(`{"logins":["acme-root"],"domain":"acme.example"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.aliceToken)
		if r := e.do(&http.Client{}, req); r.StatusCode != http.StatusForbidden {
			t.Errorf("convert the operator: %d\n%s", r.StatusCode, r.body)
		}
		// In the UI too.
		r := e.post(e.aliceClient, "/admin/tenants/acme/users/bob", url.Values{csrfField: {e.aliceCSRF}, "roles": {lanyard.RoleOperator}}, "Origin", e.http.URL)
		if r.StatusCode != http.StatusForbidden {
			t.Errorf("UI grant of operator: %d\n%.400s", r.StatusCode, r.body)
		}
	})
}

// A token never does more than its creator can now: taking the creator's
// rights away stops it at its next use, and giving them back restores it.
func TestTokensBoundedByCreator(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newScopeEnv(t, opts)
		ctx := t.Context()
		status := func(token, method, path string) int {
			t.Helper()
			return e.request(&http.Client{}, method, path, token).StatusCode
		}
		usersOfAcme := "/api/v1/tenants/acme/users"

		// alice's token, while the IdP grants her the role, then not.
		if s := status(e.aliceToken, http.MethodGet, usersOfAcme); s != http.StatusOK {
			t.Fatalf("alice's token: %d", s)
		}
		e.updateUser(e.alice.ID, func(u *lanyard.User) { u.SetRoles(lanyard.RoleIdP, []string{"admin"}) })
		if s := status(e.aliceToken, http.MethodGet, usersOfAcme); s != http.StatusUnauthorized {
			t.Errorf("alice's token after her IdP stopped granting the role: %d, want 401", s)
		}
		e.updateUser(e.alice.ID, func(u *lanyard.User) { u.SetRoles(lanyard.RoleIdP, []string{lanyard.RoleTenantAdmin}) })
		if s := status(e.aliceToken, http.MethodGet, usersOfAcme); s != http.StatusOK {
			t.Errorf("alice's token with the role back: %d", s)
		}
		e.updateUser(e.alice.ID, func(u *lanyard.User) { u.Status = lanyard.StatusInactive })
		if s := status(e.aliceToken, http.MethodGet, usersOfAcme); s != http.StatusUnauthorized {
			t.Errorf("alice's token with alice inactive: %d, want 401", s)
		}
		e.updateUser(e.alice.ID, func(u *lanyard.User) { u.Status = lanyard.StatusActive })

		// A token made with alice's token is acme's, whatever it asks.
		req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/tokens", strings.NewReader(`{"name":"child","scopes":["write"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.aliceToken)
		created := e.do(&http.Client{}, req)
		var child struct{ Secret string }
		if err := json.Unmarshal([]byte(created.body), &child); err != nil || child.Secret == "" {
			t.Fatalf("child token: %d %s", created.StatusCode, created.body)
		}
		for _, c := range []struct {
			method, path string
			want         int
		}{
			{http.MethodGet, usersOfAcme, http.StatusOK},
			{http.MethodGet, "/api/v1/tenants/globex/users", http.StatusForbidden},
			{http.MethodGet, "/api/v1/routes", http.StatusForbidden},
			{http.MethodPost, "/api/v1/tenants", http.StatusForbidden},
		} {
			if s := status(child.Secret, c.method, c.path); s != c.want {
				t.Errorf("child token %s %s: %d, want %d", c.method, c.path, s, c.want)
			}
		}

		// An operator's global token stops when the operator becomes a
		// tenant administrator; their tenant's token keeps working.
		root := e.addUser("root", "", lanyard.RoleOperator)
		rootCtx := lanyard.WithPrincipal(ctx, lanyard.PrincipalOf(root))
		_, global, err := e.admin.CreateAPIToken(rootCtx, "root", "root-global", []string{"write"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, forGlobex, err := e.admin.CreateTenantAPIToken(rootCtx, "root", "globex", "root-globex", []string{"read"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s := status(global, http.MethodGet, "/api/v1/routes"); s != http.StatusOK {
			t.Fatalf("operator's global token: %d", s)
		}
		if s := status(forGlobex, http.MethodGet, usersOfAcme); s != http.StatusForbidden {
			t.Errorf("operator's globex token on acme: %d, want 403", s)
		}
		if s := status(forGlobex, http.MethodGet, "/api/v1/tenants/globex/users"); s != http.StatusOK {
			t.Errorf("operator's globex token on globex: %d", s)
		}
		if _, err := e.admin.RevokeAdmin(ctx, "cli", "default", "root", lanyard.RoleOperator); err != nil {
			t.Fatal(err)
		}
		if _, err := e.admin.GrantAdmin(ctx, "cli", "default", "root", lanyard.RoleTenantAdmin); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			token, path string
		}{{global, "/api/v1/routes"}, {global, "/api/v1/tenants/default/users"}, {forGlobex, "/api/v1/tenants/globex/users"}} {
			if s := status(c.token, http.MethodGet, c.path); s != http.StatusUnauthorized {
				t.Errorf("token of a former operator on %s: %d, want 401", c.path, s)
			}
		}
		// Through the API: an operator's token makes a token of globex;
		// alice's cannot.
		mint := func(bearer, body string) response {
			req, _ := http.NewRequest(http.MethodPost, e.http.URL+"/api/v1/tokens", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+bearer)
			return e.do(&http.Client{}, req)
		}
		if r := mint(e.opToken, `{"name":"globex-ro","scopes":["read"],"tenant":"globex"}`); r.StatusCode != http.StatusCreated || !strings.Contains(r.body, `"tenant_id": `+strconv.FormatInt(e.globex.ID, 10)) {
			t.Errorf("operator mints a globex token: %d\n%s", r.StatusCode, r.body)
		}
		for _, tenant := range []string{"globex", "nope"} {
			if r := mint(e.aliceToken, `{"name":"steal-`+tenant+`","scopes":["read"],"tenant":"`+tenant+`"}`); r.StatusCode != http.StatusForbidden {
				t.Errorf("alice mints a token of %s: %d\n%s", tenant, r.StatusCode, r.body)
			}
		}
		// A tenant administrator cannot mint a token beyond their tenant.
		if _, _, err := e.admin.CreateTenantAPIToken(lanyard.WithPrincipal(ctx, lanyard.PrincipalOf(e.alice)), "alice", "globex", "steal", []string{"read"}, 0); lanyard.ErrorKind(err) != lanyard.KindForbidden {
			t.Errorf("alice's token for globex: %v", err)
		}
		if !e.hasAudit("admin.revoke", lanyard.OutcomeSuccess, "") {
			t.Error("no admin.revoke audit event")
		}
	})
}

// An operator's account signed in through an IdP is not an operator: the
// tenant's IdP, which its administrators manage, could assert that login.
func TestOperatorRightsNeedPasswordSession(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newScopeEnv(t, opts)
		ctx := context.Background()
		op := e.addUserIn(e.acme, "acme-root", "", lanyard.RoleOperator, lanyard.RoleTenantAdmin)
		for _, c := range []struct {
			kind lanyard.SessionKind
			want map[string]int
		}{
			{lanyard.SessionSSO, map[string]int{"/admin/routes": http.StatusForbidden, "/admin/tenants/globex/users": http.StatusForbidden, "/admin/tenants/acme/users": http.StatusOK}},
			{lanyard.SessionPassword, map[string]int{"/admin/routes": http.StatusOK, "/admin/tenants/globex/users": http.StatusOK, "/admin/tenants/acme/users": http.StatusOK}},
		} {
			id, _, err := e.server.sessions.Open(ctx, e.acme, op, c.kind, sessionMeta())
			if err != nil {
				t.Fatal(err)
			}
			cl := e.client()
			base, _ := url.Parse(e.http.URL)
			cl.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
			for path, want := range c.want {
				if r := e.get(cl, path); r.StatusCode != want {
					t.Errorf("operator in a %s session: GET %s %d, want %d", c.kind, path, r.StatusCode, want)
				}
			}
		}
	})
}
