package lanyard

import (
	"context"
	"time"
)

// The store is split per aggregate; an engine (package sqlstore) implements
// all of them in one Store. Every method wraps ErrNotFound or ErrConflict
// where its doc says so; test with errors.Is.
//
// A consumer takes the few aggregate interfaces it uses (package session a
// SessionStore, package login a UserStore); only a use case whose
// transaction spans many aggregates (package admin) takes the whole Store.

// TenantStore keeps tenants.
type TenantStore interface {
	// CreateTenant inserts t and sets its ID and timestamps. ErrConflict when
	// the slug is taken.
	CreateTenant(ctx context.Context, t *Tenant) error
	// Tenant returns the tenant with the slug. ErrNotFound.
	Tenant(ctx context.Context, slug string) (Tenant, error)
	// TenantByID returns the tenant with the ID. ErrNotFound.
	TenantByID(ctx context.Context, id int64) (Tenant, error)
	// TenantByEmailDomain returns the tenant that claims the domain
	// (case-insensitive). ErrNotFound.
	TenantByEmailDomain(ctx context.Context, domain string) (Tenant, error)
	// Tenants lists all tenants by slug.
	Tenants(ctx context.Context) ([]Tenant, error)
	// UpdateTenant reads the tenant, applies fn and writes the result in one
	// transaction; fn may run more than once. ErrNotFound; ErrConflict when
	// the new slug or an email domain is taken.
	UpdateTenant(ctx context.Context, id int64, fn func(*Tenant) error) (Tenant, error)
	// DeleteTenant removes the tenant with its email domains, IdPs, SP
	// keys, accounts (roles, links, sessions, one-time tokens) and pending
	// requests; the audit trail and traces stay. ErrNotFound.
	DeleteTenant(ctx context.Context, id int64) error
}

// IdPStore keeps the IdP connections of tenants.
type IdPStore interface {
	// PutIdP inserts c, or replaces the connection with the same tenant and
	// entity ID, and sets c.ID and timestamps.
	PutIdP(ctx context.Context, c *IdPConnection) error
	// IdP returns a tenant's connection by entity ID. ErrNotFound.
	IdP(ctx context.Context, tenantID int64, entityID string) (IdPConnection, error)
	// IdPs lists a tenant's connections (all tenants' when tenantID is 0).
	IdPs(ctx context.Context, tenantID int64) ([]IdPConnection, error)
	// UpdateIdP applies fn to the connection in one transaction. ErrNotFound.
	UpdateIdP(ctx context.Context, id int64, fn func(*IdPConnection) error) (IdPConnection, error)
	// DeleteIdP removes the connection. ErrNotFound.
	DeleteIdP(ctx context.Context, id int64) error
}

// SPKeyStore keeps the SP key pairs of tenants.
type SPKeyStore interface {
	// AddSPKey inserts k and sets its ID.
	AddSPKey(ctx context.Context, k *SPKey) error
	// SPKeys lists a tenant's keys, newest first, retired ones included.
	SPKeys(ctx context.Context, tenantID int64) ([]SPKey, error)
	// SetSPKeyActive marks a key active or retired. ErrNotFound.
	SetSPKeyActive(ctx context.Context, id int64, active bool) error
}

// LinkedUserCreator is a store that creates an account and links an IdP
// identity to it at once: in one statement where the engine can, one
// round trip instead of two for a login that creates its account.
type LinkedUserCreator interface {
	// CreateLinkedUser is CreateUser of u, then LinkUser of l with u's new
	// ID: ErrConflict (and nothing written) when the tenant has the login;
	// linked is false, and the account created all the same, when the
	// identity is linked already.
	CreateLinkedUser(ctx context.Context, u *User, l Link) (linked bool, err error)
}

// SessionAuditCreator is a store that writes a new session and the audit
// event of the login that opened it at once: in one statement where the
// engine can, one round trip instead of two for every login.
type SessionAuditCreator interface {
	// CreateSessionWithAudit is CreateSession of s, then AppendAudit of e:
	// ErrConflict (and nothing written) when the session's hash exists.
	CreateSessionWithAudit(ctx context.Context, s *Session, e *AuditEvent) error
}

