// Package gateway puts applications behind Lanyard: it tells them who is
// there. Three ways, sharing one cached session check:
//
//   - Forward-auth (Verify): nginx auth_request, Traefik ForwardAuth and
//     Caddy forward_auth ask GET /auth/verify before each request; Lanyard
//     answers 200 with identity headers, 401 with the login URL, or 403.
//   - The built-in reverse proxy (Wrap): routes (host and/or path prefix)
//     send signed-in users' requests to an upstream application, with the
//     identity headers set and any identity headers the client sent removed.
//   - The signed identity: each answer above carries X-Lanyard-JWT, a
//     short-lived ES256 token (package identity) that an application can
//     verify with the keys at /.well-known/jwks.json.
//
// The check on every request reads a session.Cache: no database access on
// a hit, one read on a miss, and no write (the session's activity, due at
// most once a minute, is written in batches in the background). A session
// ended anywhere stops working within the cache's TTL.
//
// Applications on a host other than Lanyard's get the sign-in through a
// hand-off (handoff.go): /auth/handoff on Lanyard's host, /auth/session on
// the application's.
package gateway

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/clientip"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/identity/verify"
	"github.com/lanyard-sso/lanyard/session"
)

// SessionCookie is the name of Lanyard's session cookie (see package web).
const SessionCookie = "lanyard_session"

// Identity headers. Requests proxied to applications, and 200 answers of
// Verify, carry them; the proxy removes any the client sent.
const (
	HeaderUser   = "X-Lanyard-User"    // the login, unique in the tenant
	HeaderUserID = "X-Lanyard-User-Id" // Lanyard's numeric account ID
	HeaderEmail  = "X-Lanyard-Email"
	HeaderName   = "X-Lanyard-Name"   // first and last name
	HeaderRoles  = "X-Lanyard-Roles"  // comma-separated, sorted
	HeaderGroups = "X-Lanyard-Groups" // comma-separated: the roles granted by the IdP's groups at the last login
	HeaderTenant = "X-Lanyard-Tenant" // the tenant's slug
	HeaderJWT    = "X-Lanyard-JWT"    // the signed identity (package identity)
	// HeaderLogin, on a 401 answer of Verify, is the URL to send the user
	// to for signing in; it returns to the original URL afterwards.
	HeaderLogin = "X-Lanyard-Login"
	// HeaderAppCookie, on a 200 answer of Verify, is the Cookie header to
	// send the application: the request's cookies without Lanyard's. It is
	// absent when no cookie is left. nginx sets Cookie from it.
	HeaderAppCookie = "X-Lanyard-App-Cookie"
)

// jwtKey is HeaderJWT as http.Header keys it ("X-Lanyard-Jwt"), for
// assignments that skip canonicalization; and so are the other keys.
var (
	jwtKey    = http.CanonicalHeaderKey(HeaderJWT)
	userKey   = http.CanonicalHeaderKey(HeaderUser)
	userIDKey = http.CanonicalHeaderKey(HeaderUserID)
	emailKey  = http.CanonicalHeaderKey(HeaderEmail)
	nameKey   = http.CanonicalHeaderKey(HeaderName)
	rolesKey  = http.CanonicalHeaderKey(HeaderRoles)
	groupsKey = http.CanonicalHeaderKey(HeaderGroups)
	tenantKey = http.CanonicalHeaderKey(HeaderTenant)
)

// HandoffStore is what the hand-off needs from the store: the one-time
// codes that carry a sign-in to an application's host, and the session
// copy it opens there for the same user and tenant.
type HandoffStore interface {
	session.Store // sessions, and the tenant's session lifetimes
	lanyard.TokenStore
	User(ctx context.Context, id int64) (lanyard.User, error)
}

var _ HandoffStore = lanyard.Store(nil)

