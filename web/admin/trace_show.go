package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/params"
)

type traceView struct {
	adminPage
	Trace lanyard.LoginTrace
}

// handleAdminTrace shows one refused login (or SSO test report).
func handleAdminTrace(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := newAdminPage(r, "")
		id, err := params.ParseID(r.PathValue("id"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		tr, err := d.Admin.LoginTrace(r.Context(), r.PathValue("tenant"), id)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page.Tenant, _ = d.Admin.Tenant(r.Context(), r.PathValue("tenant"))
		page.Title = fmt.Sprintf("Login trace %d", tr.ID)
		d.Kit.Render(w, r, http.StatusOK, "admin_trace", traceView{adminPage: page, Trace: tr})
	})
}

// handleAdminTraceByRef opens the trace of a refused login by the reference
// its page showed (?ref=, the audit event's ID), in whatever tenant.
func handleAdminTraceByRef(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ref, err := params.QueryInt(r, "ref")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		tr, slug, err := d.Admin.LoginTraceByRef(r.Context(), ref)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		http.Redirect(w, r, "/admin/tenants/"+url.PathEscape(slug)+"/traces/"+strconv.FormatInt(tr.ID, 10), http.StatusSeeOther)
	})
}
