package lanyard

import (
	"context"
	"slices"
	"strings"
	"time"
)

// This file holds what the administration side needs from the store: API
// tokens, the traces of refused SSO logins (the SAML tracer), moving an
// account's records to another account (merge) and bulk writes. AdminStore
// is part of Store, so it is also on the store that Atomic hands to its
// function.

// API token scopes.
const (
	// ScopeRead allows the GET calls of the JSON API.
	ScopeRead = "read"
	// ScopeWrite allows every call of the JSON API; it implies ScopeRead.
	ScopeWrite = "write"
)

// APIScopes lists the scopes a token may hold.
var APIScopes = []string{ScopeRead, ScopeWrite, ScopeSCIM}

// APIToken is a bearer token of the JSON admin API. Only the SHA-256 of the
// secret is stored; the secret is shown once, at creation.
type APIToken struct {
	ID        int64
	Name      string   // what the token is for, unique among live tokens
	Hash      []byte   // SHA-256 of the secret
	Prefix    string   // the first characters of the secret, to recognise it
	Scopes    []string // see APIScopes
	CreatedBy string   // the actor who created it
	// TenantID is the tenant the token administers; 0 for a global token
	// (an operator's).
	TenantID int64
	// CreatorID is the account whose rights bound the token's (see
	// TokenPrincipal); 0 when the CLI created it.
	CreatorID  int64
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: not revoked
}

// Allows reports whether the token's scopes cover scope (write covers
// read; nothing covers scim but scim itself).
func (t *APIToken) Allows(scope string) bool {
	if scope != ScopeSCIM && slices.Contains(t.Scopes, ScopeWrite) {
		return true
	}
	return slices.Contains(t.Scopes, scope)
}

