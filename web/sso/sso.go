// Package sso is the SAML face of Lanyard: per tenant, the SP metadata, the
// start of SP-initiated logins, the Assertion Consumer Service, Single
// Logout, the passive session checks of session.js and the pages that
// explain a refused login.
package sso

import (
	"context"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/saml/soap"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web/internal/relay"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Store is what the SSO face reads and writes directly: sessions (passive
// checks, Single Logout), the pending requests of passive checks, tenants.
type Store interface {
	Session(ctx context.Context, hash []byte, now time.Time) (lanyard.Session, error)
	UpdateSession(ctx context.Context, hash []byte, fn func(*lanyard.Session) error) (lanyard.Session, error)
	DeleteSession(ctx context.Context, hash []byte) error
	DeleteSessionsByNameID(ctx context.Context, tenantID int64, idpEntityID, nameID, sessionIndex string) (int, error)
	TakePendingRequest(ctx context.Context, id string, now time.Time) (lanyard.PendingRequest, error)
	TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
	// Atomic runs a login's writes in one transaction (lanyard.Store).
	Atomic(ctx context.Context, fn func(tx lanyard.Store) error) error
}

// Snapshots give the runtime SSO configuration of a tenant.
type Snapshots interface {
	Snapshot(ctx context.Context, slug string) (*tenantcfg.Snapshot, error)
}

// Resolver turns a validated assertion into an account (package login).
type Resolver interface {
	Resolve(ctx context.Context, t lanyard.Tenant, a login.Assertion, opts login.Options) (login.Result, error)
}

// TraceRecorder keeps refused logins for the SAML tracer.
type TraceRecorder interface {
	RecordLoginTrace(ctx context.Context, tr lanyard.LoginTrace) (lanyard.LoginTrace, error)
}

// SessionOpener opens the session of an accepted login.
type SessionOpener interface {
	Open(ctx context.Context, tenant lanyard.Tenant, user lanyard.User, kind lanyard.SessionKind, meta session.Meta) (string, lanyard.Session, error)
	// Prepare builds a session and its ID without writing it.
	Prepare(tenant lanyard.Tenant, user lanyard.User, kind lanyard.SessionKind, meta session.Meta) (string, lanyard.Session, error)
}

// Deps is what the SSO face needs.
type Deps struct {
	Kit      *ui.Kit
	Store    Store
	Sessions SessionOpener
	Tenants  Snapshots
	Logins   Resolver
	// Traces keeps refused logins and test logins; nil keeps none (and
	// "Test SSO connection" answers unavailable).
	Traces TraceRecorder
	// Refusals budgets the audit events and traces of refused logins;
	// nil records every one.
	Refusals *RefusalLimiter
	Metrics  ui.LoginCounter
	// Origins validates the application pages that run session checks.
	Origins relay.Origins
	// SOAP resolves artifacts with the IdPs (HTTP-Artifact binding); nil
	// means a default saml/soap.Client.
	SOAP saml.BackChannel
	// Ready wraps the endpoints that need a migrated database; IsReady
	// tells the ACS, which records a login refused while starting.
	Ready   func(http.Handler) http.Handler
	IsReady func() bool
	// Pending bounds the AuthnRequests awaiting their response with
	// PendingLimits (zero: DefaultPendingLimits); nil bounds nothing.
	Pending       PendingStore
	PendingLimits PendingLimits
	// MetadataFetches records who fetched the SP metadata; nil records
	// nothing.
	MetadataFetches MetadataFetchRecorder

	// limiter bounds the ACS and SLO requests in progress per client.
	limiter *clientLimiter
	// pendingLive caches the count of live AuthnRequests.
	pendingLive *pendingCount
	// fetches throttles the records of metadata fetches.
	fetches *fetchThrottle
}

// Routes registers the SAML endpoints of every tenant.
func Routes(mux *http.ServeMux, deps Deps) {
	d := &deps
	d.limiter = newClientLimiter(maxConcurrentPerClient)
	if d.SOAP == nil {
		d.SOAP = &soap.Client{}
	}
	d.pendingLive = &pendingCount{}
	d.fetches = &fetchThrottle{}
	ready := d.Ready
	mux.Handle("GET /t/{tenant}/saml/metadata", ready(handleSAMLMetadata(d)))
	mux.Handle("GET /t/{tenant}/saml/login", ready(handleSAMLLogin(d)))
	// The ACS takes the IdP's cross-site POST: no origin check or CSRF
	// token applies, the signed response and the browser-binding cookie
	// take their place. The ACS and SLO take unauthenticated messages that
	// cost CPU: a few at once per client (limitClient).
	mux.Handle("POST /t/{tenant}/saml/acs", d.requireReadySSO(d.limitClient(handleSAMLACS(d))))
	// GET: an answer through the HTTP-Artifact binding (SAMLart, limited
	// like the POST), else a page for bookmarks and reloads.
	mux.Handle("GET /t/{tenant}/saml/acs", handleSAMLACSGetArtifact(d))
	// Single Logout: the IdP's LogoutRequests and LogoutResponses, both
	// bindings. Like the ACS, it takes cross-site posts: the signed
	// message stands in for the CSRF token.
	mux.Handle("GET /t/{tenant}/saml/slo", ready(d.limitClient(handleSAMLSLO(d))))
	mux.Handle("POST /t/{tenant}/saml/slo", ready(http.MaxBytesHandler(d.limitClient(handleSAMLSLO(d)), maxACSBytes)))
}

// SingleLogout continues a sign-out with the IdP (SP-initiated Single
// Logout). The sign-out face calls it once the Lanyard session has ended.
type SingleLogout struct{ d *Deps }

// NewSingleLogout returns the SP-initiated Single Logout of the face.
func NewSingleLogout(d Deps) *SingleLogout { return &SingleLogout{&d} }

// Start sends the browser to the IdP of the ended session sess with a
// LogoutRequest when the IdP supports Single Logout, else answers with
// the signed-out page.
func (l *SingleLogout) Start(w http.ResponseWriter, r *http.Request, sess lanyard.Session) {
	l.d.startSingleLogout(w, r, sess, "")
}

// StartReturning is Start for a sign-out that an application asked for
// (OpenID Connect RP-Initiated Logout): once the IdP has confirmed it, or
// at once when the IdP has no Single Logout, the browser goes to returnTo
// rather than to the signed-out page. returnTo must be an address the
// caller has checked (a registered post-logout redirect URI); it is kept
// server-side with the pending LogoutRequest, never read back from the
// browser.
func (l *SingleLogout) StartReturning(w http.ResponseWriter, r *http.Request, sess lanyard.Session, returnTo string) {
	l.d.startSingleLogout(w, r, sess, returnTo)
}

// errNoTracer answers a test login on a server without the tracer.
var errNoTracer = &lanyard.Error{Kind: lanyard.KindUnavailable, Message: "the SAML tracer is not available on this server"}
