package lanyard

import (
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultTenantSlug is the tenant created on first start; administrators
// created without --tenant live there.
const DefaultTenantSlug = "default"

// Tenant is an organisation with its own users, IdP connections, SP keys and
// SSO settings.
type Tenant struct {
	ID           int64
	Slug         string // URL-safe, unique: /t/{slug}/...
	DisplayName  string
	EmailDomains []string // lower case; used by username-first login to find the tenant
	SSO          SSOSettings
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// EntityIDScheme chooses how the SP entity ID of a tenant is built.
type EntityIDScheme string

// Entity ID schemes.
const (
	// EntityIDDefault: {base URL}/t/{slug}/saml/metadata.
	EntityIDDefault EntityIDScheme = ""
	// EntityIDExplicit: SSOSettings.EntityID as given.
	EntityIDExplicit EntityIDScheme = "explicit"
	// EntityIDSubdomain: https://{SSOSettings.EntitySubdomain}.{base host}/sp,
	// an entity ID on a host name of the tenant's own.
	EntityIDSubdomain EntityIDScheme = "subdomain"
)

// SSOSettings are the per-tenant SAML settings. The zero value is a tenant
// with SSO off; Normalize fills in the documented defaults.
type SSOSettings struct {
	// Enabled turns SAML login on for the tenant. Default false.
	Enabled bool `json:"enabled"`
	// IdPInitiated allows unsolicited responses (IdP-initiated SSO). Default false.
	IdPInitiated bool `json:"idp_initiated"`
	// JIT creates an account on first SSO login when none can be linked. Default false.
	JIT bool `json:"jit"`
	// LinkByEmail lets a first SSO login link to an account with the same
	// email when no login name matches. Default false.
	LinkByEmail bool `json:"link_by_email"`
	// LinkIdPs names the IdPs that may link their identities to existing
	// accounts already linked to another IdP (or, in a tenant with several
	// IdPs, never linked), and by which attribute. Without a rule, only
	// the IdP an account came from links to it.
	LinkIdPs []IdPLinkRule `json:"link_idps,omitempty"`
	// ClockSkew tolerated on assertion time windows. Nil means the default,
	// 3 minutes; a zero value means none (see Skew).
	ClockSkew *Duration `json:"clock_skew,omitempty"`
	// MessageLifetime is how old (IssueInstant, plus the clock skew) a
	// response may be. Default 60 seconds.
	MessageLifetime Duration `json:"message_lifetime,omitempty"`
	// SessionIdle ends a session after this long without activity. Default 8 hours.
	SessionIdle Duration `json:"session_idle"`
	// SessionAbsolute ends a session this long after login, whatever the
	// activity. Default 24 hours.
	SessionAbsolute Duration `json:"session_absolute"`
	// RefreshInterval between passive re-checks with the IdP. Default 270 seconds.
	RefreshInterval Duration `json:"refresh_interval"`
	// EntityIDScheme, EntityID and EntitySubdomain choose the SP entity ID.
	EntityIDScheme  EntityIDScheme `json:"entity_id_scheme,omitempty"`
	EntityID        string         `json:"entity_id,omitempty"`
	EntitySubdomain string         `json:"entity_subdomain,omitempty"`
	// SignAuthnRequests signs AuthnRequests. Default true (nil means true).
	SignAuthnRequests *bool `json:"sign_authn_requests,omitempty"`
	// ArtifactBinding accepts responses through the HTTP-Artifact binding
	// at the ACS, advertises it in the SP metadata and asks for it in
	// AuthnRequests to IdPs that publish an ArtifactResolutionService.
	// Default false.
	ArtifactBinding bool `json:"artifact_binding,omitempty"`
	// ForceAuthn asks the IdP to re-authenticate the user on every login.
	ForceAuthn bool `json:"force_authn,omitempty"`
	// NameIDFormat requested in the NameIDPolicy; empty asks for none.
	NameIDFormat string `json:"name_id_format,omitempty"`
	// AuthnContext requested (RequestedAuthnContext, comparison exact); empty asks for none.
	AuthnContext []string `json:"authn_context,omitempty"`
	// Attributes maps Lanyard's fields to the attribute names the IdP sends.
	// Empty entries fall back to the well-known names (see DefaultAttributeNames).
	Attributes AttributeMap `json:"attributes,omitempty"`
	// IgnoreOnUpdate lists user fields the IdP sets at creation but never
	// overwrites afterwards, so that values kept in Lanyard stay.
	IgnoreOnUpdate []string `json:"ignore_on_update,omitempty"`
	// GroupRoles maps IdP group names to Lanyard role names.
	GroupRoles map[string][]string `json:"group_roles,omitempty"`
	// NewUser holds the default field values of accounts created by JIT.
	NewUser NewUserDefaults `json:"new_user,omitempty"`
	// DefaultLanding is the path users land on when no return path applies. Default "/".
	DefaultLanding string `json:"default_landing,omitempty"`
	// AccountOwner names the source that owns the tenant's accounts (see
	// CheckSourceWrite): local, idp, ldap or scim. Empty: none named, each
	// account belongs to the source that created it.
	AccountOwner UserSource `json:"account_owner,omitempty"`
	// SCIMDelete is what a SCIM DELETE of a user does: SCIMDeleteDeactivates
	// (also when empty, the default) or SCIMDeleteDeletes.
	SCIMDelete string `json:"scim_delete,omitempty"`
	// KeyRolloverDays turns on the automatic rollover of the SP keys: a
	// next key is added this many days before the current one expires,
	// switched to half-way, and the old one retired once expired. Zero
	// (the default, shown and set as "off") leaves rollover to the
	// administrator.
	KeyRolloverDays int `json:"key_rollover_days,omitempty"`
}

// IdPLinkRule lets an IdP (an entity ID, or "*" for every IdP of the
// tenant) link its identities to existing accounts matched by an attribute.
type IdPLinkRule struct {
	IdP string `json:"idp"`
	By  string `json:"by"` // LinkByLogin or LinkByEmailAttr
}

// The attributes an IdPLinkRule matches accounts by.
const (
	LinkByLogin     = "login"
	LinkByEmailAttr = "email"
)

// AllowsLink reports whether the rules let the IdP link to an account
// matched by the attribute.
func (s SSOSettings) AllowsLink(idp, by string) bool {
	for _, r := range s.LinkIdPs {
		if (r.IdP == idp || r.IdP == "*") && r.By == by {
			return true
		}
	}
	return false
}

// AttributeMap names the SAML attributes that carry each user field. Each
// entry may list several names; the first present wins.
type AttributeMap struct {
	LoginID   []string `json:"login_id,omitempty"`
	FirstName []string `json:"firstname,omitempty"`
	LastName  []string `json:"lastname,omitempty"`
	Email     []string `json:"email,omitempty"`
	Access    []string `json:"access,omitempty"`
	Groups    []string `json:"groups,omitempty"`
}

// NewUserDefaults are the field values of accounts created on first SSO login.
type NewUserDefaults struct {
	Roles      []string `json:"roles,omitempty"`
	WebAccess  *bool    `json:"web_access,omitempty"` // nil means true
	AutoLogin  bool     `json:"auto_login,omitempty"`
	Inactive   bool     `json:"inactive,omitempty"` // create the account inactive (an administrator activates it)
	LoginByUPN bool     `json:"login_by_upn,omitempty"`
}

// Updatable user fields named in SSOSettings.IgnoreOnUpdate.
var UpdatableFields = []string{"email", "firstname", "lastname", "roles"}

// Defaults.
const (
	DefaultClockSkew       = 3 * time.Minute
	DefaultMessageLifetime = 60 * time.Second
	DefaultSessionIdle     = 8 * time.Hour
	DefaultSessionAbsolute = 24 * time.Hour
	DefaultRefreshInterval = 270 * time.Second
)

// Skew returns the clock skew in force: ClockSkew, or DefaultClockSkew
// when unset.
func (s *SSOSettings) Skew() time.Duration {
	if s.ClockSkew == nil {
		return DefaultClockSkew
	}
	return time.Duration(*s.ClockSkew)
}

// Normalize fills zero values with their documented defaults. ClockSkew
// stays unset (nil): zero is a value of its own.
func (s *SSOSettings) Normalize() {
	if s.MessageLifetime == 0 {
		s.MessageLifetime = Duration(DefaultMessageLifetime)
	}
	if s.SessionIdle == 0 {
		s.SessionIdle = Duration(DefaultSessionIdle)
	}
	if s.SessionAbsolute == 0 {
		s.SessionAbsolute = Duration(DefaultSessionAbsolute)
	}
	if s.RefreshInterval == 0 {
		s.RefreshInterval = Duration(DefaultRefreshInterval)
	}
	if s.DefaultLanding == "" {
		s.DefaultLanding = "/"
	}
}

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$`)

var domainPattern = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$`)

// ValidSlug reports whether s can name a tenant.
func ValidSlug(s string) bool { return slugPattern.MatchString(s) }

// Validate reports every problem of the tenant at once.
func (t *Tenant) Validate() error {
	var v ValidationError
	if !ValidSlug(t.Slug) {
		v.Add("slug %q: use 1 to 63 lower-case letters, digits and inner hyphens", t.Slug)
	}
	if len(t.DisplayName) > 200 {
		v.Add("display name: at most 200 characters")
	}
	for _, d := range t.EmailDomains {
		if !domainPattern.MatchString(d) {
			v.Add("email domain %q: not a domain name (e.g. example.com)", d)
		}
	}
	t.SSO.validate(&v)
	return v.Err()
}

func (s *SSOSettings) validate(v *ValidationError) {
	if s.AccountOwner != "" && !slices.Contains(WriteSources, s.AccountOwner) {
		v.Add("account_owner %q: use local, idp, ldap or scim, or empty for none", s.AccountOwner)
	}
	switch s.SCIMDelete {
	case "", SCIMDeleteDeactivates, SCIMDeleteDeletes:
	default:
		v.Add("scim_delete %q: use deactivate or delete", s.SCIMDelete)
	}
	check := func(name string, d Duration, min, max time.Duration) {
		if d != 0 && (time.Duration(d) < min || time.Duration(d) > max) {
			v.Add("%s %s: must be between %s and %s", name, time.Duration(d), min, max)
		}
	}
	if s.ClockSkew != nil && (*s.ClockSkew < 0 || time.Duration(*s.ClockSkew) > time.Hour) {
		v.Add("clock_skew %s: must be between 0s and 1h0m0s", time.Duration(*s.ClockSkew))
	}
	check("message_lifetime", s.MessageLifetime, 5*time.Second, time.Hour)
	check("session_idle", s.SessionIdle, time.Minute, 30*24*time.Hour)
	check("session_absolute", s.SessionAbsolute, time.Minute, 365*24*time.Hour)
	check("refresh_interval", s.RefreshInterval, 30*time.Second, 24*time.Hour)
	if s.SessionIdle != 0 && s.SessionAbsolute != 0 && s.SessionIdle > s.SessionAbsolute {
		v.Add("session_idle (%s) cannot exceed session_absolute (%s)", time.Duration(s.SessionIdle), time.Duration(s.SessionAbsolute))
	}
	switch s.EntityIDScheme {
	case EntityIDDefault:
	case EntityIDExplicit:
		if u, err := url.Parse(s.EntityID); s.EntityID == "" || err != nil || (u.Scheme == "" && !strings.HasPrefix(s.EntityID, "urn:")) {
			v.Add("entity_id %q: an explicit entity ID must be an absolute URI (https://... or urn:...)", s.EntityID)
		}
	case EntityIDSubdomain:
		if !slugPattern.MatchString(s.EntitySubdomain) {
			v.Add("entity_subdomain %q: must be one DNS label (e.g. dev)", s.EntitySubdomain)
		}
	default:
		v.Add("entity_id_scheme %q: use default, explicit or subdomain", s.EntityIDScheme)
	}
	for _, f := range s.IgnoreOnUpdate {
		if !contains(UpdatableFields, f) {
			v.Add("ignore_on_update %q: use one of %s", f, strings.Join(UpdatableFields, ", "))
		}
	}
	if s.DefaultLanding != "" && !IsLocalPath(s.DefaultLanding) {
		v.Add("default_landing %q: must be a path on this site, starting with /", s.DefaultLanding)
	}
}

// IsLocalPath reports whether p is a path on this site that is safe to
// redirect to: it starts with a single "/" and carries no scheme, host or
// backslash trick ("//evil", "/\evil").
func IsLocalPath(p string) bool {
	if p == "" || p[0] != '/' || len(p) > 2048 {
		return false
	}
	if len(p) > 1 && (p[1] == '/' || p[1] == '\\') {
		return false
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return false
		}
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil
}

// NormalizeDomains lower-cases, trims, deduplicates and sorts domains.
func NormalizeDomains(ds []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, d := range ds {
		d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
		if d == "" || seen[d] {
			continue
		}
		seen[d] = true
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
