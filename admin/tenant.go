package admin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// normalizeSlug trims and lower-cases a slug typed by a person.
func normalizeSlug(slug string) string { return strings.ToLower(strings.TrimSpace(slug)) }

// CreateTenant creates a tenant with default SSO settings (SSO off) and
// gives it a signing and an encryption SP key pair, in one transaction.
// A taken slug or email domain is a KindConflict error naming it.
func (s *Service) CreateTenant(ctx context.Context, actor, slug, displayName string, emailDomains []string) (lanyard.Tenant, error) {
	t := lanyard.Tenant{
		Slug:         normalizeSlug(slug),
		DisplayName:  strings.TrimSpace(displayName),
		EmailDomains: lanyard.NormalizeDomains(emailDomains),
	}
	t.SSO.Normalize()
	if err := t.Validate(); err != nil {
		return lanyard.Tenant{}, err
	}
	// Refuse a taken slug before spending time on key generation.
	if _, err := s.store.Tenant(ctx, t.Slug); err == nil {
		return lanyard.Tenant{}, tenantExists(t.Slug, nil)
	} else if !errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}

	now := s.now()
	var keys []lanyard.SPKey
	for _, use := range []lanyard.KeyUse{lanyard.KeySigning, lanyard.KeyEncryption} {
		k, err := s.generateKey(t.Slug, use, now)
		if err != nil {
			return lanyard.Tenant{}, fmt.Errorf("create tenant: %w", err)
		}
		keys = append(keys, k)
	}

	var created lanyard.Tenant
	err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
		created = cloneTenant(t)
		if err := tx.CreateTenant(ctx, &created); err != nil {
			return err
		}
		for _, k := range keys {
			k.TenantID = created.ID
			if err := tx.AddSPKey(ctx, &k); err != nil {
				return fmt.Errorf("add %s key: %w", k.Use, err)
			}
		}
		msg := "created tenant " + created.Slug
		if created.DisplayName != "" {
			msg += fmt.Sprintf(" (%s)", created.DisplayName)
		}
		if len(created.EmailDomains) > 0 {
			msg += ", email domains " + strings.Join(created.EmailDomains, ",")
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: created.ID,
			Actor:    actor,
			Action:   "tenant.create",
			Subject:  created.Slug,
			Message:  msg + ", with a new signing and encryption SP key",
		})
	})
	if errors.Is(err, lanyard.ErrConflict) {
		return lanyard.Tenant{}, s.explainTenantConflict(ctx, t, 0, err)
	}
	if err != nil {
		return lanyard.Tenant{}, fmt.Errorf("create tenant: %w", err)
	}
	s.logChange(ctx, "tenant.create", actor, "tenant", created.Slug)
	return created, nil
}

func tenantExists(slug string, cause error) error {
	return errorf(lanyard.KindConflict, cause, "tenant %q already exists", slug)
}

// explainTenantConflict turns the store's ErrConflict on writing t into a
// message naming what is taken: the slug, or an email domain of another
// tenant. self is the ID of t when it already exists (0 when creating).
func (s *Service) explainTenantConflict(ctx context.Context, t lanyard.Tenant, self int64, cause error) error {
	if other, err := s.store.Tenant(ctx, t.Slug); err == nil && other.ID != self {
		return tenantExists(t.Slug, cause)
	}
	var v lanyard.ValidationError
	for _, d := range t.EmailDomains {
		if other, err := s.store.TenantByEmailDomain(ctx, d); err == nil && other.ID != self {
			v.Add("email domain %q already belongs to tenant %q", d, other.Slug)
		}
	}
	if len(v.Problems) > 0 {
		return errorf(lanyard.KindConflict, cause, "%s", v.Error())
	}
	return errorf(lanyard.KindConflict, cause, "tenant %q clashes with an existing tenant (slug or email domain)", t.Slug)
}

