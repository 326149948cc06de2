package api

import (
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// handleAuditList lists audit events with filters, newest first.
func handleAuditList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.AuditQuery, _ none) (apiv1.AuditList, error) {
		f := lanyard.AuditFilter{ID: q.ID, Action: q.Action, Outcome: lanyard.Outcome(q.Outcome), Reason: q.Reason, Since: q.Since, Limit: q.Limit, BeforeID: q.Before}
		evs, err := d.Audit.AuditLog(r.Context(), admin.AuditQuery{Tenant: q.Tenant, User: q.User, Filter: f})
		if err != nil {
			return apiv1.AuditList{}, err
		}
		return apiv1.AuditList{Events: listOf(evs, toAuditEvent)}, nil
	})
}

func toAuditEvent(e lanyard.AuditEvent) apiv1.AuditEvent {
	return apiv1.AuditEvent{ID: e.ID, Time: e.Time, TenantID: e.TenantID, Actor: e.Actor, Action: e.Action, Outcome: apiv1.Outcome(e.Outcome),
		Reason: e.Reason, UserID: e.UserID, Subject: e.Subject, ClientIP: e.ClientIP, Message: e.Message, Detail: e.Detail}
}
