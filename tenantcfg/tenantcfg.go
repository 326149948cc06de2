// Package tenantcfg holds the runtime configuration of every tenant: an
// immutable Snapshot per tenant slug with the tenant's settings, a prepared
// *saml.ServiceProvider (entity ID, endpoints, parsed SP keys, clock skew,
// store adapters) and its parsed, trusted Identity Providers.
//
// Everything derived from configuration is built once per configuration
// change, never per request. The Registry notices changes made by any
// process (the CLI, another node, the admin UI) through the store's
// ConfigVersion, which it reads at most once per CheckInterval (one second
// by default): a `lanyard tenant set` applies to every running node within
// about a second, without a restart.
package tenantcfg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// DefaultCheckInterval is how often, at most, the Registry asks the store
// whether the configuration changed.
const DefaultCheckInterval = time.Second

// buildTimeout bounds the loading of one tenant's configuration. The build
// outlives the request that triggered it (others may be waiting on it), so
// it does not use that request's context.
const buildTimeout = 15 * time.Second

// checkTimeout bounds one ConfigVersion query.
const checkTimeout = 2 * time.Second

// Store is what the Registry reads configuration from, and what the
// ServiceProviders it builds keep pending requests and consumed assertion
// IDs in.
type Store interface {
	Tenant(ctx context.Context, slug string) (lanyard.Tenant, error)
	TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
	IdPs(ctx context.Context, tenantID int64) ([]lanyard.IdPConnection, error)
	SPKeys(ctx context.Context, tenantID int64) ([]lanyard.SPKey, error)
	lanyard.PendingRequestStore
	lanyard.ReplayCache
	lanyard.ConfigVersioner
}

// ChangeLog names the tenants whose configuration changed between two
// configuration versions. A Store that keeps one lets a change rebuild only
// its tenant's snapshot; without it every change rebuilds every tenant.
type ChangeLog interface {
	// ConfigChanges lists the tenants changed after version after, up to
	// upto, one ID per change; complete is false when the log lost some.
	ConfigChanges(ctx context.Context, after, upto int64) (tenantIDs []int64, complete bool, err error)
}

// Options configure a Registry.
type Options struct {
	// BaseURL is Lanyard's public base URL; the SP endpoints hang below it
	// ({base}/t/{slug}/saml/acs...). Required.
	BaseURL *url.URL
	// Now is the clock of the ServiceProviders (time windows, request
	// expiry). Nil means time.Now.
	Now func() time.Time
	// CheckInterval is the least time between two ConfigVersion queries.
	// Zero means DefaultCheckInterval; a negative value checks on every
	// lookup (tests).
	CheckInterval time.Duration
	// Logger receives configuration problems and rebuild notices. Nil
	// discards them.
	Logger *slog.Logger
}

// Snapshot is one tenant's runtime configuration at one configuration
// version. It is immutable and safe for concurrent use; a configuration
// change produces a new Snapshot, never modifies this one.
type Snapshot struct {
	// Tenant as stored, with its SSO settings normalised (defaults filled).
	Tenant lanyard.Tenant
	// SP is the prepared Service Provider of the tenant.
	SP *saml.ServiceProvider
	// IdPs are the tenant's usable Identity Providers, in the store's
	// order. Connections whose metadata cannot be used are left out and
	// named in Problems.
	IdPs []*saml.IdentityProvider
	// Metadata is the SP metadata document, served as is.
	Metadata []byte
	// Problems lists what is wrong with the configuration (unusable keys or
	// IdP metadata), for the administrator. Empty when all is well.
	Problems []string
	// Version is the configuration version the snapshot was built at.
	Version int64
	// Directory is the tenant's LDAP directory (its settings, normalised,
	// without the bind password), whose precedence rules SSO logins
	// apply; nil when the tenant has none. DirectoryKnown says the store
	// gave it (a DirectoryStore); when false, a login reads it itself.
	// Shared: read only.
	Directory      *lanyard.LDAPDirectory
	DirectoryKnown bool
}

// DirectoryStore gives a tenant's LDAP directory settings. A Store that has
// it (and logs a configuration change when they change) lets the snapshot
// carry them, so that a login does not read them.
type DirectoryStore interface {
	LDAPDirectorySettings(ctx context.Context, tenantID int64) (lanyard.LDAPDirectory, error)
}