// Config is what a Gateway needs.
type Config struct {
	// BaseURL is the URL users reach Lanyard at; login URLs are built on it.
	// Required.
	BaseURL *url.URL
	// Sessions answers who holds a session. Required.
	Sessions *session.Cache
	// Keys signs the identity tokens. Nil sends no X-Lanyard-JWT.
	Keys *identity.KeyRing
	// Routes are the reverse proxy routes kept in the store, reloaded every
	// RouteRefresh. Nil means only StaticRoutes.
	Routes lanyard.ProxyRouteStore
	// StaticRoutes come from the config file; a stored route of the same
	// name replaces one.
	StaticRoutes []lanyard.ProxyRoute
	// Store opens the sessions of the hand-off, which carries a sign-in
	// from Lanyard's host to an application on another host (see
	// handoff.go). Nil turns the hand-off off: applications must then be
	// on Lanyard's host.
	Store HandoffStore
	// TrustedHosts are the application origins, besides those of routes,
	// that the hand-off may send a sign-in to and whose pages may use
	// session.js: the hosts in front of which nginx, Traefik or Caddy ask
	// /auth/verify. An entry is an origin (https://app.example.com:8443) or
	// a host with an optional port, which takes the base URL's scheme;
	// origins are compared whole (scheme, host, port). Plain http is
	// refused when the base URL is https.
	TrustedHosts []string
	// AdminHost is the host (with its port, if not the default) of the
	// admin UI's own origin, admin_base_url: there the admin UI and API
	// answer and no route is proxied; elsewhere /admin and /api answer
	// 404. Empty: the admin UI is on Lanyard's host, where no route may
	// then be served (see checkRouteOrigin).
	AdminHost string
	// RouteRefresh is how often Run reloads the routes from the store. Zero
	// means 2 seconds.
	RouteRefresh time.Duration
	// Transport carries proxied requests. Nil means NewTransport(), with
	// plain-HTTP requests without a body sent on the calling goroutine
	// (see upstreamTransport).
	Transport http.RoundTripper
	// Logger receives proxy failures and route reloads. Nil discards them.
	Logger *slog.Logger
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
	// ClientIP names the client recorded on a session handed off to an
	// application's host. Nil means the TCP peer.
	ClientIP *clientip.Resolver
	// TokenKeepBytes bounds the memory of the identity tokens kept for
	// reuse (see tokenKeep). Zero means DefaultTokenKeepBytes (16 MiB).
	TokenKeepBytes int64
	// Held starts the gateway closed: until SetReady, a proxied route and
	// the hand-off paths answer 503 "starting", so that no request reaches
	// an application before the store is migrated and the signing keys and
	// routes are loaded. False means open at once.
	Held bool
}

// Gateway answers forward-auth checks and proxies requests to applications.
// Create it with New; it is safe for concurrent use.
type Gateway struct {
	base       *url.URL
	sessions   *session.Cache
	keys       *identity.KeyRing
	routeStore lanyard.ProxyRouteStore
	static     []lanyard.ProxyRoute
	refresh    time.Duration
	transport  http.RoundTripper
	logger     *slog.Logger
	now        func() time.Time
	buffers    *bufferPool

	// loadMu orders the route table's rebuilds (the store's refresh and a
	// reload of the static routes), so that none puts back an older table;
	// static and stored are the lists the last rebuild used.
	loadMu sync.Mutex
	stored []lanyard.ProxyRoute

	routes   atomic.Pointer[routeTable]
	observer atomic.Pointer[Observer]
	held     atomic.Bool // see Config.Held

	store          HandoffStore // nil: no hand-off
	manager        *session.Manager
	baseOrigin     string          // canonical origin of the base URL
	adminHost      string          // Config.AdminHost, lower case
	trustedOrigins map[string]bool // of Config.TrustedHosts, canonical
	clientIP       *clientip.Resolver

	audiences audienceCache // see verifyAudience

	idMu       sync.RWMutex
	identities map[[sha256.Size]byte]*identityEntry
	idSweeping bool // a sweep of identities is scheduled

	kept *tokenKeep // nil without Keys
}

