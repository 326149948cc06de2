package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/identity/verify"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

func TestRouteCommands(t *testing.T) {
	env := dataEnv(t)
	r := mustCLI(t, env, "", "route", "add", "wiki", "--upstream", "http://127.0.0.1:3000", "--host", "Wiki.Example.com", "--roles", "staff,editors", "--bearer")
	if !strings.Contains(r.stdout, "route wiki: wiki.example.com/ -> http://127.0.0.1:3000 (tenant default, roles staff,editors)") {
		t.Errorf("route add said %q", r.stdout)
	}
	mustCLI(t, env, "", "route", "add", "api", "--upstream", "http://127.0.0.1:4000", "--path", "/api/", "--strip-prefix")
	r = mustCLI(t, env, "", "route", "list")
	for _, want := range []string{"NAME", "api", "/api/", "http://127.0.0.1:4000", "wiki", "wiki.example.com", "staff,editors"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("route list lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Index(r.stdout, "api") > strings.Index(r.stdout, "wiki") {
		t.Errorf("routes not listed by name:\n%s", r.stdout)
	}
	mustCLI(t, env, "", "route", "remove", "api")
	if r := mustCLI(t, env, "", "route", "list"); strings.Contains(r.stdout, "/api/") {
		t.Errorf("removed route still listed:\n%s", r.stdout)
	}

	for _, tc := range []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"route", "add", "x"}, 2, []string{"--upstream is required"}},
		{[]string{"route", "add", "Bad Name", "--upstream", "ftp://x", "--path", "app", "--roles", "a;b,"}, 1, []string{"3 problems", `name "Bad Name"`, `upstream "ftp://x"`, `path_prefix "app"`}},
		{[]string{"route", "add", "x", "--upstream", "http://127.0.0.1:1", "--tenant", "Nope!"}, 1, []string{`tenant "Nope!": not a tenant slug`}},
		{[]string{"route", "remove", "nope"}, 1, []string{`no proxy route named "nope"`, "lanyard route list"}},
		{[]string{"route", "remove"}, 2, []string{"missing arguments"}},
	} {
		r := cli(t, env, "", tc.args...)
		if r.exitCode() != tc.code {
			t.Errorf("lanyard %s: exit %d, want %d\n%s", strings.Join(tc.args, " "), r.exitCode(), tc.code, r.output())
		}
		for _, want := range tc.want {
			if !strings.Contains(r.output(), want) {
				t.Errorf("lanyard %s: output lacks %q:\n%s", strings.Join(tc.args, " "), want, r.output())
			}
		}
	}
}