// EnsureDefaultTenant returns the default tenant, creating it (with its SP
// keys) when missing. It is idempotent and safe when several nodes start at
// once: the loser of a creation race reads the winner's tenant.
func (s *Service) EnsureDefaultTenant(ctx context.Context) (lanyard.Tenant, error) {
	t, err := s.store.Tenant(ctx, lanyard.DefaultTenantSlug)
	if err == nil {
		return t, nil
	}
	if !errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.Tenant{}, fmt.Errorf("default tenant: %w", err)
	}
	t, err = s.CreateTenant(ctx, ActorSystem, lanyard.DefaultTenantSlug, "Default", nil)
	if errors.Is(err, lanyard.ErrConflict) {
		t, err = s.store.Tenant(ctx, lanyard.DefaultTenantSlug)
	}
	if err != nil {
		return lanyard.Tenant{}, fmt.Errorf("default tenant: %w", err)
	}
	return t, nil
}

// Tenants lists every tenant by slug.
func (s *Service) Tenants(ctx context.Context) ([]lanyard.Tenant, error) {
	ts, err := s.store.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	// Only the tenants the principal manages: a tenant administrator sees
	// theirs alone.
	p := lanyard.PrincipalFrom(ctx)
	return slices.DeleteFunc(ts, func(t lanyard.Tenant) bool { return !p.ManagesTenant(t.ID) }), nil
}

// Tenant returns the tenant with the slug; an unknown slug is a
// KindNotFound error that says how to list tenants.
func (s *Service) Tenant(ctx context.Context, slug string) (lanyard.Tenant, error) {
	slug = normalizeSlug(slug)
	t, err := s.store.Tenant(ctx, slug)
	if errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.Tenant{}, errorf(lanyard.KindNotFound, err, "tenant %q not found; list tenants with: lanyard tenant list", slug)
	}
	if err != nil {
		return lanyard.Tenant{}, fmt.Errorf("tenant %s: %w", slug, err)
	}
	return t, nil
}

// OperatorTenantSetting reports whether only operators change the tenant
// setting: a tenant's email domains decide where username-first sign-in
// sends everyone of those domains, across tenants.
func OperatorTenantSetting(key string) bool { return key == "email_domains" }

// SetTenant changes settings of a tenant, each given as "key=value" (see
// TenantSettingKeys). Every malformed pair, unknown key and bad value is
// reported at once in one KindInvalid error, and nothing is written unless
// all are valid and the resulting tenant passes Tenant.Validate. It returns
// the tenant and the changes made ("jit: false → true"); no change writes
// nothing.
func (s *Service) SetTenant(ctx context.Context, actor, slug string, settings []string) (lanyard.Tenant, []string, error) {
	if len(settings) == 0 {
		return lanyard.Tenant{}, nil, invalidf("no settings given: use key=value, e.g. jit=true; known keys: %s", strings.Join(tenantSettings.knownKeys(), ", "))
	}
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return lanyard.Tenant{}, nil, err
	}
	// Check everything against the current tenant before opening a
	// transaction, so a typo costs no write.
	next, changes, err := applyTenantSettings(t, settings)
	if err != nil {
		return lanyard.Tenant{}, nil, err
	}
	if len(changes) == 0 {
		return t, nil, nil
	}
	if p := lanyard.PrincipalFrom(ctx); !p.Operator && !slices.Equal(t.EmailDomains, next.EmailDomains) {
		return lanyard.Tenant{}, nil, errorf(lanyard.KindForbidden, nil, "only operators change a tenant's email domains, which route sign-ins across tenants")
	}
	var updated lanyard.Tenant
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		var err error
		updated, err = tx.UpdateTenant(ctx, t.ID, func(cur *lanyard.Tenant) error {
			// Re-apply to what is stored now: another writer may have
			// changed other settings since we read the tenant.
			n, ch, err := applyTenantSettings(*cur, settings)
			if err != nil {
				return err
			}
			*cur, changes = n, ch
			return nil
		})
		if err != nil || len(changes) == 0 {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   "tenant.update",
			Subject:  t.Slug,
			Message:  strings.Join(changes, "; "),
		})
	})
	if errors.Is(err, lanyard.ErrConflict) {
		return lanyard.Tenant{}, nil, s.explainTenantConflict(ctx, next, t.ID, err)
	}
	if err != nil {
		if lanyard.ErrorKind(err) != lanyard.KindInternal {
			return lanyard.Tenant{}, nil, err
		}
		return lanyard.Tenant{}, nil, fmt.Errorf("update tenant %s: %w", t.Slug, err)
	}
	s.logChange(ctx, "tenant.update", actor, "tenant", t.Slug, "changes", strings.Join(changes, "; "))
	return updated, changes, nil
}