// UserStore keeps accounts and their links to IdP identities.
type UserStore interface {
	// CreateUser inserts u (with its roles) and sets ID and timestamps.
	// ErrConflict when the tenant already has the login (case-insensitive).
	CreateUser(ctx context.Context, u *User) error
	// User returns the user with the ID. ErrNotFound.
	User(ctx context.Context, id int64) (User, error)
	// UserByLogin finds a tenant's user by login, case-insensitively. ErrNotFound.
	UserByLogin(ctx context.Context, tenantID int64, login string) (User, error)
	// UsersByEmail lists a tenant's users with the email, case-insensitively.
	UsersByEmail(ctx context.Context, tenantID int64, email string) ([]User, error)
	// UsersBySignInName lists the users of every tenant whose login or
	// email is name (case-insensitively), by tenant and login, at most
	// limit of them: the lookup of username-first login, one indexed query
	// whatever the number of tenants.
	UsersBySignInName(ctx context.Context, name string, limit int) ([]User, error)
	// Users lists users matching f, ordered by tenant and login.
	Users(ctx context.Context, f UserFilter) ([]User, error)
	// CountUsers counts users matching f (Limit and Offset ignored).
	CountUsers(ctx context.Context, f UserFilter) (int, error)
	// UpdateUser reads the user, applies fn and writes the result (roles
	// included) in one transaction; fn may run more than once. ErrNotFound;
	// ErrConflict when the new login is taken.
	UpdateUser(ctx context.Context, id int64, fn func(*User) error) (User, error)
	// DeleteUser removes the user with its links, roles and sessions. ErrNotFound.
	DeleteUser(ctx context.Context, id int64) error
	// LinkUser records that the IdP identity belongs to the user.
	// ErrConflict when the identity is already linked (to anyone).
	LinkUser(ctx context.Context, l Link) error
	// UserByLink finds the user linked to the identity. ErrNotFound.
	UserByLink(ctx context.Context, tenantID int64, idpEntityID, nameID string) (User, error)
	// Links lists the identities linked to a user.
	Links(ctx context.Context, userID int64) ([]Link, error)
	// Roles lists the distinct role names in use in a tenant.
	Roles(ctx context.Context, tenantID int64) ([]string, error)
}

// SessionStore keeps login sessions.
type SessionStore interface {
	// CreateSession inserts s. ErrConflict when the hash exists.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with the hash if it has not expired at
	// now. ErrNotFound when absent or expired.
	Session(ctx context.Context, hash []byte, now time.Time) (Session, error)
	// UpdateSession applies fn to the session in one transaction. ErrNotFound.
	UpdateSession(ctx context.Context, hash []byte, fn func(*Session) error) (Session, error)
	// DeleteSession ends one session. Deleting an absent session is not an error.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteUserSessions ends every session of a user and reports how many.
	DeleteUserSessions(ctx context.Context, userID int64) (int, error)
	// DeleteSessionsByNameID ends the SSO sessions of an IdP identity; an
	// empty sessionIndex matches every session index. Reports how many,
	// not counting the copies (Session.ParentHash) that end with them.
	DeleteSessionsByNameID(ctx context.Context, tenantID int64, idpEntityID, nameID, sessionIndex string) (int, error)
	// UserSessions lists the live sessions of a user at now.
	UserSessions(ctx context.Context, userID int64, now time.Time) ([]Session, error)
	// PurgeExpiredSessions deletes sessions expired at now and reports how many.
	PurgeExpiredSessions(ctx context.Context, now time.Time) (int, error)
}

