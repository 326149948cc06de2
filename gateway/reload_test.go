package gateway_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
)

// TestSetStaticRoutes: a reload puts the new routes in use at once; an
// invalid route changes nothing and is named.
func TestSetStaticRoutes(t *testing.T) {
	store := testdb.SQLite(t)
	base, _ := url.Parse("https://sso.example.com")
	cache := session.NewCache(session.NewManager(store, session.Options{}), store, session.CacheOptions{})
	one := lanyard.ProxyRoute{Name: "one", Host: "app.example.com", PathPrefix: "/one/", Upstream: "http://127.0.0.1:9"}
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, StaticRoutes: []lanyard.ProxyRoute{one}})
	if err != nil {
		t.Fatal(err)
	}
	two := lanyard.ProxyRoute{Name: "two", Host: "app.example.com", PathPrefix: "/two/", Upstream: "http://127.0.0.1:9"}
	if err := gw.SetStaticRoutes([]lanyard.ProxyRoute{two}); err != nil {
		t.Fatal(err)
	}
	if r := gw.Routes(); len(r) != 1 || r[0].Name != "two" {
		t.Fatalf("routes after the reload: %+v", r)
	}
	bad := lanyard.ProxyRoute{Name: "bad", Host: "", PathPrefix: "/portal/", Upstream: "http://127.0.0.1:9"}
	if err := gw.SetStaticRoutes([]lanyard.ProxyRoute{one, bad}); err == nil || !strings.Contains(err.Error(), `"bad"`) {
		t.Errorf("a route on Lanyard's own host: %v, want a refusal naming it", err)
	}
	if r := gw.Routes(); len(r) != 1 || r[0].Name != "two" {
		t.Errorf("a refused reload changed the routes: %+v", r)
	}
}
