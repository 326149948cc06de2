package admin

import (
	"net/http"
	"strings"
)

// handleAdminTenantCreate creates a tenant from the dashboard.
func handleAdminTenantCreate(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		var domains []string
		for _, d := range strings.Split(r.PostFormValue("email_domains"), ",") {
			if d = strings.TrimSpace(d); d != "" {
				domains = append(domains, d)
			}
		}
		t, err := d.Admin.CreateTenant(r.Context(), actor(r), strings.TrimSpace(r.PostFormValue("slug")), strings.TrimSpace(r.PostFormValue("display_name")), domains)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(t.Slug, ""), "Created tenant "+t.Slug+" with its SP keys. Connect its IdP below.")
	})
}
