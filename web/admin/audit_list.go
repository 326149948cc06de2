package admin

import (
	"net/http"
	"net/url"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/web/internal/params"
)

type auditView struct {
	adminPage
	Events  []lanyard.AuditEvent
	Query   url.Values
	Tenants []lanyard.Tenant
	NextID  int64
}

// handleAdminAudit lists audit events with filters.
func handleAdminAudit(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := newAdminPage(r, "Audit log")
		q := r.URL.Query()
		before, _ := params.QueryInt(r, "before")
		id, _ := params.QueryInt(r, "id")
		evs, err := d.Admin.AuditLog(r.Context(), admin.AuditQuery{Tenant: q.Get("tenant"), User: q.Get("user"), Filter: lanyard.AuditFilter{ID: id,
			Action: q.Get("action"), Outcome: lanyard.Outcome(q.Get("outcome")), Reason: q.Get("reason"), Limit: 100, BeforeID: before}})
		v := auditView{adminPage: page, Events: evs, Query: q}
		if p := problems(err); p != nil {
			v.Problems = p
		} else if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		if len(evs) == 100 {
			v.NextID = evs[len(evs)-1].ID
		}
		if v.Tenants, err = d.Admin.Tenants(r.Context()); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_audit", v)
	})
}