// New returns a gateway, with the static routes in place. Call LoadRoutes
// (or Run) to add the stored ones.
func New(cfg Config) (*Gateway, error) {
	if cfg.BaseURL == nil || cfg.Sessions == nil {
		return nil, errors.New("gateway: BaseURL and Sessions are required")
	}
	g := &Gateway{
		base:       cfg.BaseURL,
		sessions:   cfg.Sessions,
		keys:       cfg.Keys,
		routeStore: cfg.Routes,
		static:     cfg.StaticRoutes,
		refresh:    cfg.RouteRefresh,
		transport:  cfg.Transport,
		logger:     cfg.Logger,
		now:        cfg.Now,
		buffers:    newBufferPool(),
		identities: map[[sha256.Size]byte]*identityEntry{},
		clientIP:   cfg.ClientIP,
		adminHost:  strings.ToLower(cfg.AdminHost),
	}
	if g.adminHost != "" && strings.EqualFold(g.adminHost, cfg.BaseURL.Host) {
		return nil, fmt.Errorf("gateway: the admin host %s is the base URL's host; the admin UI needs an origin of its own", cfg.AdminHost)
	}
	if g.refresh <= 0 {
		g.refresh = 2 * time.Second
	}
	if g.transport == nil {
		g.transport = newUpstreamTransport(NewTransport())
	}
	if g.logger == nil {
		g.logger = slog.New(slog.DiscardHandler)
	}
	if g.now == nil {
		g.now = time.Now
	}
	if cfg.TokenKeepBytes < 0 {
		return nil, fmt.Errorf("gateway: TokenKeepBytes %d: want 0 (the default, %d) or more", cfg.TokenKeepBytes, DefaultTokenKeepBytes)
	}
	if g.keys != nil {
		limit := cfg.TokenKeepBytes
		if limit == 0 {
			limit = DefaultTokenKeepBytes
		}
		// A token is reused until half its lifetime is left: sweeping
		// four times in that window keeps what is held close to what is
		// reusable.
		g.kept = newTokenKeep(limit, max(g.keys.TokenTTL()/8, time.Second), g.now)
	}
	if cfg.Store != nil {
		g.store = cfg.Store
		g.manager = session.NewManager(cfg.Store, session.Options{Now: g.now})
	}
	var ok bool
	if g.baseOrigin, ok = lanyard.CanonicalOrigin(cfg.BaseURL.Scheme + "://" + cfg.BaseURL.Host); !ok {
		return nil, fmt.Errorf("gateway: base URL %q is not an http(s) origin", cfg.BaseURL)
	}
	origins, err := originsOf(cfg.TrustedHosts, cfg.BaseURL.Scheme)
	if err != nil {
		return nil, err
	}
	g.trustedOrigins = origins
	table, err := g.buildTable(nil)
	if err != nil {
		return nil, err
	}
	g.routes.Store(table)
	g.held.Store(cfg.Held)
	return g, nil
}

// SetReady opens a gateway created with Config.Held. Call it once the
// signing keys (Keys.Refresh) and the routes (LoadRoutes) are loaded.
func (g *Gateway) SetReady() { g.held.Store(false) }

// answerStarting refuses a request while the gateway is held.
func answerStarting(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "2")
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "Lanyard is starting; try again in a few seconds.", http.StatusServiceUnavailable)
}

// identityEntry is what the gateway derived from one session snapshot: the
// identity header values, and the signed token while it is fresh.
type identityEntry struct {
	snap *session.Snapshot
	// headers are the identity headers by canonical name, each value a
	// one-element slice (possibly ""), shared by every request of the
	// session: read-only.
	headers []identityHeader
	roles   []string

	stamp  identityStamp     // what its tokens state
	key    [sha256.Size]byte // the session's, as the cache keys it
	tokens *sessionTokens    // nil without a key ring
}

// maxTokensPerSession bounds the tokens kept per session: one per
// application (audience) the user visits.
const maxTokensPerSession = 16

// signedToken is an identity token kept for reuse.
type signedToken struct {
	audience string
	token    string
	kid      string
	exp      time.Time
}

// identityHeader is one header of an identity.
type identityHeader struct {
	name  string
	value []string
}

// errNoIdentity means the request carries no live session.
var errNoIdentity = session.ErrNoSession

// identify returns the identity of the session cookie of r, or
// errNoIdentity.
func (g *Gateway) identify(ctx context.Context, r *http.Request) (*identityEntry, error) {
	id := g.sessionCookie(r)
	if id == "" {
		return nil, errNoIdentity
	}
	snap, err := g.sessions.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if snap.Session.Origin != "" && !g.onOrigin(r, snap.Session.Origin) {
		return nil, errNoIdentity // a copy made for another application's host
	}
	if len(snap.Session.Hash) != sha256.Size {
		return nil, fmt.Errorf("gateway: session hash of %d bytes in the store, want %d", len(snap.Session.Hash), sha256.Size)
	}
	key := [sha256.Size]byte(snap.Session.Hash)
	g.idMu.RLock()
	e := g.identities[key]
	g.idMu.RUnlock()
	if e != nil && e.snap == snap {
		return e, nil
	}
	e = newIdentityEntry(snap)
	e.key = key
	if g.kept != nil {
		// The same identity as before (same account and roles, and a
		// session that ends no earlier): the tokens signed for it hold.
		e.tokens = g.kept.forSession(key, e.stamp, snap.Session.ExpiresAt().UnixNano())
	}
	g.idMu.Lock()
	if len(g.identities) >= maxIdentities {
		g.sweepIdentities(time.Minute, true)
	}
	g.identities[key] = e
	if !g.idSweeping {
		g.idSweeping = true
		time.AfterFunc(g.identitySweepInterval(), g.sweepIdleIdentities)
	}
	g.idMu.Unlock()
	return e, nil
}