func TestGatewayConfigProblems(t *testing.T) {
	configFile := filepath.Join(t.TempDir(), "lanyard.json")
	if err := os.WriteFile(configFile, []byte(`{"routes": [{"name": "a", "upstream": "nope"}, {"name": "b", "upstream": "http://x", "tenant": "Bad!"}], "session_cache_ttl": "soon"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, dataEnv(t), "", "serve", "--config", configFile, "--identity-token-ttl", "1s")
	if r.exitCode() != 2 {
		t.Fatalf("exit %d, want 2: %s", r.exitCode(), r.output())
	}
	for _, want := range []string{`session_cache_ttl "soon"`, `--identity-token-ttl "1s": want a duration of at least 30s`, `route "a": upstream "nope"`, `route "b": tenant "Bad!"`} {
		if !strings.Contains(r.output(), want) {
			t.Errorf("output lacks %q:\n%s", want, r.output())
		}
	}
}

// TestServeGateway runs serve with a route from the config file: a signed-in
// request reaches the application with the identity and a token that
// verifies against /.well-known/jwks.json; /auth/verify answers; a route
// added with 'lanyard route add' is served without a restart.
func TestServeGateway(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "user": r.Header.Get("X-Lanyard-User"), "jwt": r.Header.Get("X-Lanyard-JWT")})
	}))
	defer upstream.Close()
	dir := t.TempDir()
	configFile := filepath.Join(t.TempDir(), "lanyard.json")
	config := fmt.Sprintf(`{"data": %q, "session_cache_ttl": "500ms", "admin_base_url": "http://admin.localhost", "routes": [{"name": "app", "path_prefix": "/app/", "upstream": %q}]}`, dir, upstream.URL)
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, []string{"--config", configFile}, nil)
	s.waitReady()

	// A signed-in user, made in the store as the login would.
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	tenant, err := db.Tenant(ctx, lanyard.DefaultTenantSlug)
	if err != nil {
		t.Fatal(err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "ada", WebAccess: true}
	user.Normalize()
	if err := db.CreateUser(ctx, &user); err != nil {
		t.Fatal(err)
	}
	id, _, err := session.NewManager(db, session.Options{}).Open(ctx, tenant, user, lanyard.SessionSSO, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, map[string]string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.url+path, nil)
		req.AddCookie(&http.Cookie{Name: "lanyard_session", Value: id})
		req.Header.Set("X-Lanyard-User", "mallory")
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var got map[string]string
		body, _ := io.ReadAll(resp.Body)
		json.Unmarshal(body, &got)
		return resp.StatusCode, got
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, got := get("/app/page")
		if status == http.StatusOK && got["user"] == "ada" {
			v := &verify.Verifier{JWKSURL: s.url + "/.well-known/jwks.json", Issuer: strings.Replace(s.url, "127.0.0.1", "localhost", 1), Audience: "app", Tenant: lanyard.DefaultTenantSlug}
			claims, err := v.Verify(ctx, got["jwt"])
			if err != nil || claims.Subject != "ada" {
				t.Fatalf("token from serve: %v %+v", err, claims)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /app/page: %d %v\n%s", status, got, s.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// get forges X-Lanyard-User: forward-auth refuses the request.
	if status, _ := get("/auth/verify"); status != http.StatusForbidden {
		t.Errorf("/auth/verify with a forged X-Lanyard-User: %d, want 403", status)
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/auth/verify", nil)
	req.AddCookie(&http.Cookie{Name: "lanyard_session", Value: id})
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Errorf("/auth/verify: %d", resp.StatusCode)
	}

	// The admin host serves the administrator sign-in itself: it is not
	// sent to the base URL like another name of the server would be.
	req, _ = http.NewRequest(http.MethodGet, s.url+"/admin/login", nil)
	req.Host = "admin.localhost"
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noRedirect.Do(req); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusOK {
		t.Errorf("/admin/login on the admin host: %d (Location %q), want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}

	// A route added by the CLI is served within the reload interval.
	mustCLI(t, map[string]string{"LANYARD_DATA": dir}, "", "route", "add", "docs", "--path", "/docs/", "--upstream", upstream.URL)
	deadline = time.Now().Add(10 * time.Second)
	for {
		status, got := get("/docs/x")
		if status == http.StatusOK && got["path"] == "/docs/x" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("route added by the CLI not served: %d %v", status, got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeRefusesRoutesOnTheAdminOrigin: a path route on Lanyard's own
// host, without admin_base_url, stops serve with an error that says what
// to do; bad admin_base_url values are configuration problems.
func TestServeRefusesRoutesOnTheAdminOrigin(t *testing.T) {
	dir := t.TempDir()
	configFile := filepath.Join(dir, "lanyard.json")
	if err := os.WriteFile(configFile, []byte(fmt.Sprintf(`{"data": %q, "routes": [{"name": "portal", "path_prefix": "/portal/", "upstream": "http://127.0.0.1:1"}]}`, dir)), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, map[string]string{"LANYARD_DATA": dir}, "", "serve", "--config", configFile, "--addr", "127.0.0.1:0")
	if r.exitCode() == 0 || !strings.Contains(r.output(), `route "portal"`) || !strings.Contains(r.output(), "admin_base_url") {
		t.Errorf("serve with a path route and no admin_base_url: exit %d:\n%s", r.exitCode(), r.output())
	}
	for _, bad := range []string{"admin.example.com", "https://admin.example.com/admin", "https://user@admin.example.com", "ftp://admin.example.com", "https://admin.example.com."} {
		r := cli(t, dataEnv(t), "", "serve", "--admin-base-url", bad)
		if r.exitCode() != 2 || !strings.Contains(r.output(), "admin_base_url") && !strings.Contains(r.output(), "admin-base-url") {
			t.Errorf("admin_base_url %q: exit %d:\n%s", bad, r.exitCode(), r.output())
		}
	}
}
