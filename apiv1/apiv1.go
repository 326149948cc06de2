// Package apiv1 holds the wire types of Lanyard's JSON admin API, version 1
// (/api/v1/): the request and response bodies and the query parameters of
// every call. The server (package web/api) and the Go client (package
// apiclient) both use these types, and the OpenAPI document is generated
// from them, so the three cannot disagree.
//
// The package imports only the standard library: a program that calls the
// API needs nothing of the server.
//
// Struct tags beside json:
//   - doc:"..." is the field's description in the OpenAPI document;
//   - query:"name" names a query parameter, query:"name,required" one the
//     call cannot do without;
//   - format:"uri" is the JSON Schema format of a string.
//
// Field names are snake_case; times are RFC 3339 in UTC; a field without
// omitempty is always present (a nullable time is null when unset).
package apiv1

// Enum is a string type with a fixed set of values, listed in the OpenAPI
// document.
type Enum interface {
	Enum() []string
}

// ErrorKind classifies an error, as the server's error kinds do, with
// underscores for spaces.
type ErrorKind string

// Error kinds, each answered with one HTTP status.
const (
	KindInternal     ErrorKind = "internal"     // 500
	KindInvalid      ErrorKind = "invalid"      // 400
	KindNotFound     ErrorKind = "not_found"    // 404
	KindConflict     ErrorKind = "conflict"     // 409
	KindUnauthorized ErrorKind = "unauthorized" // 401
	KindForbidden    ErrorKind = "forbidden"    // 403
	KindUnavailable  ErrorKind = "unavailable"  // 503
	KindThrottled    ErrorKind = "throttled"    // 429
)

// Enum lists the error kinds.
func (ErrorKind) Enum() []string {
	return []string{"internal", "invalid", "not_found", "conflict", "unauthorized", "forbidden", "unavailable", "throttled"}
}

// Error is the body of every error answer.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody says what went wrong.
type ErrorBody struct {
	Kind    ErrorKind `json:"kind"`
	Message string    `json:"message" doc:"what went wrong and what to do"`
}

// Deleted answers a call that removed something.
type Deleted struct {
	Deleted string `json:"deleted" doc:"what was removed: an entity ID or a name"`
}

// TenantDeleteQuery confirms the deletion of a tenant.
type TenantDeleteQuery struct {
	Confirm string `query:"confirm,required" doc:"the tenant's slug again: a tenant is deleted only when it is repeated"`
}

// Settings is the body of the calls that change settings, as
// "lanyard tenant set" and "lanyard user set" take them.
type Settings struct {
	Settings map[string]string `json:"settings" doc:"key to value, e.g. {\"jit\": \"true\", \"clock_skew\": \"3m\"}; every problem is reported at once and nothing is written unless all are valid"`
}
