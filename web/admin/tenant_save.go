package admin

import (
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard/admin"
)

// handleAdminTenantSettings saves the SSO settings form: only the values
// that differ from the stored ones are sent to SetTenant, which checks them
// all at once and writes all or nothing.
func handleAdminTenantSettings(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		t, err := d.Admin.Tenant(r.Context(), slug)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		var settings []string
		for _, kv := range admin.TenantSettingValues(t) {
			if nv, ok := r.PostForm[kv.Key]; ok && strings.TrimSpace(nv[0]) != kv.Value {
				settings = append(settings, kv.Key+"="+strings.TrimSpace(nv[0]))
			}
		}
		if g := strings.TrimSpace(r.PostFormValue("new_group")); g != "" {
			settings = append(settings, "group_roles."+g+"="+strings.TrimSpace(r.PostFormValue("new_group_roles")))
		}
		if len(settings) == 0 {
			done(w, r, tenantURL(slug, ""), "No setting changed.")
			return
		}
		_, changes, err := d.Admin.SetTenant(r.Context(), actor(r), slug, settings)
		if p := problems(err); p != nil {
			page := newAdminPage(r, "")
			page.Notice, page.Problems = "", p
			d.renderTenant(w, r, page, r.PostForm)
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, ""), "Saved: "+strings.Join(changes, "; "))
	})
}
