package web

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

// hostilePage is an application behind a path route of Lanyard's own host
// that tries to take over the administration: read an administrator's
// CSRF token, call the admin API, mint an API token, from its own origin
// and at the admin origin. Each attempt writes what it got to
// window.results; window.done is set at the end.
const hostilePage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Hostile application</title></head>
<body><h1 id="hostile">Hostile application</h1>
<iframe name="sink" id="sink" title="sink"></iframe>
<script>
const ADMIN = %q;
window.results = {};
async function attempt(name, f) {
  try { window.results[name] = await f(); } catch (e) { window.results[name] = "blocked: " + e.name; }
}
(async () => {
  await attempt("same-origin admin page", async () => { const r = await fetch("/admin/tokens", {credentials: "include"}); return r.status + " " + (await r.text()).includes("csrf_token"); });
  await attempt("same-origin admin login", async () => { const r = await fetch("/admin/login", {credentials: "include"}); return r.status + " " + (await r.text()).includes("csrf_token"); });
  await attempt("same-origin API", async () => { const r = await fetch("/api/v1/tokens", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body: '{"name":"pwn-api","scopes":["read","write"]}'}); return r.status + ""; });
  await attempt("admin page at the admin origin", async () => { const r = await fetch(ADMIN + "/admin/tokens", {credentials: "include"}); return r.status + " " + (await r.text()).includes("csrf_token"); });
  await attempt("API at the admin origin", async () => { const r = await fetch(ADMIN + "/api/v1/tokens", {method: "POST", credentials: "include", headers: {"Content-Type": "application/json"}, body: '{"name":"pwn-cors","scopes":["read","write"]}'}); return r.status + ""; });
  await attempt("simple POST to the admin origin", async () => { const r = await fetch(ADMIN + "/admin/tokens", {method: "POST", mode: "no-cors", credentials: "include", body: new URLSearchParams({name: "pwn-nocors", scope_write: "on", expires_days: "0"})}); return r.type; });
  await attempt("admin page in a frame", () => new Promise(resolve => {
    const f = document.createElement("iframe");
    f.onload = () => { try { resolve("read: " + f.contentDocument.body.innerHTML.includes("csrf_token")); } catch (e) { resolve("blocked: " + e.name); } };
    f.src = ADMIN + "/admin/tokens";
    document.body.appendChild(f);
    setTimeout(() => resolve("no load"), 5000);
  }));
  await attempt("form post to the admin origin", () => new Promise(resolve => {
    const form = document.createElement("form");
    form.method = "post"; form.action = ADMIN + "/admin/tokens"; form.target = "sink";
    for (const [k, v] of [["name", "pwn-form"], ["scope_write", "on"], ["expires_days", "0"]]) {
      const i = document.createElement("input"); i.name = k; i.value = v; form.appendChild(i);
    }
    document.body.appendChild(form);
    document.getElementById("sink").onload = () => resolve("sent");
    form.submit();
    setTimeout(() => resolve("sent"), 5000);
  }));
  for (const origin of ["", ADMIN]) {
    await attempt("mint a token with a read CSRF token at " + (origin || "its own origin"), async () => {
      const page = await (await fetch(origin + "/admin/tokens", {credentials: "include"})).text();
      const m = page.match(/name="csrf_token" value="([^"]+)"/);
      if (!m) return "no token";
      const r = await fetch(origin + "/admin/tokens", {method: "POST", credentials: "include", body: new URLSearchParams({csrf_token: m[1], name: "pwn-csrf", scope_write: "on", expires_days: "0"})});
      return "posted " + r.status;
    });
  }
  window.done = true;
})();
</script></body></html>
`

// TestHostileApplicationInChromium: an administrator signed in to the
// admin UI (on its own origin, admin_base_url) opens an application served
// by a path route of Lanyard's host; the application's page cannot read
// the admin UI, call the admin API or mint a token.
func TestHostileApplicationInChromium(t *testing.T) {
	browser := newChromium(t)
	ctx := context.Background()
	store := testdb.Open(t, "sqlite").(*sqlstore.DB)
	tenant := lanyard.Tenant{Slug: lanyard.DefaultTenantSlug, DisplayName: "Default"}
	if err := store.CreateTenant(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	baseURL := "http://sso.lanyard.localhost:" + port
	adminOrigin := "http://admin.lanyard.localhost:" + port
	base, _ := url.Parse(baseURL)

	hostile := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, strings.Replace(hostilePage, "%q", `"`+adminOrigin+`"`, 1))
	}))
	defer hostile.Close()

	svc := admin.New(store, admin.Options{BaseURL: base})
	mgr := session.NewManager(store, session.Options{})
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: session.NewCache(mgr, store, session.CacheOptions{}), Store: store,
		AdminHost:    "admin.lanyard.localhost:" + port,
		StaticRoutes: []lanyard.ProxyRoute{{Name: "hostile", PathPrefix: "/evil/", Upstream: hostile.URL, Tenant: tenant.Slug}}})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelInfo}))
	server := New(Config{BaseURL: base, Store: store, Admin: svc, Gateway: gw, Logger: logger, AdminHost: "admin.lanyard.localhost:" + port})
	srv.Config.Handler = gw.Wrap(server)
	srv.Start()
	defer srv.Close()
	server.SetReady()

	e := &env{t: t, store: store, tenant: tenant}
	root := e.addUser("root", adminPassword, lanyard.RoleOperator)
	b := &tab{t: t, ctx: browser, dir: artifactDir(t)}

	// The administrator signs in to the admin UI on its own origin.
	b.do("open the admin sign-in", chromedp.Navigate(adminOrigin+"/admin/login"), chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)))
	eval[any](b, `(() => { document.querySelector('input[name="username"]').value = "root"; document.querySelector('input[name="password"]').value = `+"`"+adminPassword+"`"+`; document.querySelector('input[name="username"]').form.submit(); return true })()`)
	b.waitJS("signed in to the admin UI", `location.pathname === "/admin/" && document.readyState === "complete"`, 15*time.Second)
	b.do("open the tokens page", chromedp.Navigate(adminOrigin+"/admin/tokens"), chromedp.WaitVisible(chromedp.CSS("h1")))
	if !eval[bool](b, `!!document.querySelector('input[name="csrf_token"]')`) {
		t.Fatal("the tokens page has no CSRF token: the test would prove nothing")
	}

	// The same administrator has a session on Lanyard's host, where the
	// hostile application is served.
	id, _, err := mgr.Open(ctx, tenant, root, lanyard.SessionPassword, session.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	b.do("open Lanyard's home", chromedp.Navigate(baseURL+"/"), chromedp.WaitVisible(chromedp.CSS("h1")))
	eval[any](b, `document.cookie = "lanyard_session=`+id+`; path=/"`)
	before, err := store.APITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}

	b.do("open the hostile application", chromedp.Navigate(baseURL+"/evil/"), chromedp.WaitVisible(chromedp.CSS("#hostile")))
	b.waitJS("the hostile page's attempts", "window.done === true", 30*time.Second)
	results := eval[map[string]string](b, "window.results")
	b.shot("hostile-application.png")
	t.Logf("attempts: %v", results)
	for name, want := range map[string]func(string) bool{
		"same-origin admin page":                                func(s string) bool { return s == "404 false" },
		"same-origin admin login":                               func(s string) bool { return s == "404 false" },
		"same-origin API":                                       func(s string) bool { return s == "404" },
		"admin page at the admin origin":                        func(s string) bool { return strings.HasPrefix(s, "blocked") },
		"API at the admin origin":                               func(s string) bool { return strings.HasPrefix(s, "blocked") },
		"simple POST to the admin origin":                       func(s string) bool { return s == "opaque" || strings.HasPrefix(s, "blocked") },
		"admin page in a frame":                                 func(s string) bool { return !strings.HasPrefix(s, "read") },
		"form post to the admin origin":                         func(s string) bool { return true },
		"mint a token with a read CSRF token at its own origin": func(s string) bool { return s == "no token" },
		"mint a token with a read CSRF token at " + adminOrigin: func(s string) bool { return strings.HasPrefix(s, "blocked") },
	} {
		got, ok := results[name]
		if !ok || !want(got) {
			t.Errorf("%s: %q", name, got)
		}
	}
	after, err := store.APITokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the hostile application minted API tokens: %d before, %d after: %+v", len(before), len(after), after)
	}
}
