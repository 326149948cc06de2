package lanyard

import "time"

// Outcome of an audited action.
type Outcome string

// Outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// AuditEvent records one security-relevant action: a login attempt, a
// lockout, a configuration change.
type AuditEvent struct {
	ID       int64
	Time     time.Time
	TenantID int64  // 0 for events outside any tenant
	Actor    string // who did it: a login, "cli", "system"
	Action   string // e.g. "admin.login", "sso.login", "tenant.update"
	Outcome  Outcome
	Reason   string // stable reason code of a refusal, e.g. "bad_password"
	UserID   int64  // the account concerned, 0 if none
	Subject  string // the login or identity concerned
	ClientIP string
	Message  string            // detail for the administrator
	Detail   map[string]string // extra fields
}

// AuditFilter selects audit events, newest first. Zero fields match everything.
type AuditFilter struct {
	ID       int64 // one event, by the reference shown to users
	TenantID int64
	UserID   int64
	Action   string
	Outcome  Outcome
	Reason   string
	Since    time.Time
	Until    time.Time
	Limit    int   // 0: 100
	BeforeID int64 // paging: only events with ID < BeforeID
}
