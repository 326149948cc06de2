package admin

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/lanyard-sso/lanyard/admin"
)

type mergeView struct {
	adminPage
	Keep, Remove string
	Plan         *admin.MergePlan
}

// handleAdminMerge shows the merge form and, with keep and remove given,
// the preview of the merge with a button to confirm it.
func handleAdminMerge(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := d.newTenantPage(r, "Merge accounts")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		v := mergeView{adminPage: page, Keep: r.URL.Query().Get("keep"), Remove: r.URL.Query().Get("remove")}
		if v.Keep != "" && v.Remove != "" {
			plan, err := d.Admin.PreviewMerge(r.Context(), page.Tenant.Slug, v.Keep, v.Remove)
			if p := problems(err); p != nil {
				v.Problems = p
			} else if err != nil {
				d.Kit.RenderError(w, r, err)
				return
			} else {
				v.Plan = &plan
			}
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_merge", v)
	})
}

// handleAdminMergeSubmit merges after the preview was confirmed.
func handleAdminMergeSubmit(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		plan, err := d.Admin.MergeUsers(r.Context(), actor(r), slug, r.PostFormValue("keep"), r.PostFormValue("remove"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, "/users/"+url.PathEscape(plan.Keep.Login)),
			fmt.Sprintf("Merged %s into %s: %d link(s), %d session(s) and %d audit event(s) moved; %s deleted.",
				plan.Remove.Login, plan.Keep.Login, len(plan.Links), plan.Sessions, plan.AuditEvents, plan.Remove.Login))
	})
}