// Live reports whether the token may be used at now.
func (t *APIToken) Live(now time.Time) bool {
	return t.RevokedAt.IsZero() && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// Validate reports every problem of the token at once.
func (t *APIToken) Validate() error {
	var v ValidationError
	if n := strings.TrimSpace(t.Name); n == "" || len(n) > 100 {
		v.Add("name: 1 to 100 characters")
	}
	if len(t.Hash) != 32 {
		v.Add("hash: must be a SHA-256")
	}
	if len(t.Scopes) == 0 {
		v.Add("scopes: at least one of %s", strings.Join(APIScopes, ", "))
	}
	for _, s := range t.Scopes {
		if !slices.Contains(APIScopes, s) {
			v.Add("scope %q: use %s", s, strings.Join(APIScopes, " or "))
		}
	}
	if slices.Contains(t.Scopes, ScopeSCIM) && (len(t.Scopes) != 1 || t.TenantID == 0) {
		v.Add("scope scim: a SCIM token holds no other scope and belongs to one tenant (--tenant SLUG)")
	}
	return v.Err()
}

// APITokenStore keeps the bearer tokens of the JSON API.
type APITokenStore interface {
	// CreateAPIToken inserts t and sets its ID and CreatedAt. ErrConflict
	// when the hash exists or a live token has the name.
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// APITokenByHash returns the token with the hash, revoked or expired
	// ones included. ErrNotFound.
	APITokenByHash(ctx context.Context, hash []byte) (APIToken, error)
	// APITokens lists every token, newest first.
	APITokens(ctx context.Context) ([]APIToken, error)
	// RevokeAPIToken marks the token revoked at the time given. ErrNotFound
	// when there is no such token or it is already revoked.
	RevokeAPIToken(ctx context.Context, id int64, at time.Time) (APIToken, error)
	// TouchAPIToken records a use of the token at the time given.
	TouchAPIToken(ctx context.Context, id int64, at time.Time) error
}

// LoginTrace is what the SAML tracer keeps of a refused SSO login: enough
// for an administrator to see why, without the secrets (signature values
// and certificates are shortened).
type LoginTrace struct {
	ID       int64
	TenantID int64
	// AuditID is the audit event of the refusal: its ID is the reference
	// the refusal page shows (0: none was recorded).
	AuditID     int64
	Time        time.Time
	IdPEntityID string // the Issuer, when it could be read
	Subject     string // the NameID, when it could be read
	Reason      string // stable reason code, as in the audit trail
	Message     string // what went wrong, for the administrator
	Hint        string // the usual causes of this reason, and what to check
	// ClockSkew is how far the IdP's clock (the assertion's IssueInstant)
	// was ahead of Lanyard's (negative: behind); zero when unknown.
	ClockSkew time.Duration
	ClientIP  string
	// Document is the decoded SAML message, signature values shortened.
	Document string
}

// LoginTraceFilter selects traces, newest first. Zero fields match everything.
type LoginTraceFilter struct {
	TenantID int64
	AuditID  int64 // the reference of the refusal page
	Reason   string
	Limit    int   // 0: 100
	BeforeID int64 // paging: only traces with ID < BeforeID
}

// LoginTraceStore keeps the traces of refused SSO logins, bounded.
type LoginTraceStore interface {
	// AddLoginTrace inserts t (setting its ID) and deletes the tenant's
	// oldest traces beyond keep (keep <= 0: no bound).
	AddLoginTrace(ctx context.Context, t *LoginTrace, keep int) error
	// LoginTraces lists traces matching f, newest first.
	LoginTraces(ctx context.Context, f LoginTraceFilter) ([]LoginTrace, error)
	// LoginTrace returns one trace. ErrNotFound.
	LoginTrace(ctx context.Context, id int64) (LoginTrace, error)
	// PurgeLoginTraces deletes traces older than before and reports how many.
	PurgeLoginTraces(ctx context.Context, before time.Time) (int, error)
}

// MovedRecords counts what MoveUserRecords moved.
type MovedRecords struct {
	Links       int
	Sessions    int
	AuditEvents int
}

// UserMover moves the records of one account to another (account merge).
type UserMover interface {
	// MoveUserRecords gives the IdP links, live sessions and audit events
	// of user from to user to; one-time tokens of from are deleted. Both
	// users must exist in the same tenant (ErrNotFound, ErrInvalid). Roles
	// and fields are not touched: the caller merges them with UpdateUser.
	MoveUserRecords(ctx context.Context, from, to int64) (MovedRecords, error)
}

// BulkWriter writes many records in few statements, for bulk imports.
type BulkWriter interface {
	// CreateUsers inserts the users (with their roles) and sets their IDs
	// and timestamps, like CreateUser for each, in one transaction.
	// ErrConflict when a login exists (in the tenant, or twice in users);
	// then nothing is inserted.
	CreateUsers(ctx context.Context, users []*User) error
	// AppendAuditEvents inserts the events and sets their IDs (and Time
	// when zero), like AppendAudit for each.
	AppendAuditEvents(ctx context.Context, events []*AuditEvent) error
	// UpdateUsers reads the users with the IDs, applies fn to each and
	// writes the results (roles included) in one transaction, like
	// UpdateUser for each; fn may run more than once per user. It returns
	// the updated users in ID order. ErrNotFound when an ID has no user;
	// ErrConflict when a new login is taken; an error of fn changes nothing.
	UpdateUsers(ctx context.Context, ids []int64, fn func(*User) error) ([]User, error)
}

// AdminStore is what the administration service needs beyond the
// aggregates the logins use; Store includes it.
type AdminStore interface {
	APITokenStore
	LoginTraceStore
	UserMover
	BulkWriter
	ImportJournal
}

// UserImport is a CSV import of accounts under way or ended. An import
// writes in short transactions and journals each (ImportUndo), so that it
// can be undone whole when it fails or its process dies.
type UserImport struct {
	ID        int64
	TenantID  int64
	Actor     string
	State     string // ImportRunning, ImportDone or ImportRolledBack
	RowsTotal int
	RowsDone  int
	StartedAt time.Time
	UpdatedAt time.Time // the last chunk committed
}

// States of a UserImport.
const (
	ImportRunning    = "running"
	ImportDone       = "done"
	ImportRolledBack = "rolled_back"
)

// ImportUndo is one account an import wrote: Before is the account before
// an update, nil for an account the import created.
type ImportUndo struct {
	Seq    int64
	UserID int64
	Before *User
}

// ImportJournal records imports and how to undo them.
type ImportJournal interface {
	// StartImport inserts im (state running) and sets its ID.
	StartImport(ctx context.Context, im *UserImport) error
	// JournalImport appends the undo entries of a chunk and records that
	// rowsDone rows are written; call it in the chunk's transaction.
	JournalImport(ctx context.Context, importID int64, rowsDone int, undo []ImportUndo) error
	// EndImport sets the state of an import.
	EndImport(ctx context.Context, importID int64, state string) error
	// RunningImports returns the imports in state running whose last
	// chunk committed before staleBefore (zero: all of them).
	RunningImports(ctx context.Context, staleBefore time.Time) ([]UserImport, error)
	// LastImportUndo returns up to limit undo entries of the import,
	// highest Seq first.
	LastImportUndo(ctx context.Context, importID int64, limit int) ([]ImportUndo, error)
	// DeleteImportUndo deletes the undo entries with Seq >= fromSeq.
	DeleteImportUndo(ctx context.Context, importID, fromSeq int64) error
}