// AuditStore keeps the audit trail; it is append-only.
type AuditStore interface {
	// AppendAudit inserts e and sets its ID (and Time when zero).
	AppendAudit(ctx context.Context, e *AuditEvent) error
	// AuditEvents lists events matching f, newest first.
	AuditEvents(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
}

// ReplayCache remembers the IDs of assertions already consumed, cluster-wide.
type ReplayCache interface {
	// MarkAssertionUsed records id until expires. It reports false when id
	// was already recorded and has not expired at now: a replay.
	//
	// Inside a transaction (Atomic), a store may make the mark with a later
	// statement of the transaction, to save a round trip: it then reports a
	// first use, and a replay as ErrReplayed from that statement or from
	// Atomic, which commits nothing. The caller of Atomic tells the user.
	MarkAssertionUsed(ctx context.Context, id string, expires, now time.Time) (firstUse bool, err error)
	// PurgeReplay deletes entries expired at now and reports how many.
	PurgeReplay(ctx context.Context, now time.Time) (int, error)
}

// PendingRequestStore keeps AuthnRequests awaiting their response.
type PendingRequestStore interface {
	// SavePendingRequest inserts r. ErrConflict when the ID exists.
	SavePendingRequest(ctx context.Context, r *PendingRequest) error
	// TakePendingRequest returns and deletes the request, once: a second
	// take, or a take after expiry at now, is ErrNotFound.
	TakePendingRequest(ctx context.Context, id string, now time.Time) (PendingRequest, error)
	// CountPendingRequests counts the requests live at now, stopping at
	// limit (its cost is bounded by it).
	CountPendingRequests(ctx context.Context, now time.Time, limit int) (int, error)
	// PurgePendingRequests deletes requests expired at now.
	PurgePendingRequests(ctx context.Context, now time.Time) (int, error)
}

// TokenStore keeps single-use tokens such as password reset links.
type TokenStore interface {
	// SaveToken inserts t. ErrConflict when the hash exists.
	SaveToken(ctx context.Context, t *OneTimeToken) error
	// TakeToken returns and deletes the token of the purpose, once.
	// ErrNotFound when absent, already used, or expired at now.
	TakeToken(ctx context.Context, hash []byte, purpose string, now time.Time) (OneTimeToken, error)
	// DeleteUserTokens deletes every token of the purpose held for the
	// user (the other reset links once one is used) and reports how many.
	DeleteUserTokens(ctx context.Context, userID int64, purpose string) (int, error)
}

// ThrottleStore counts failed login attempts per key (an account, a client
// address), cluster-wide.
type ThrottleStore interface {
	// RecordFailure adds a failure for key at time at.
	RecordFailure(ctx context.Context, key string, at time.Time) error
	// Failures counts the failures for key since the time given.
	Failures(ctx context.Context, key string, since time.Time) (int, error)
	// ClearFailures forgets the failures for key (after a success).
	ClearFailures(ctx context.Context, key string) error
	// ClearFailuresWithPrefix forgets the failures of every key starting
	// with prefix (an account's, from every address, when its password
	// is set).
	ClearFailuresWithPrefix(ctx context.Context, prefix string) error
	// PurgeFailures forgets failures older than before.
	PurgeFailures(ctx context.Context, before time.Time) (int, error)
}

// ConfigVersioner lets every node notice configuration changes made by
// another process (the CLI, another node) without a restart.
type ConfigVersioner interface {
	// ConfigVersion returns a number that grows whenever a tenant, an IdP
	// connection or an SP key changes.
	ConfigVersion(ctx context.Context) (int64, error)
}

// Store is everything an engine provides. The administration and gateway
// aggregates (AdminStore, GatewayStore) are part of it rather than found by
// type assertion: the store that Atomic hands to its function must offer
// them too, and an engine that lacks one fails to compile, not at run time.
type Store interface {
	TenantStore
	IdPStore
	SPKeyStore
	KeyLifeStore
	UserStore
	SessionStore
	AuditStore
	ReplayCache
	PendingRequestStore
	TokenStore
	ThrottleStore
	ConfigVersioner
	AdminStore
	GatewayStore
	SCIMStore
	// Atomic runs fn in one transaction: every change fn makes through tx is
	// kept, or none when fn returns an error (which Atomic returns). fn may
	// be retried on a serialization failure, so it must not have other side
	// effects. Nested calls to Atomic on tx join the outer transaction.
	Atomic(ctx context.Context, fn func(tx Store) error) error
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// ProbeWrite commits a small write on behalf of node, so that a
	// database which can no longer take writes (full, unreachable, read
	// only) shows before a login needs one.
	ProbeWrite(ctx context.Context, node string) error
	// WriteHealth returns why the database cannot take writes now (an
	// error of KindUnavailable): the last failure of the database itself,
	// until a write succeeds after it. Nil when the last outcome was a
	// successful write.
	WriteHealth() error
	// Close releases the database.
	Close() error
}
