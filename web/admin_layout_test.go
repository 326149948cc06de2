package web

import (
	"context"
	"html"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	adminsvc "github.com/lanyard-sso/lanyard/admin"
)

var navPattern = regexp.MustCompile(`(?s)<nav class="admin-nav"[^>]*>(.*?)</nav>`)
var hrefPattern = regexp.MustCompile(`href="([^"]*)"`)

// navHrefs are the links of the page's shared navigation, nil when it has
// none.
func navHrefs(body string) []string {
	m := navPattern.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var out []string
	for _, h := range hrefPattern.FindAllStringSubmatch(m[1], -1) {
		out = append(out, html.UnescapeString(h[1]))
	}
	return out
}

// Every admin page, the home page too, has the same navigation, and it
// offers an administrator only what they may manage: an operator the
// operators' pages, a tenant administrator their tenant's.
func TestAdminPagesShareOneNavigation(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	if _, err := e.admin.CreateTenant(ctx, "cli", "acme", "Acme Corp", nil); err != nil {
		t.Fatal(err)
	}
	acme, _ := e.admin.Tenant(ctx, "acme")
	e.addUserIn(acme, "ann", adminPassword, lanyard.RoleTenantAdmin)

	pages := []string{"/admin/", "/admin/audit", "/admin/tokens", "/admin/tenants/acme", "/admin/tenants/acme/users",
		"/admin/tenants/acme/users/ann", "/admin/tenants/acme/import", "/admin/tenants/acme/merge", "/admin/tenants/acme/traces",
		"/admin/tenants/acme/users/ann/delete"}
	// Refused pages keep the navigation too.
	refusedToTenantAdmin := []string{"/admin/routes", "/admin/tenants/default/users", "/admin/tenants/nope"}
	tenantLinks := []string{"/admin/tenants/acme", "/admin/tenants/acme/users", "/admin/tenants/acme/import", "/admin/tenants/acme/merge", "/admin/tenants/acme/traces"}
	for _, c := range []struct {
		who, tenant string
		pages       []string
		want        []string
	}{
		{"root", "", append(slices.Clone(pages), "/admin/routes", "/admin/tenants/acme/delete"),
			[]string{"/admin/", "/admin/routes", "/admin/tokens", "/admin/audit"}},
		{"ann", "acme", append(slices.Clone(pages), refusedToTenantAdmin...), append([]string{"/admin/", "/admin/tokens", "/admin/audit"}, tenantLinks...)},
	} {
		cl := e.client()
		extra := []string{}
		if c.tenant != "" {
			extra = []string{"tenant", c.tenant}
		}
		e.mustLogin(cl, c.who, adminPassword, extra...)
		for _, p := range c.pages {
			r := e.get(cl, p)
			refused := c.tenant != "" && slices.Contains(refusedToTenantAdmin, p)
			if r.StatusCode != http.StatusOK && !refused || refused && r.StatusCode != http.StatusForbidden {
				t.Errorf("%s: GET %s: %d", c.who, p, r.StatusCode)
				continue
			}
			hrefs := navHrefs(r.body)
			if hrefs == nil {
				t.Errorf("%s: %s has no navigation", c.who, p)
				continue
			}
			for _, w := range c.want {
				if !slices.Contains(hrefs, w) {
					t.Errorf("%s: the navigation of %s %v lacks %s", c.who, p, hrefs, w)
				}
			}
			for _, h := range hrefs {
				if c.tenant != "" && (h == "/admin/routes" || strings.HasPrefix(h, "/admin/tenants/") && h != "/admin/tenants/"+c.tenant && !strings.HasPrefix(h, "/admin/tenants/"+c.tenant+"/")) {
					t.Errorf("%s: the navigation of %s offers %s, which is not theirs to manage", c.who, p, h)
				}
			}
			if (strings.HasPrefix(p, "/admin/tenants/acme") || refused) && !strings.Contains(p, "/delete") {
				for _, l := range tenantLinks {
					if !slices.Contains(hrefs, l) {
						t.Errorf("%s: the navigation of %s lacks the tenant's %s", c.who, p, l)
					}
				}
			}
			if !strings.Contains(r.body, `aria-current="page"`) && p != "/admin/tenants/acme/users/ann" && !strings.Contains(p, "/delete") && !refused {
				t.Errorf("%s: the navigation of %s marks no page as current", c.who, p)
			}
		}
	}
}

// The SSO settings are labelled in words, with the key in small print: no
// setting of the form is labelled by its raw key alone.
func TestTenantSettingsLabelledInWords(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	if _, _, err := e.admin.SetTenant(context.Background(), "cli", "default", []string{"group_roles.staff=reader"}); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.mustLogin(c, "root", adminPassword)
	page := e.get(c, "/admin/tenants/default")
	labels := map[string]string{}
	for _, m := range regexp.MustCompile(`(?s)<label for="s-([^"]+)">(.*?)</label>`).FindAllStringSubmatch(page.body, -1) {
		labels[html.UnescapeString(m[1])] = m[2]
	}
	keys := []string{"group_roles.staff"}
	for _, k := range adminsvc.TenantSettingKeys() {
		if !strings.Contains(k.Key, "<") {
			keys = append(keys, k.Key)
		}
	}
	for _, key := range keys {
		label, ok := labels[key]
		if !ok {
			t.Errorf("no label for setting %s", key)
			continue
		}
		words, small, found := strings.Cut(label, `<span class="setting-key">`)
		words = strings.TrimSpace(words)
		if !found || !strings.Contains(small, "<code>"+html.EscapeString(key)+"</code>") {
			t.Errorf("setting %s: the key is not in small print below the label: %q", key, label)
		}
		if words == "" || strings.Contains(words, key) || strings.Contains(words, "_") {
			t.Errorf("setting %s is labelled %q, not in words", key, words)
		}
	}
	if len(labels) != len(keys) {
		t.Errorf("the form has %d setting labels, want %d", len(labels), len(keys))
	}
}

// The users filter offers the sources the tenant's accounts have, not a
// source no account has.
func TestUsersFilterOffersExistingSources(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	c := e.client()
	e.mustLogin(c, "root", adminPassword)
	options := func() []string {
		t.Helper()
		r := e.get(c, "/admin/tenants/default/users")
		m := regexp.MustCompile(`(?s)<select id="source" name="source">(.*?)</select>`).FindStringSubmatch(r.body)
		if m == nil {
			return nil
		}
		var out []string
		for _, o := range regexp.MustCompile(`<option value="([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
			out = append(out, o[1])
		}
		return out
	}
	// Local accounts only: nothing to choose between.
	if got := options(); got != nil {
		t.Errorf("one source: the filter offers %q", got)
	}
	ldap := e.addUser("from-ldap", "")
	e.updateUser(ldap.ID, func(u *lanyard.User) { u.Source = lanyard.SourceLDAP })
	if got := strings.Join(options(), ","); got != ",local,ldap" {
		t.Errorf("local and LDAP accounts: the filter offers %q, want any, local, ldap", got)
	}
	// A source chosen in the address stays selectable, so the page says
	// what it filters by.
	r := e.get(c, "/admin/tenants/default/users?source=idp")
	if !strings.Contains(r.body, `<option value="idp" selected>`) {
		t.Errorf("the chosen source idp is not shown as chosen")
	}
}
