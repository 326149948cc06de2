package admin

import (
	"net/http"
	"strings"
)

// handleAdminIdPRefresh fetches an IdP's metadata from its URL now.
func handleAdminIdPRefresh(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		c, err := d.Admin.IdP(r.Context(), slug, r.PostFormValue("entity_id"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		res, err := d.Admin.RefreshIdP(r.Context(), actor(r), c)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		msg := "Refreshed " + c.EntityID + ": " + res.Changes
		if len(res.Warnings) > 0 {
			msg += ". Warnings: " + strings.Join(res.Warnings, "; ")
		}
		done(w, r, tenantURL(slug, ""), msg)
	})
}
