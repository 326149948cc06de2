package admin

import (
	"testing"

	"github.com/lanyard-sso/lanyard"
)

func TestProxyRoutes(t *testing.T) { forEachEngine(t, testProxyRoutes) }

func testProxyRoutes(t *testing.T, f *fixture) {
	r, err := f.svc.PutProxyRoute(f.ctx, "cli", lanyard.ProxyRoute{Name: "wiki", Host: "Wiki.Example.com", Upstream: "http://127.0.0.1:3000", Roles: []string{"staff"}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Host != "wiki.example.com" || r.Tenant != lanyard.DefaultTenantSlug || r.PathPrefix != "/" {
		t.Errorf("route not normalized: %+v", r)
	}
	ev := f.lastAudit(t, "proxy_route.put")
	if ev.Actor != "cli" || ev.Subject != "wiki" || ev.Message != "route wiki: wiki.example.com/ -> http://127.0.0.1:3000 (tenant default, roles staff)" {
		t.Errorf("audit event: %+v", ev)
	}
	routes, err := f.svc.ProxyRoutes(f.ctx)
	if err != nil || len(routes) != 1 || routes[0].Name != "wiki" {
		t.Fatalf("routes: %v %+v", err, routes)
	}

	_, err = f.svc.PutProxyRoute(f.ctx, "cli", lanyard.ProxyRoute{Name: "x y", Upstream: "nope"})
	wantError(t, err, lanyard.KindInvalid, `proxy route "x y"`, "2 problems", `upstream "nope"`)
	if n := f.auditCount(t, "proxy_route.put"); n != 1 {
		t.Errorf("%d put events after a refused route, want 1", n)
	}

	if err := f.svc.DeleteProxyRoute(f.ctx, "api:ops", "wiki"); err != nil {
		t.Fatal(err)
	}
	if ev := f.lastAudit(t, "proxy_route.delete"); ev.Actor != "api:ops" || ev.Subject != "wiki" {
		t.Errorf("delete audit event: %+v", ev)
	}
	wantError(t, f.svc.DeleteProxyRoute(f.ctx, "cli", "wiki"), lanyard.KindNotFound, `no proxy route named "wiki"`, "lanyard route list")
}
