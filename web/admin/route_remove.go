package admin

import "net/http"

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
