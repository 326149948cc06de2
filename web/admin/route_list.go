package admin

import (
	"net/http"

	"github.com/lanyard-sso/lanyard"
)

// The reverse proxy routes in the admin UI: the same use cases as
// 'lanyard route add|list|remove' and /api/v1/routes (admin.Service).

type routesView struct {
	adminPage
	Routes []lanyard.ProxyRoute
	// Form holds the values of a refused form, shown again.
	Form lanyard.ProxyRoute
}

// handleAdminRoutes lists the routes with the form to add one.
func handleAdminRoutes(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderRoutes(w, r, newAdminPage(r, "Applications"), lanyard.ProxyRoute{})
	})
}

func (d *Deps) renderRoutes(w http.ResponseWriter, r *http.Request, page adminPage, form lanyard.ProxyRoute) {
	routes, err := d.Admin.ProxyRoutes(r.Context())
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	if form.PathPrefix == "" {
		form.PathPrefix = "/"
	}
	if form.Tenant == "" {
		form.Tenant = lanyard.DefaultTenantSlug
	}
	d.Kit.Render(w, r, http.StatusOK, "admin_routes", routesView{adminPage: page, Routes: routes, Form: form})
}
