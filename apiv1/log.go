package apiv1

import "time"

// Trace is a refused SSO login kept by the SAML tracer.
type Trace struct {
	ID               int64     `json:"id"`
	Reference        int64     `json:"reference" doc:"the number the refusal page showed: the ID of the refusal's audit event (0: none)"`
	Time             time.Time `json:"time"`
	IdPEntityID      string    `json:"idp_entity_id"`
	Subject          string    `json:"subject"`
	Reason           string    `json:"reason" doc:"stable reason code, e.g. expired"`
	Message          string    `json:"message"`
	Hint             string    `json:"hint" doc:"the usual cause of this refusal and what to do"`
	ClockSkewSeconds float64   `json:"clock_skew_seconds" doc:"IdP clock minus Lanyard's; 0 when unknown"`
	ClientIP         string    `json:"client_ip"`
	Document         string    `json:"document,omitempty" doc:"decoded SAML message, signature values shortened; only when one trace is asked for"`
}

// TraceList answers the list of a tenant's refused logins.
type TraceList struct {
	Traces []Trace `json:"traces"`
}

// TraceQuery are the filters and paging of the list of refused logins.
type TraceQuery struct {
	Reason string `query:"reason" doc:"only this reason code"`
	Limit  int    `query:"limit" doc:"at most this many"`
	Before int64  `query:"before" doc:"only traces with a smaller ID"`
}

// Outcome is the outcome of an audited action.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// Enum lists the outcomes.
func (Outcome) Enum() []string { return []string{string(OutcomeSuccess), string(OutcomeFailure)} }

// AuditEvent is one security-relevant action.
type AuditEvent struct {
	ID       int64             `json:"id"`
	Time     time.Time         `json:"time"`
	TenantID int64             `json:"tenant_id" doc:"0 for events outside any tenant"`
	Actor    string            `json:"actor" doc:"who did it: a login, cli, system, or api:TOKEN-NAME"`
	Action   string            `json:"action" doc:"e.g. user.merge"`
	Outcome  Outcome           `json:"outcome"`
	Reason   string            `json:"reason,omitempty"`
	UserID   int64             `json:"user_id,omitempty"`
	Subject  string            `json:"subject,omitempty"`
	ClientIP string            `json:"client_ip,omitempty"`
	Message  string            `json:"message"`
	Detail   map[string]string `json:"detail,omitempty"`
}

// AuditList answers the list of audit events.
type AuditList struct {
	Events []AuditEvent `json:"events"`
}

// AuditQuery are the filters and paging of the audit log.
type AuditQuery struct {
	ID      int64     `query:"id" doc:"one event by its ID (the reference a refusal page shows)"`
	Tenant  string    `query:"tenant" doc:"slug of the tenant"`
	User    string    `query:"user" doc:"login of a user of the tenant"`
	Action  string    `query:"action" doc:"e.g. user.merge"`
	Outcome Outcome   `query:"outcome"`
	Reason  string    `query:"reason" doc:"reason code"`
	Since   time.Time `query:"since" doc:"only events at or after this time"`
	Limit   int       `query:"limit" doc:"1 to 1000 (default 100)"`
	Before  int64     `query:"before" doc:"only events with a smaller ID"`
}
