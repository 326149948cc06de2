package admin

import (
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

type tracesView struct {
	adminPage
	Traces []lanyard.LoginTrace
	// Summaries are the audit events of refusals not traced individually
	// (beyond the budget of records) in the tracer's retention.
	Summaries []lanyard.AuditEvent
	Reason    string
	Keep      int
	Days      int
}

// handleAdminTraces lists a tenant's refused SSO logins.
func handleAdminTraces(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := d.newTenantPage(r, "Refused logins")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		reason := r.URL.Query().Get("reason")
		traces, err := d.Admin.LoginTraces(r.Context(), page.Tenant.Slug, reason, 200, 0)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		summaries, err := d.Admin.AuditLog(r.Context(), admin.AuditQuery{Tenant: page.Tenant.Slug, Filter: lanyard.AuditFilter{
			Action: "sso.login", Reason: ui.ReasonRefusalsNotRecorded, Since: d.Kit.Now().Add(-admin.TraceRetention), Limit: 20}})
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_traces", tracesView{adminPage: page, Traces: traces, Summaries: summaries, Reason: reason,
			Keep: admin.TraceKeepPerTenant, Days: int(admin.TraceRetention / (24 * time.Hour))})
	})
}
