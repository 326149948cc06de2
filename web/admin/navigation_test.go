package admin

import (
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// Every link of the navigation leads to a page of the route table, and is
// offered exactly to the administrators that page admits.
func TestNavigationFollowsRouteAccess(t *testing.T) {
	for _, e := range append(append([]navEntry{}, mainNav...), tenantNav...) {
		if _, ok := routeAccess(e.route); !ok {
			t.Errorf("navigation link %q leads to %q, which is not a route", e.text, e.route)
		}
	}
	operator := lanyard.Principal{UserID: 1, Operator: true}
	acmeAdmin := lanyard.Principal{UserID: 2, TenantID: 7}
	for _, c := range []struct {
		name     string
		p        lanyard.Principal
		tenantID int64
		slug     string
		want     []string
		never    []string
	}{
		{"operator, home", operator, 0, "", []string{"/admin/", "/admin/routes", "/admin/tokens", "/admin/audit"}, []string{"/admin/tenants/"}},
		{"operator, a tenant", operator, 7, "acme", []string{"/admin/routes", "/admin/tenants/acme", "/admin/tenants/acme/users", "/admin/tenants/acme/traces"}, nil},
		{"tenant administrator, their tenant", acmeAdmin, 7, "acme", []string{"/admin/", "/admin/tokens", "/admin/audit", "/admin/tenants/acme", "/admin/tenants/acme/users", "/admin/tenants/acme/import", "/admin/tenants/acme/merge", "/admin/tenants/acme/traces"}, []string{"/admin/routes"}},
		{"tenant administrator, another tenant", acmeAdmin, 8, "other", []string{"/admin/", "/admin/audit"}, []string{"/admin/routes", "/admin/tenants/other"}},
	} {
		main, tenant := navigation(c.p, c.tenantID, c.slug, "/admin/audit")
		var got []string
		for _, l := range append(main, tenant...) {
			got = append(got, l.Href)
			if l.Current != (l.Href == "/admin/audit") {
				t.Errorf("%s: %s marked current %v", c.name, l.Href, l.Current)
			}
		}
		joined := " " + strings.Join(got, " ") + " "
		for _, w := range c.want {
			if !strings.Contains(joined, " "+w+" ") {
				t.Errorf("%s: navigation %v lacks %s", c.name, got, w)
			}
		}
		for _, n := range c.never {
			if strings.Contains(joined, " "+n) {
				t.Errorf("%s: navigation %v offers %s", c.name, got, n)
			}
		}
	}
}

// A page within a section marks the section as current, and only it.
func TestNavigationMarksTheSection(t *testing.T) {
	operator := lanyard.Principal{UserID: 1, Operator: true}
	for path, want := range map[string]string{
		"/admin/tenants/acme/users/ann":        "/admin/tenants/acme/users",
		"/admin/tenants/acme/users":            "/admin/tenants/acme/users",
		"/admin/tenants/acme":                  "/admin/tenants/acme",
		"/admin/tenants/acme/traces/12":        "/admin/tenants/acme/traces",
		"/admin/tenants/acme/users/ann/delete": "/admin/tenants/acme/users",
		"/admin/tenants/acme/delete":           "",
		"/admin/":                              "/admin/",
	} {
		main, tenant := navigation(operator, 7, "acme", path)
		var current []string
		for _, l := range append(main, tenant...) {
			if l.Current {
				current = append(current, l.Href)
			}
		}
		if strings.Join(current, " ") != want {
			t.Errorf("%s marks %q, want %q", path, current, want)
		}
	}
}

// Every tenant setting has a label in words and a help text, and the
// labels name only keys that exist.
func TestEveryTenantSettingHasALabel(t *testing.T) {
	keys := map[string]bool{}
	for _, k := range admin.TenantSettingKeys() {
		keys[k.Key] = true
		l := labelOf(k.Key)
		if l.Label == "" || l.Help == "" {
			t.Errorf("setting %s has no label or help: %+v", k.Key, l)
		}
		if strings.Contains(l.Label, "_") || strings.Contains(l.Label, k.Key) {
			t.Errorf("setting %s is labelled %q, not in words", k.Key, l.Label)
		}
	}
	for key := range settingLabels {
		if !keys[key] {
			t.Errorf("label for %s, which is no tenant setting", key)
		}
	}
	if l := labelOf("group_roles.staff"); l.Label != "Roles of group staff" {
		t.Errorf("group mapping label: %q", l.Label)
	}
}
