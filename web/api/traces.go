package api

import (
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiv1"
	"github.com/lanyard-sso/lanyard/web/internal/params"
)

// handleTraceList lists a tenant's refused SSO logins, without their
// documents.
func handleTraceList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.TraceQuery, _ none) (apiv1.TraceList, error) {
		traces, err := d.Traces.LoginTraces(r.Context(), r.PathValue("tenant"), q.Reason, q.Limit, q.Before)
		if err != nil {
			return apiv1.TraceList{}, err
		}
		return apiv1.TraceList{Traces: listOf(traces, func(t lanyard.LoginTrace) apiv1.Trace { return toTrace(t, false) })}, nil
	})
}

// handleTraceGet shows one refused login with its decoded message.
func handleTraceGet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.Trace, error) {
		id, err := params.ParseID(r.PathValue("id"))
		if err != nil {
			return apiv1.Trace{}, err
		}
		t, err := d.Traces.LoginTrace(r.Context(), r.PathValue("tenant"), id)
		if err != nil {
			return apiv1.Trace{}, err
		}
		return toTrace(t, true), nil
	})
}

func toTrace(t lanyard.LoginTrace, withDocument bool) apiv1.Trace {
	out := apiv1.Trace{ID: t.ID, Reference: t.AuditID, Time: t.Time, IdPEntityID: t.IdPEntityID, Subject: t.Subject, Reason: t.Reason, Message: t.Message,
		Hint: t.Hint, ClockSkewSeconds: t.ClockSkew.Seconds(), ClientIP: t.ClientIP}
	if withDocument {
		out.Document = t.Document
	}
	return out
}
