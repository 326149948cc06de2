package ui

// ReasonRefusalsNotRecorded is the reason code of the sso.login audit event
// that summarises refused logins beyond the budget of records (web/sso);
// the tracer page lists these events.
const ReasonRefusalsNotRecorded = "refusals_not_recorded"