// IdP returns the tenant's Identity Provider with the entity ID, or nil.
func (s *Snapshot) IdP(entityID string) *saml.IdentityProvider {
	for _, idp := range s.IdPs {
		if idp.EntityID == entityID {
			return idp
		}
	}
	return nil
}

// ErrNoIdP says that a tenant has no usable Identity Provider: SSO cannot
// work until an administrator imports one.
var ErrNoIdP = errors.New("tenantcfg: no usable identity provider")

// IdPForResponse chooses the Identity Provider to validate a posted
// SAMLResponse with: the only one when the tenant has one, else the one
// named by the response's (still unverified) Issuer. Validation then checks
// everything, the Issuer included.
func (s *Snapshot) IdPForResponse(samlResponse string) (*saml.IdentityProvider, error) {
	switch len(s.IdPs) {
	case 0:
		return nil, ErrNoIdP
	case 1:
		return s.IdPs[0], nil
	}
	issuer, err := saml.ResponseIssuer(samlResponse)
	if err != nil {
		return nil, err
	}
	if idp := s.IdP(issuer); idp != nil {
		return idp, nil
	}
	names := make([]string, len(s.IdPs))
	for i, idp := range s.IdPs {
		names[i] = idp.EntityID
	}
	return nil, &saml.Error{Reason: saml.ReasonIssuerMismatch, Got: issuer, Expected: strings.Join(names, ", "),
		Message: fmt.Sprintf("the Response was issued by %q, which is none of the tenant's identity providers (%s)", issuer, strings.Join(names, ", "))}
}

// Registry hands out the current Snapshot of each tenant, building it on
// first use after each configuration change. It is safe for concurrent use.
type Registry struct {
	store    Store
	base     string
	now      func() time.Time
	interval time.Duration
	logger   *slog.Logger

	// checkMu is held by the one goroutine reading ConfigVersion; others
	// go on with the snapshots they have meanwhile.
	checkMu   sync.Mutex
	checkedAt time.Time // wall clock of the last check; guarded by checkMu

	mu      sync.Mutex
	version int64             // last ConfigVersion seen; -1 before the first check
	entries map[string]*entry // by slug
	// slugs names the entry of each tenant built, by tenant ID.
	slugs map[int64]string
	// tenants are the tenants read by ID (TenantByID), until they change.
	tenants map[int64]lanyard.Tenant
	// changedAt is the version of each tenant's last change seen, so that
	// a build started before it is not kept.
	changedAt map[int64]int64
	// allChangedAt is the version of the last change that dropped every
	// tenant.
	allChangedAt int64
	// rebuilds counts the snapshots built, for tests of the work a change
	// costs.
	rebuilds int64
}

// entry is a snapshot being built or built; done closes when it is.
type entry struct {
	done    chan struct{}
	snap    *Snapshot
	err     error
	version int64 // the version the build started at
}

// New returns a Registry over store.
func New(store Store, opts Options) *Registry {
	r := &Registry{store: store, now: opts.Now, interval: opts.CheckInterval, logger: opts.Logger, version: -1,
		entries: map[string]*entry{}, slugs: map[int64]string{}, tenants: map[int64]lanyard.Tenant{}, changedAt: map[int64]int64{}}
	if opts.BaseURL != nil {
		r.base = strings.TrimSuffix(opts.BaseURL.String(), "/")
	}
	if r.now == nil {
		r.now = time.Now
	}
	if r.interval == 0 {
		r.interval = DefaultCheckInterval
	}
	if r.logger == nil {
		r.logger = slog.New(slog.DiscardHandler)
	}
	return r
}

