package admin

import (
	"net/http"

	"github.com/lanyard-sso/lanyard"
)

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
