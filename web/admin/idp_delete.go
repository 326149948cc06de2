package admin

import "net/http"

// handleAdminIdPDelete removes an IdP connection.
func handleAdminIdPDelete(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug, id := r.PathValue("tenant"), r.PostFormValue("entity_id")
		if err := d.Admin.DeleteIdP(r.Context(), actor(r), slug, id); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, ""), "Removed IdP "+id+".")
	})
}