// Snapshot returns the current runtime configuration of the tenant with the
// slug. It wraps lanyard.ErrNotFound when there is no such tenant, and
// returns other errors when the store fails. The returned Snapshot may be
// used for the whole request, even if the configuration changes meanwhile.
func (r *Registry) Snapshot(ctx context.Context, slug string) (*Snapshot, error) {
	r.checkVersion(ctx)
	r.mu.Lock()
	e, ok := r.entries[slug]
	if !ok {
		e = &entry{done: make(chan struct{}), version: r.version}
		r.entries[slug] = e
		r.mu.Unlock()
		r.fill(ctx, e, slug)
	} else {
		r.mu.Unlock()
	}
	select {
	case <-e.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return e.snap, e.err
}

// Invalidate drops every snapshot, so the next lookups rebuild them. Changes
// made through the store are noticed without it; it serves callers that
// want a change visible at once in this process.
func (r *Registry) Invalidate() {
	r.mu.Lock()
	r.dropAllLocked()
	r.mu.Unlock()
}

// TenantByID returns the tenant with the ID, with its SSO settings
// normalised, from memory once read: the session check takes the tenant
// from here rather than from the database. A change to the tenant is
// noticed as for Snapshot.
func (r *Registry) TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error) {
	r.checkVersion(ctx)
	r.mu.Lock()
	t, ok := r.tenants[id]
	version := r.version
	r.mu.Unlock()
	if ok {
		return t, nil
	}
	t, err := r.store.TenantByID(ctx, id)
	if err != nil {
		return lanyard.Tenant{}, fmt.Errorf("tenantcfg: tenant %d: %w", id, err)
	}
	t.SSO.Normalize()
	r.mu.Lock()
	// Keep it only if no change to it came while it was read.
	if max(r.changedAt[id], r.allChangedAt) <= version {
		r.tenants[id] = t
	}
	r.mu.Unlock()
	return t, nil
}

// Rebuilds counts the snapshots built since the Registry was made.
func (r *Registry) Rebuilds() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rebuilds
}

// fill builds e's snapshot. A failed build is not kept: the next lookup
// tries again; nor is one that a change to its tenant overtook.
func (r *Registry) fill(ctx context.Context, e *entry, slug string) {
	defer close(e.done)
	bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), buildTimeout)
	defer cancel()
	e.snap, e.err = r.build(bctx, slug, e.version)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rebuilds++
	current := r.entries[slug] == e
	// A build overtaken by a change to every tenant is no longer in
	// entries (the map was made anew).
	if e.err == nil && r.changedAt[e.snap.Tenant.ID] <= e.version {
		if current {
			r.slugs[e.snap.Tenant.ID] = slug
		}
		return
	}
	if current {
		delete(r.entries, slug)
	}
}

// dropAllLocked forgets every snapshot and tenant. The caller holds mu.
func (r *Registry) dropAllLocked() {
	r.entries = map[string]*entry{}
	r.slugs = map[int64]string{}
	r.tenants = map[int64]lanyard.Tenant{}
}

// dropTenantLocked forgets the snapshot and the tenant record of the
// tenant with the ID, changed at version. The caller holds mu.
func (r *Registry) dropTenantLocked(id, version int64) {
	if slug, ok := r.slugs[id]; ok {
		delete(r.entries, slug)
		delete(r.slugs, id)
	}
	delete(r.tenants, id)
	r.changedAt[id] = version
}

