package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// navEntry is a link of the navigation and the route it leads to; the link
// is shown only to administrators the route's access admits, so the
// navigation never offers a page that would refuse them.
type navEntry struct {
	route string // a GET pattern of pages
	text  string
	// operatorText, when set, is the text operators see: the home page
	// lists every tenant to them.
	operatorText string
}

// mainNav are the pages of Lanyard as a whole.
var mainNav = []navEntry{
	{"GET /admin/{$}", "Home", "Tenants"},
	{"GET /admin/routes", "Applications", ""},
	{"GET /admin/tokens", "API tokens", ""},
	{"GET /admin/audit", "Audit log", ""},
}

// tenantNav are the pages of one tenant ({tenant} in the route).
var tenantNav = []navEntry{
	{"GET /admin/tenants/{tenant}", "SSO settings and IdPs", ""},
	{"GET /admin/tenants/{tenant}/users", "Users", ""},
	{"GET /admin/tenants/{tenant}/import", "CSV import", ""},
	{"GET /admin/tenants/{tenant}/merge", "Merge accounts", ""},
	{"GET /admin/tenants/{tenant}/traces", "Refused logins", ""},
	{"GET /admin/tenants/{tenant}/ldap", "LDAP directory", ""},
	{"GET /admin/tenants/{tenant}/oidc", "OpenID Connect clients", ""},
}

// routeAccess is the access pages declares for pattern; ok is false when no
// page has it.
func routeAccess(pattern string) (lanyard.Access, bool) {
	for _, p := range pages {
		if p.pattern == pattern {
			return p.access, true
		}
	}
	return 0, false
}

// navHref is the address of a navigation route, for a tenant's slug.
func navHref(route, slug string) string {
	path := strings.TrimPrefix(route, "GET ")
	path = strings.Replace(path, "{$}", "", 1)
	return strings.Replace(path, "{tenant}", url.PathEscape(slug), 1)
}

// navigation builds the links the principal may follow; tenantID and slug
// name the tenant of the page (0 and "" for none), path the page shown.
func navigation(p lanyard.Principal, tenantID int64, slug, path string) (main, tenant []ui.NavLink) {
	links := func(entries []navEntry, tenantID int64) []ui.NavLink {
		var out []ui.NavLink
		for _, e := range entries {
			access, ok := routeAccess(e.route)
			if !ok || lanyard.Authorize(p, access, tenantID) != nil {
				continue
			}
			href := navHref(e.route, slug)
			// A section's pages (a user of Users) mark it too; the tenant's
			// own page is the parent of every tenant page, so it marks only
			// itself.
			current := href == path || e.route != tenantNav[0].route && strings.HasPrefix(path, href+"/")
			text := e.text
			if p.Operator && e.operatorText != "" {
				text = e.operatorText
			}
			out = append(out, ui.NavLink{Href: href, Text: text, Current: current})
		}
		return out
	}
	main = links(mainNav, 0)
	if slug != "" {
		tenant = links(tenantNav, tenantID)
	}
	return main, tenant
}

// Navigation is the header of the page: ui's layout shows it.
func (p adminPage) Navigation() *ui.Navigation {
	kind := "administrator of tenant " + p.Tenant.Slug
	if p.principal.Operator {
		kind = "operator"
	}
	n := &ui.Navigation{Login: p.User.Login, Kind: kind, CSRF: p.CSRF, Tenant: p.Tenant.Slug}
	n.Main, n.TenantLinks = navigation(p.principal, p.Tenant.ID, p.Tenant.Slug, p.path)
	return n
}

// Navigation is the navigation of the administrator of r (ui.AdminFrom),
// for the pages the administration UI does not render itself (errors).
func Navigation(r *http.Request) *ui.Navigation {
	return newAdminPage(r, "").Navigation()
}
