package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
)

// TestOIDCTwoNodesOnePostgres: two servers on one PostgreSQL database, as
// behind a load balancer: a code issued by one is redeemed at the other,
// once only, and the tokens work at both.
func TestOIDCTwoNodesOnePostgres(t *testing.T) {
	dsn := testdb.PostgresURL(t)
	ctx := context.Background()
	base := &url.URL{Scheme: "http", Host: "sso.example.test"}
	var nodes []*httptest.Server
	var stores []*sqlstore.DB
	for range 2 {
		db, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		srv := New(Config{BaseURL: base, Store: db, Admin: admin.New(db, admin.Options{BaseURL: base}),
			Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))})
		srv.SetReady()
		h := httptest.NewServer(srv)
		t.Cleanup(h.Close)
		nodes, stores = append(nodes, h), append(stores, db)
	}
	tenant := lanyard.Tenant{Slug: lanyard.DefaultTenantSlug, DisplayName: "Default"}
	if err := stores[0].CreateTenant(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "alice", Email: "alice@example.com", LoginMethod: lanyard.LoginSSO, WebAccess: true}
	user.Normalize()
	if err := stores[0].CreateUser(ctx, &user); err != nil {
		t.Fatal(err)
	}
	redirect := "https://app.example.com/cb"
	secret := registerClient(t, stores[0], tenant, lanyard.OIDCClient{ClientID: "app", RedirectURIs: []string{redirect}})
	// A session opened at node 0 (any node's manager writes the shared store).
	id, _, err := session.NewManager(stores[0], session.Options{}).Open(ctx, tenant, user, lanyard.SessionSSO, sessionMeta())
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, n := range nodes {
		u, _ := url.Parse(n.URL)
		jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
	}
	authorize := func(node int) string {
		t.Helper()
		q := url.Values{"client_id": {"app"}, "redirect_uri": {redirect}, "response_type": {"code"}, "scope": {"openid email"}, "state": {"s"}}
		resp, err := browser.Get(nodes[node].URL + "/t/default/oidc/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("code") == "" {
			t.Fatalf("node %d authorization: %d %q", node, resp.StatusCode, resp.Header.Get("Location"))
		}
		return loc.Query().Get("code")
	}
	exchange := func(node int, code string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, nodes[node].URL+"/t/default/oidc/token",
			strings.NewReader(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("app", url.QueryEscape(secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	userinfo := func(node int, access any) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, nodes[node].URL+"/t/default/oidc/userinfo", nil)
		req.Header.Set("Authorization", "Bearer "+access.(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	code := authorize(0)
	status, m := exchange(1, code)
	if status != http.StatusOK || m["id_token"] == nil {
		t.Fatalf("code of node 0 at node 1: %d %v", status, m)
	}
	for node := range 2 {
		if got := userinfo(node, m["access_token"]); got != http.StatusOK {
			t.Errorf("userinfo at node %d: %d", node, got)
		}
	}
	if status, again := exchange(0, code); status != http.StatusBadRequest || again["error"] != "invalid_grant" {
		t.Fatalf("the same code at node 0 afterwards: %d %v", status, again)
	}
	for node := range 2 {
		if got := userinfo(node, m["access_token"]); got != http.StatusUnauthorized {
			t.Errorf("userinfo at node %d after the code's reuse: %d, want 401", node, got)
		}
	}

	// Codes redeemed concurrently at both nodes: exactly one wins.
	for range 5 {
		code := authorize(1)
		var wg sync.WaitGroup
		results := make([]int, 2)
		for i := range 2 {
			wg.Add(1)
			go func() { defer wg.Done(); results[i], _ = exchange(i, code) }()
		}
		wg.Wait()
		if ok := (results[0] == http.StatusOK) != (results[1] == http.StatusOK); !ok {
			t.Errorf("one code at two nodes at once: %v, want exactly one 200", results)
		}
	}
}