// applyTenantSettings applies settings to a copy of t and validates the
// result, reporting every problem at once.
func applyTenantSettings(t lanyard.Tenant, settings []string) (lanyard.Tenant, []string, error) {
	next := cloneTenant(t)
	var v lanyard.ValidationError
	changes := tenantSettings.apply(&next, settings, &v)
	if err := next.Validate(); err != nil {
		for _, p := range problemsOf(err) {
			v.Add("%s", p)
		}
	}
	return next, changes, v.Err()
}

// SPEndpoints are the URLs an IdP administrator needs to register a tenant.
type SPEndpoints struct {
	EntityID    string
	MetadataURL string
	ACSURL      string // Assertion Consumer Service, HTTP-POST
	SLOURL      string // Single Logout, HTTP-Redirect and HTTP-POST
	LoginURL    string // starts SP-initiated SSO
}

// Endpoints returns the SP URLs of t under the base URL: entity ID (after
// the tenant's entity ID scheme), metadata, ACS, SLO and login.
func Endpoints(base *url.URL, t lanyard.Tenant) SPEndpoints {
	if base == nil {
		base = &url.URL{}
	}
	root := base.JoinPath("t", t.Slug, "saml")
	at := func(p string) string { return root.JoinPath(p).String() }
	e := SPEndpoints{
		MetadataURL: at("metadata"),
		ACSURL:      at("acs"),
		SLOURL:      at("slo"),
		LoginURL:    at("login"),
	}
	switch t.SSO.EntityIDScheme {
	case lanyard.EntityIDExplicit:
		e.EntityID = t.SSO.EntityID
	case lanyard.EntityIDSubdomain:
		e.EntityID = (&url.URL{Scheme: "https", Host: t.SSO.EntitySubdomain + "." + base.Host, Path: "/sp"}).String()
	default:
		e.EntityID = e.MetadataURL
	}
	return e
}

// Endpoints returns the SP URLs of t under the service's base URL.
func (s *Service) Endpoints(t lanyard.Tenant) SPEndpoints { return Endpoints(s.baseURL, t) }

// KeyInfo describes an SP key pair without its private key.
type KeyInfo struct {
	ID     int64
	Use    lanyard.KeyUse
	Active bool
	// Next and Stage say where the key is in a rollover (StageNext,
	// StageCurrent, StagePrevious, StageRetired).
	Next        bool
	Stage       string
	Subject     string
	Fingerprint string // SHA-256 of the certificate, colon-separated hex
	NotBefore   time.Time
	NotAfter    time.Time
	CreatedAt   time.Time
	// Problem says why the key cannot be used (unreadable, mismatched),
	// empty when it can.
	Problem string
}

// TenantInfo is a tenant with what an administrator wants to see beside its
// settings.
type TenantInfo struct {
	Tenant    lanyard.Tenant
	Endpoints SPEndpoints
	Keys      []KeyInfo
	IdPs      []lanyard.IdPConnection
	Users     int
}

// DescribeTenant returns a tenant with its SP endpoints, keys (never the
// private keys), IdP connections and number of users.
func (s *Service) DescribeTenant(ctx context.Context, slug string) (TenantInfo, error) {
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return TenantInfo{}, err
	}
	info := TenantInfo{Tenant: t, Endpoints: s.Endpoints(t)}
	keys, err := s.store.SPKeys(ctx, t.ID)
	if err != nil {
		return TenantInfo{}, fmt.Errorf("tenant %s: SP keys: %w", t.Slug, err)
	}
	stages := keyStages(keys)
	for _, k := range keys {
		info.Keys = append(info.Keys, keyInfo(k, stages[k.ID]))
	}
	if info.IdPs, err = s.store.IdPs(ctx, t.ID); err != nil {
		return TenantInfo{}, fmt.Errorf("tenant %s: IdP connections: %w", t.Slug, err)
	}
	if info.Users, err = s.store.CountUsers(ctx, lanyard.UserFilter{TenantID: t.ID}); err != nil {
		return TenantInfo{}, fmt.Errorf("tenant %s: count users: %w", t.Slug, err)
	}
	return info, nil
}