// maxIdentities bounds the derived identities held; see sweepIdentities.
// They are also dropped when idle (sweepIdleIdentities).
const maxIdentities = 100_000

// identitySweepInterval is how often the identities of sessions no longer
// used are dropped: twice the session cache's TTL, after which the cache
// has dropped their snapshot too.
func (g *Gateway) identitySweepInterval() time.Duration { return 2 * g.sessions.TTL() }

// sweepIdleIdentities runs every identitySweepInterval while identities are
// held, so that their memory returns when the traffic stops.
func (g *Gateway) sweepIdleIdentities() {
	g.idMu.Lock()
	defer g.idMu.Unlock()
	every := g.identitySweepInterval()
	g.sweepIdentities(every, false)
	if len(g.identities) == 0 {
		g.identities = map[[sha256.Size]byte]*identityEntry{} // a map keeps its buckets after deletes
		g.idSweeping = false
		return
	}
	time.AfterFunc(every, g.sweepIdleIdentities)
}

// IdentityCount returns how many derived identities are held.
func (g *Gateway) IdentityCount() int {
	g.idMu.RLock()
	defer g.idMu.RUnlock()
	return len(g.identities)
}

// TokenKeepStats returns how many sessions have identity tokens kept for
// reuse, and the memory those take (bounded by Config.TokenKeepBytes).
func (g *Gateway) TokenKeepStats() (sessions int, bytes int64) {
	if g.kept == nil {
		return 0, 0
	}
	return g.kept.stats()
}

// SessionCacheStats returns the size of the session cache.
func (g *Gateway) SessionCacheStats() session.CacheStats { return g.sessions.Stats() }

// sweepIdentities drops the entries whose snapshot is older than age
// (their session has not been used since), then, with halve, half of the
// rest if that was not enough. The caller holds idMu.
func (g *Gateway) sweepIdentities(age time.Duration, halve bool) {
	cutoff := g.now().Add(-age)
	for k, e := range g.identities {
		if e.snap.Fetched.Before(cutoff) {
			delete(g.identities, k)
		}
	}
	if !halve {
		return
	}
	for k := range g.identities {
		if len(g.identities) < maxIdentities/2 {
			break
		}
		delete(g.identities, k)
	}
}

func newIdentityEntry(snap *session.Snapshot) *identityEntry {
	u := &snap.User
	roles := u.RoleNames()
	var groups []string
	for _, g := range u.Roles {
		if g.Source == lanyard.RoleIdP {
			groups = append(groups, g.Role)
		}
	}
	e := &identityEntry{snap: snap, roles: roles}
	// Every header is sent, empty when there is no value, so that a proxy
	// that copies them (Caddy's copy_headers, Traefik's
	// authResponseHeaders, nginx's proxy_set_header) always replaces what
	// the client sent.
	// One allocation each for the headers and their values: a miss of
	// the session check makes an entry per request.
	const identityHeaders = 7
	e.headers = make([]identityHeader, 0, identityHeaders)
	values := make([]string, identityHeaders)
	add := func(name, value string) {
		i := len(e.headers)
		values[i] = headerSafe(value)
		e.headers = append(e.headers, identityHeader{name, values[i : i+1 : i+1]})
	}
	e.stamp = identityStamp{userID: u.ID, login: u.Login, email: u.Email, name: u.FullName(), given: u.FirstName,
		family: u.LastName, tenant: snap.Tenant.Slug, roles: strings.Join(roles, ","), groups: strings.Join(groups, ",")}
	add(userKey, u.Login)
	add(userIDKey, strconv.FormatInt(u.ID, 10))
	add(emailKey, u.Email)
	add(nameKey, e.stamp.name)
	add(rolesKey, e.stamp.roles)
	add(groupsKey, e.stamp.groups)
	add(tenantKey, snap.Tenant.Slug)
	return e
}

