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

// handleAdminRouteSave adds a route or replaces the one of the same name.
func handleAdminRouteSave(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		form := lanyard.ProxyRoute{
			Name:        r.PostFormValue("name"),
			Host:        r.PostFormValue("host"),
			PathPrefix:  r.PostFormValue("path_prefix"),
			Upstream:    r.PostFormValue("upstream"),
			Tenant:      r.PostFormValue("tenant"),
			Roles:       lanyard.ParseRoles(r.PostFormValue("roles")),
			BearerToken: r.PostFormValue("bearer_token") == "on",
			StripPrefix: r.PostFormValue("strip_prefix") == "on",
		}
		rt, err := d.Admin.PutProxyRoute(r.Context(), actor(r), form)
		if p := problems(err); p != nil {
			page := newAdminPage(r, "Applications")
			page.Problems = p
			d.renderRoutes(w, r, page, form)
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, "/admin/routes", "Saved route "+rt.Name+"; every server serves it within seconds.")
	})
}

// handleAdminRouteRemove removes a route.
func handleAdminRouteRemove(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		name := r.PostFormValue("name")
		if err := d.Admin.DeleteProxyRoute(r.Context(), actor(r), name); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, "/admin/routes", "Removed route "+name+".")
	})
}