// checkVersion reads the store's configuration version, at most once per
// interval, and drops every snapshot when it moved.
func (r *Registry) checkVersion(ctx context.Context) {
	if !r.checkMu.TryLock() {
		return // another request is checking right now
	}
	defer r.checkMu.Unlock()
	now := time.Now() // the wall clock: the injected clock may stand still in tests
	if r.interval > 0 && !r.checkedAt.IsZero() && now.Sub(r.checkedAt) < r.interval {
		return
	}
	r.checkedAt = now
	// The check serves every request, not just this one: it must not fail
	// because this client went away.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), checkTimeout)
	defer cancel()
	v, err := r.store.ConfigVersion(cctx)
	if err != nil {
		r.logger.Warn("could not check for configuration changes; using the configuration already loaded", "err", err)
		return
	}
	r.mu.Lock()
	from := r.version
	r.mu.Unlock()
	if v == from {
		return
	}
	// Only this goroutine moves the version (it holds checkMu), so the
	// change log can be read without holding mu.
	var changed []int64
	complete := false
	if log, ok := r.store.(ChangeLog); ok && from >= 0 && v > from {
		changed, complete, err = log.ConfigChanges(cctx, from, v)
		if err != nil {
			r.logger.Warn("could not read which tenants' configuration changed; rebuilding every tenant", "err", err)
			complete = false
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case complete:
		r.logger.Info("configuration changed; the changed tenants' SSO configuration is rebuilt on next use", "from_version", from, "to_version", v, "changes", len(changed))
		for _, id := range changed {
			r.dropTenantLocked(id, v)
		}
	default:
		if from >= 0 {
			r.logger.Info("configuration changed; tenants' SSO configuration is rebuilt on next use", "from_version", from, "to_version", v)
		}
		r.dropAllLocked()
		r.changedAt = map[int64]int64{}
		r.allChangedAt = v
	}
	r.version = v
}

// build loads a tenant's configuration and prepares everything derived from
// it: SP keys parsed, the ServiceProvider prepared, IdP metadata parsed.
func (r *Registry) build(ctx context.Context, slug string, version int64) (*Snapshot, error) {
	t, err := r.store.Tenant(ctx, slug)
	if err != nil {
		return nil, fmt.Errorf("tenantcfg: tenant %q: %w", slug, err)
	}
	t.SSO.Normalize()
	keys, err := r.store.SPKeys(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("tenantcfg: SP keys of tenant %q: %w", slug, err)
	}
	conns, err := r.store.IdPs(ctx, t.ID)
	if err != nil {
		return nil, fmt.Errorf("tenantcfg: IdP connections of tenant %q: %w", slug, err)
	}
	snap := &Snapshot{Tenant: t, Version: version}
	if ds, ok := r.store.(DirectoryStore); ok {
		dir, err := ds.LDAPDirectorySettings(ctx, t.ID)
		switch {
		case errors.Is(err, lanyard.ErrNotFound):
		case err != nil:
			return nil, fmt.Errorf("tenantcfg: LDAP directory of tenant %q: %w", slug, err)
		default:
			dir.Normalize()
			snap.Directory = &dir
		}
		snap.DirectoryKnown = true
	}

	entityID, err := saml.DeriveEntityID(saml.EntityIDOptions{
		Explicit:  explicitEntityID(t.SSO),
		Subdomain: subdomain(t.SSO),
		BaseURL:   r.base,
		Tenant:    t.Slug,
	})
	if err != nil {
		return nil, fmt.Errorf("tenantcfg: entity ID of tenant %q: %w", slug, err)
	}
	endpoint := r.base + "/t/" + url.PathEscape(t.Slug) + "/saml/"
	sp := &saml.ServiceProvider{
		EntityID:         entityID,
		ACSURL:           endpoint + "acs",
		SLOURL:           endpoint + "slo",
		ClockSkew:        samlSkew(t.SSO.Skew()),
		MessageLifetime:  time.Duration(t.SSO.MessageLifetime),
		AllowUnsolicited: t.SSO.IdPInitiated,
		ArtifactACS:      t.SSO.ArtifactBinding,
		Now:              saml.Clock(r.now),
		Requests:         &requestStore{store: r.store, tenantID: t.ID, now: r.now},
		Replay:           &replayCache{store: r.store, now: r.now},
	}
	if t.SSO.NameIDFormat != "" {
		sp.NameIDFormats = []string{t.SSO.NameIDFormat}
	}
	signing, encryption := r.keyPairs(t, keys, snap)
	if t.SSO.SignAuthnRequests == nil || *t.SSO.SignAuthnRequests {
		sp.SigningKeys = signing
	}
	sp.EncryptionKeys = encryption
	if len(encryption) == 0 {
		// saml falls back to the signing keys for decryption; keep them
		// even when requests go unsigned.
		sp.EncryptionKeys = signing
	}
	if err := sp.Prepare(); err != nil {
		return nil, fmt.Errorf("tenantcfg: service provider of tenant %q: %w", slug, err)
	}
	snap.SP = sp
	if snap.Metadata, err = sp.Metadata(saml.SPMetadataOptions{}); err != nil {
		return nil, fmt.Errorf("tenantcfg: SP metadata of tenant %q: %w", slug, err)
	}

	for _, c := range conns {
		idp, err := parseIdP(c)
		if err != nil {
			snap.problem(r.logger, t.Slug, fmt.Sprintf("IdP %q is not usable: %v (import its metadata again)", c.EntityID, err))
			continue
		}
		snap.IdPs = append(snap.IdPs, idp)
		if t.SSO.ArtifactBinding && !idp.ResolvesArtifacts() {
			snap.problem(r.logger, t.Slug, fmt.Sprintf("artifact_binding is on, and IdP %q publishes no ArtifactResolutionService with the SOAP binding: its logins use HTTP-POST (turn the binding on at the IdP, then import its metadata again)", c.EntityID))
		}
	}
	if len(conns) == 0 && t.SSO.Enabled {
		snap.problem(r.logger, t.Slug, "SSO is enabled but no identity provider is configured (import one with: lanyard idp import --tenant "+t.Slug+" --metadata FILE|URL)")
	}
	return snap, nil
}

// keyPairs parses the tenant's active SP keys: the current ones newest
// first, then the next ones (of a rollover not yet switched), so that the
// first signing key signs and the first encryption key is the one IdPs
// encrypt to, while every one is published and decrypts. A key that cannot
// be parsed is reported and left out.
func (r *Registry) keyPairs(t lanyard.Tenant, keys []lanyard.SPKey, snap *Snapshot) (signing, encryption []saml.KeyPair) {
	ordered := make([]lanyard.SPKey, 0, len(keys))
	for _, next := range []bool{false, true} {
		for _, k := range keys {
			if k.Next == next {
				ordered = append(ordered, k)
			}
		}
	}
	for _, k := range ordered {
		if !k.Active {
			continue
		}
		key, cert, err := spkeys.Parse(k)
		if err != nil {
			snap.problem(r.logger, t.Slug, fmt.Sprintf("SP %s key %d is not usable: %v", k.Use, k.ID, err))
			continue
		}
		kp := saml.KeyPair{Signer: key, Certificate: cert}
		switch k.Use {
		case lanyard.KeySigning:
			signing = append(signing, kp)
		case lanyard.KeyEncryption:
			encryption = append(encryption, kp)
		}
	}
	if len(signing) == 0 {
		snap.problem(r.logger, t.Slug, "the tenant has no active SP signing key: AuthnRequests go unsigned and the metadata lists no signing certificate")
	}
	return signing, encryption
}

// parseIdP reads a connection's metadata. The connection's own list of
// signing certificates, when it has one, is what is trusted: the importer
// or an administrator curated it (rollover).
func parseIdP(c lanyard.IdPConnection) (*saml.IdentityProvider, error) {
	idp, err := saml.ParseIdPMetadata([]byte(c.MetadataXML), saml.MetadataOptions{EntityID: c.EntityID, AllowSHA1: c.LegacySHA1})
	if err != nil {
		return nil, err
	}
	idp.AllowSHA1 = c.LegacySHA1
	idp.AllowLegacyEncryption = c.LegacyEncryption
	if len(c.SigningCerts) > 0 {
		idp.SigningCertificates = idp.SigningCertificates[:0:0]
		for i, p := range c.SigningCerts {
			cert, err := spkeys.ParseCertificate(p)
			if err != nil {
				return nil, fmt.Errorf("signing certificate %d: %w", i+1, err)
			}
			idp.SigningCertificates = append(idp.SigningCertificates, cert)
		}
	}
	if len(idp.SigningCertificates) == 0 {
		return nil, errors.New("no signing certificate: no response could be verified")
	}
	return idp, nil
}

func (s *Snapshot) problem(logger *slog.Logger, slug, p string) {
	s.Problems = append(s.Problems, p)
	logger.Warn("SSO configuration problem", "tenant", slug, "problem", p)
}

func explicitEntityID(s lanyard.SSOSettings) string {
	if s.EntityIDScheme == lanyard.EntityIDExplicit {
		return s.EntityID
	}
	return ""
}

func subdomain(s lanyard.SSOSettings) string {
	if s.EntityIDScheme == lanyard.EntityIDSubdomain {
		return s.EntitySubdomain
	}
	return ""
}

// samlSkew converts a tenant's skew to saml's convention, where zero means
// the default and a negative value none.
func samlSkew(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}