// headerSafe drops the characters a header value cannot carry (controls,
// DEL); other UTF-8 passes as is.
func headerSafe(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}

// token returns the signed identity of e for audience (the application:
// see identity/verify.Claims.Audience), signing anew when the last token
// for it has less than half its lifetime left or the signing key changed.
// It returns "" when no key ring is configured or signing failed (logged).
func (g *Gateway) token(e *identityEntry, audience string) string {
	if g.keys == nil || e.tokens == nil {
		return ""
	}
	now := g.now()
	kid := g.keys.SignerID()
	kept := e.tokens
	kept.mu.Lock()
	defer kept.mu.Unlock()
	slot := -1
	for i := range kept.tokens {
		if t := &kept.tokens[i]; t.audience == audience {
			if t.kid == kid && now.Add(g.keys.TokenTTL()/2).Before(t.exp) {
				return t.token
			}
			slot = i
			break
		}
	}
	snap := e.snap
	u := &snap.User
	var groups []string
	for _, gr := range u.Roles {
		if gr.Source == lanyard.RoleIdP {
			groups = append(groups, gr.Role)
		}
	}
	tok, err := g.keys.Sign(identity.Claims{
		Audience: verify.Audience{audience},
		Subject:  u.Login, UserID: u.ID, Tenant: snap.Tenant.Slug, Email: u.Email, Name: u.FullName(),
		GivenName: u.FirstName, FamilyName: u.LastName, Roles: e.roles, Groups: groups,
		SessionExpiry: snap.Session.ExpiresAt().Unix(),
	})
	if err != nil {
		g.logger.Error("identity token not signed; the request goes on without X-Lanyard-JWT", "err", err)
		return ""
	}
	st := signedToken{audience: audience, token: tok, kid: kid, exp: now.Add(g.keys.TokenTTL())}
	if sessionEnd := snap.Session.ExpiresAt(); sessionEnd.Before(st.exp) {
		st.exp = sessionEnd
	}
	delta := tokenBytes(st)
	switch {
	case slot >= 0:
		delta -= tokenBytes(kept.tokens[slot])
		kept.tokens[slot] = st
	case len(kept.tokens) < maxTokensPerSession:
		kept.tokens = append(kept.tokens, st)
	default:
		delta -= tokenBytes(kept.tokens[0])
		kept.tokens[0] = st
	}
	g.kept.stored(e.key, kept, delta, st.exp.Add(-g.keys.TokenTTL()/2))
	return tok
}

// hasRoles reports whether e holds every role of required.
func (e *identityEntry) hasRoles(required []string) bool {
	for _, want := range required {
		if !e.snap.User.HasRole(want) {
			return false
		}
	}
	return true
}

// sessionCookie returns the session ID the request carries, or "". Over
// https the cookie is __Host-lanyard_session (set by this host alone, no
// sibling can plant it); the name without the prefix is then ignored.
func (g *Gateway) sessionCookie(r *http.Request) string {
	c, err := r.Cookie(cookieName(SessionCookie, g.secureRequest(r)))
	if err != nil {
		return ""
	}
	return c.Value
}

// secureRequest reports whether the user reached r over https: Lanyard's
// own host by its base URL, another host by the request (the forwarded
// proto of a proxy in front).
func (g *Gateway) secureRequest(r *http.Request) bool {
	if g.isBaseHost(hostOf(r, true)) {
		return g.base.Scheme == "https"
	}
	return schemeOf(r) == "https"
}

// onOrigin reports whether r was made to origin (canonical): the built-in
// proxy's Host, or for forward-auth the forwarded host and proto.
func (g *Gateway) onOrigin(r *http.Request, origin string) bool {
	o, ok := lanyard.CanonicalOrigin(schemeOf(r) + "://" + hostOf(r, true))
	return ok && o == origin
}

// loginURL is where a user signs in to tenant and comes back to returnTo,
// a local path.
func (g *Gateway) loginURL(tenant, returnTo string) string {
	u := *g.base
	u.Path = strings.TrimSuffix(u.Path, "/") + "/t/" + tenant + "/saml/login"
	u.RawPath = ""
	u.RawQuery = "return_to=" + url.QueryEscape(returnTo)
	return u.String()
}

// localPath keeps p when it is a path on this site ("/x", not "//host"
// or "/\host"), else "/".
func localPath(p string) string {
	if lanyard.IsLocalPath(p) {
		return p
	}
	return "/"
}
