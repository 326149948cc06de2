package lanyard

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// RoleLDAP marks roles granted by the LDAP directory sync: the sync
// replaces them at each run, as SSO logins replace RoleIdP grants.
const RoleLDAP RoleSource = "ldap"

// Ways the directory says which groups a user is in.
const (
	// GroupsMemberOf reads the user's memberOf attribute (Active Directory;
	// OpenLDAP with the memberof overlay) and follows the groups' own
	// memberOf for nested groups.
	GroupsMemberOf = "memberOf"
	// GroupsMember reads the member attribute of the group entries.
	GroupsMember = "member"
	// GroupsUniqueMember reads the uniqueMember attribute of the groups.
	GroupsUniqueMember = "uniqueMember"
	// GroupsInChain asks Active Directory, for each group the role map
	// names, for its members at any depth (matching rule
	// LDAP_MATCHING_RULE_IN_CHAIN, 1.2.840.113556.1.4.1941).
	GroupsInChain = "in_chain"
)

// Incremental sync markers.
const (
	IncrementalModifyTimestamp = "modifyTimestamp"
	IncrementalUSNChanged      = "uSNChanged"
	IncrementalOff             = "off"
)

// How SSO logins find the synchronised account of a person.
const (
	MatchByLogin = "login"
	MatchByEmail = "email"
)

// Defaults of an LDAPDirectory.
const (
	DefaultLDAPUserFilter          = "(objectClass=person)"
	DefaultLDAPGroupFilter         = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)(objectClass=group))"
	DefaultLDAPPageSize            = 500
	DefaultLDAPTimeout             = 10 * time.Second
	DefaultLDAPFullInterval        = 6 * time.Hour
	DefaultLDAPIncrementalInterval = 15 * time.Minute
	DefaultLDAPMaxDeactivate       = 10 // percent
)

// LDAPDirectory is a tenant's connection to its LDAP or Active Directory
// and how its entries become accounts. Normalize fills the documented
// defaults; the zero value of each field says which default it gets.
type LDAPDirectory struct {
	TenantID int64 `json:"-"`
	// Enabled runs the scheduled syncs and puts the precedence rules in
	// force for SSO logins. Default false.
	Enabled bool `json:"enabled"`
	// URLs are tried in order until one answers: ldap://host:389 or
	// ldaps://host:636. Required.
	URLs []string `json:"urls"`
	// StartTLS upgrades ldap:// connections with the StartTLS extended
	// operation before binding. Default false (ldaps:// is always TLS).
	StartTLS bool `json:"start_tls,omitempty"`
	// CACertPEM is the CA (PEM) that signs the directory's certificate.
	// Empty: the system's CAs.
	CACertPEM string `json:"ca_cert_pem,omitempty"`
	// PinnedSHA256 is the hex SHA-256 of the directory's certificate (DER);
	// when set, that certificate is accepted and no other, whoever signed it.
	PinnedSHA256 string `json:"pinned_sha256,omitempty"`
	// BindDN and BindPassword authenticate the sync. Empty BindDN binds
	// anonymously. The password is sealed at rest and never shown.
	BindDN       string `json:"bind_dn,omitempty"`
	BindPassword string `json:"-"`
	// BaseDN is where users are searched (subtree). Required.
	BaseDN string `json:"base_dn"`
	// UserFilter selects the user entries. Default DefaultLDAPUserFilter.
	UserFilter string `json:"user_filter,omitempty"`
	// LoginAttr names the attribute that becomes the login: uid,
	// sAMAccountName or userPrincipalName. Default uid.
	LoginAttr string `json:"login_attr,omitempty"`
	// EmailAttr, FirstNameAttr, LastNameAttr name the attributes of those
	// fields. Defaults mail, givenName, sn.
	EmailAttr     string `json:"email_attr,omitempty"`
	FirstNameAttr string `json:"firstname_attr,omitempty"`
	LastNameAttr  string `json:"lastname_attr,omitempty"`
	// GroupBaseDN is where groups are searched. Default BaseDN.
	GroupBaseDN string `json:"group_base_dn,omitempty"`
	// GroupFilter selects the group entries. Default DefaultLDAPGroupFilter.
	GroupFilter string `json:"group_filter,omitempty"`
	// GroupNameAttr names the group attribute the role map uses. Default cn.
	GroupNameAttr string `json:"group_name_attr,omitempty"`
	// Groups says how memberships are read: GroupsMemberOf (default),
	// GroupsMember, GroupsUniqueMember or GroupsInChain. Nested groups are
	// followed in every mode.
	Groups string `json:"groups,omitempty"`
	// DisabledAttr and DisabledValue mark disabled accounts: an entry whose
	// DisabledAttr has DisabledValue (case-insensitive) is deactivated.
	// Entries with a userAccountControl attribute are also disabled when
	// its bit 2 (ACCOUNTDISABLE) is set. Default: no attribute.
	DisabledAttr  string `json:"disabled_attr,omitempty"`
	DisabledValue string `json:"disabled_value,omitempty"`
	// Incremental chooses the change marker of incremental syncs:
	// modifyTimestamp (default), uSNChanged (Active Directory) or off.
	Incremental string `json:"incremental,omitempty"`
	// FullInterval and IncrementalInterval space the scheduled syncs.
	// Defaults 6h and 15m; an incremental interval of "off" is spelt
	// Incremental=off.
	FullInterval        Duration `json:"full_interval,omitempty"`
	IncrementalInterval Duration `json:"incremental_interval,omitempty"`
	// MaxDeactivatePercent is the share of the tenant's active LDAP
	// accounts a sync may deactivate without an administrator's
	// confirmation. Default 10; 100 never stops.
	MaxDeactivatePercent int `json:"max_deactivate_percent,omitempty"`
	// PageSize of the paged searches (RFC 2696). Default 500.
	PageSize int `json:"page_size,omitempty"`
	// Timeout of each connection and request. Default 10s.
	Timeout Duration `json:"timeout,omitempty"`

	// MatchBy is how an SSO login finds a synchronised account: login
	// (the login, or user principal name) or email. Default login.
	MatchBy string `json:"match_by,omitempty"`
	// ScopeDomains are the domains (of the login in UPN form, or of the
	// email) of the people the directory covers. Empty: every SSO login of
	// the tenant is in scope.
	ScopeDomains []string `json:"scope_domains,omitempty"`
	// AllowJIT lets SAML create, just in time, the account of someone in
	// scope who is not synchronised yet (the tenant's jit setting must be
	// on too). Default false: such a login is refused.
	AllowJIT bool `json:"allow_jit,omitempty"`
	// SAMLRoles lets SSO logins also set roles of directory accounts from
	// the IdP's groups. Default false: the directory owns their roles.
	SAMLRoles bool `json:"saml_roles,omitempty"`

	// HasPassword reports (on read) whether a bind password is stored.
	HasPassword bool      `json:"-"`
	UpdatedAt   time.Time `json:"-"`
}

// Normalize fills the zero fields with their documented defaults.
func (d *LDAPDirectory) Normalize() {
	for i, u := range d.URLs {
		d.URLs[i] = strings.TrimSpace(u)
	}
	def := func(p *string, v string) {
		*p = strings.TrimSpace(*p)
		if *p == "" {
			*p = v
		}
	}
	def(&d.UserFilter, DefaultLDAPUserFilter)
	def(&d.LoginAttr, "uid")
	def(&d.EmailAttr, "mail")
	def(&d.FirstNameAttr, "givenName")
	def(&d.LastNameAttr, "sn")
	def(&d.GroupBaseDN, d.BaseDN)
	def(&d.GroupFilter, DefaultLDAPGroupFilter)
	def(&d.GroupNameAttr, "cn")
	def(&d.Groups, GroupsMemberOf)
	def(&d.Incremental, IncrementalModifyTimestamp)
	def(&d.MatchBy, MatchByLogin)
	if d.FullInterval == 0 {
		d.FullInterval = Duration(DefaultLDAPFullInterval)
	}
	if d.IncrementalInterval == 0 {
		d.IncrementalInterval = Duration(DefaultLDAPIncrementalInterval)
	}
	if d.MaxDeactivatePercent == 0 {
		d.MaxDeactivatePercent = DefaultLDAPMaxDeactivate
	}
	if d.PageSize == 0 {
		d.PageSize = DefaultLDAPPageSize
	}
	if d.Timeout == 0 {
		d.Timeout = Duration(DefaultLDAPTimeout)
	}
	d.ScopeDomains = NormalizeDomains(d.ScopeDomains)
}

// Validate reports every problem of the settings at once.
func (d *LDAPDirectory) Validate() error {
	var v ValidationError
	if len(d.URLs) == 0 {
		v.Add("urls: at least one ldap:// or ldaps:// URL is required")
	}
	for _, raw := range d.URLs {
		u, err := url.Parse(raw)
		switch {
		case err != nil || u.Host == "":
			v.Add("urls: %q is not a URL like ldap://host:389 or ldaps://host:636", raw)
		case u.Scheme != "ldap" && u.Scheme != "ldaps":
			v.Add("urls: %q: the scheme must be ldap or ldaps", raw)
		case u.Scheme == "ldaps" && d.StartTLS:
			v.Add("urls: %q is ldaps:// (TLS from the start); start_tls applies to ldap:// URLs only", raw)
		}
	}
	if strings.TrimSpace(d.BaseDN) == "" {
		v.Add("base_dn: required (e.g. ou=people,dc=example,dc=org)")
	}
	if d.BindDN == "" && d.BindPassword != "" {
		v.Add("bind_password: given without bind_dn")
	}
	for name, f := range map[string]string{"user_filter": d.UserFilter, "group_filter": d.GroupFilter} {
		if f != "" && (!strings.HasPrefix(f, "(") || !strings.HasSuffix(f, ")")) {
			v.Add("%s %q: an LDAP filter is enclosed in parentheses", name, f)
		}
	}
	switch d.Groups {
	case "", GroupsMemberOf, GroupsMember, GroupsUniqueMember, GroupsInChain:
	default:
		v.Add("groups %q: one of %s, %s, %s, %s", d.Groups, GroupsMemberOf, GroupsMember, GroupsUniqueMember, GroupsInChain)
	}
	switch d.Incremental {
	case "", IncrementalModifyTimestamp, IncrementalUSNChanged, IncrementalOff:
	default:
		v.Add("incremental %q: one of %s, %s, %s", d.Incremental, IncrementalModifyTimestamp, IncrementalUSNChanged, IncrementalOff)
	}
	switch d.MatchBy {
	case "", MatchByLogin, MatchByEmail:
	default:
		v.Add("match_by %q: one of %s, %s", d.MatchBy, MatchByLogin, MatchByEmail)
	}
	if d.MaxDeactivatePercent < 0 || d.MaxDeactivatePercent > 100 {
		v.Add("max_deactivate_percent %d: between 1 and 100", d.MaxDeactivatePercent)
	}
	if d.PageSize < 0 || d.PageSize > 5000 {
		v.Add("page_size %d: between 1 and 5000", d.PageSize)
	}
	if d.DisabledAttr == "" && d.DisabledValue != "" {
		v.Add("disabled_value: given without disabled_attr")
	}
	if p := strings.TrimSpace(d.PinnedSHA256); p != "" {
		if len(strings.ReplaceAll(p, ":", "")) != 64 {
			v.Add("pinned_sha256: the 64 hex digits of the certificate's SHA-256")
		}
	}
	for _, x := range []struct {
		name string
		v    Duration
	}{{"full_interval", d.FullInterval}, {"incremental_interval", d.IncrementalInterval}, {"timeout", d.Timeout}} {
		if x.v < 0 {
			v.Add("%s %s: must be positive", x.name, x.v)
		}
	}
	return v.Err()
}

// InScope reports whether the directory covers the person who logs in
// with login and email: ScopeDomains empty, or the domain of either is
// one of them.
func (d *LDAPDirectory) InScope(login, email string) bool {
	if len(d.ScopeDomains) == 0 {
		return true
	}
	for _, s := range []string{login, email} {
		at := strings.LastIndexByte(s, '@')
		if at < 0 {
			continue
		}
		dom := strings.ToLower(s[at+1:])
		for _, sd := range d.ScopeDomains {
			if dom == sd {
				return true
			}
		}
	}
	return false
}

// Kinds and outcomes of LDAP sync runs.
const (
	SyncFull        = "full"
	SyncIncremental = "incremental"

	SyncOK      = "ok"      // changes applied (or listed, in a dry run)
	SyncFailed  = "failed"  // the directory or the database failed; nothing changed
	SyncStopped = "stopped" // the safety stop held the changes for confirmation
)

// LDAPSyncRun is one sync of a tenant's directory, as its history shows.
type LDAPSyncRun struct {
	ID          int64
	TenantID    int64
	Kind        string // SyncFull or SyncIncremental
	DryRun      bool
	Status      string // SyncOK, SyncFailed, SyncStopped
	Actor       string // who started it ("scheduler" for the schedule)
	StartedAt   time.Time
	FinishedAt  time.Time
	Seen        int // directory entries read
	Created     int
	Updated     int
	Deactivated int
	Reactivated int
	Message     string   // why it failed or stopped; a summary otherwise
	Report      []string // the changes, one line each (at most a few thousand)
	Confirmed   bool     // a stopped run an administrator confirmed (applied by a later run)
}

// LDAPSyncState is what the sync remembers between runs.
type LDAPSyncState struct {
	// Mark is the highest change marker (modifyTimestamp or uSNChanged)
	// applied; incremental syncs read changes from it on.
	Mark         string
	LastFullAt   time.Time
	LastIncrAt   time.Time
	LastStatus   string
	LastMessage  string
	PendingRunID int64 // a stopped run waiting for confirmation; 0 if none
}

// LDAPStore keeps tenants' directory connections and sync history.
type LDAPStore interface {
	// LDAPDirectory returns the tenant's connection with its bind password
	// opened. ErrNotFound when none is configured.
	LDAPDirectory(ctx context.Context, tenantID int64) (LDAPDirectory, error)
	// LDAPDirectorySettings returns the tenant's connection without its
	// bind password (not opened). ErrNotFound.
	LDAPDirectorySettings(ctx context.Context, tenantID int64) (LDAPDirectory, error)
	// LDAPDirectories lists the directories of every tenant.
	LDAPDirectories(ctx context.Context) ([]LDAPDirectory, error)
	// PutLDAPDirectory inserts or replaces the tenant's connection; an
	// empty BindPassword keeps the stored one unless clearPassword.
	PutLDAPDirectory(ctx context.Context, d *LDAPDirectory, clearPassword bool) error
	// DeleteLDAPDirectory removes the connection and its history. ErrNotFound.
	DeleteLDAPDirectory(ctx context.Context, tenantID int64) error
	// LDAPSyncState returns what the sync remembers (zero when never run).
	LDAPSyncState(ctx context.Context, tenantID int64) (LDAPSyncState, error)
	// PutLDAPSyncState writes it.
	PutLDAPSyncState(ctx context.Context, tenantID int64, s LDAPSyncState) error
	// AddLDAPSyncRun records a run and sets its ID.
	AddLDAPSyncRun(ctx context.Context, r *LDAPSyncRun) error
	// LDAPSyncRun returns one run. ErrNotFound.
	LDAPSyncRun(ctx context.Context, tenantID, id int64) (LDAPSyncRun, error)
	// LDAPSyncRuns lists a tenant's runs, newest first, at most limit.
	LDAPSyncRuns(ctx context.Context, tenantID int64, limit int) ([]LDAPSyncRun, error)
	// MarkLDAPSyncRunConfirmed records an administrator's confirmation.
	MarkLDAPSyncRunConfirmed(ctx context.Context, tenantID, id int64) error
	// LDAPUserIDs lists the IDs of the tenant's active accounts owned by
	// the directory (Source ldap).
	LDAPUserIDs(ctx context.Context, tenantID int64) ([]int64, error)
	// ClaimLDAPSync gives owner the right to sync the tenant until until,
	// when no other owner holds it at now; it reports whether owner holds
	// it. ErrNotFound when the tenant has no directory.
	ClaimLDAPSync(ctx context.Context, tenantID int64, owner string, now, until time.Time) (bool, error)
	// ReleaseLDAPSync gives the right up, if owner holds it.
	ReleaseLDAPSync(ctx context.Context, tenantID int64, owner string) error
	// UsersByLogins returns the tenant's accounts (any source) with one of
	// the logins, case-insensitively, in one query; at most 1000 logins.
	UsersByLogins(ctx context.Context, tenantID int64, logins []string) ([]User, error)
}

// String says where the directory is, for logs and messages.
func (d *LDAPDirectory) String() string {
	return fmt.Sprintf("%s (base %s)", strings.Join(d.URLs, ", "), d.BaseDN)
}

// PrecedenceRules says, in words, the rules the directory puts in force
// for SSO logins (tenantJIT: the tenant's jit setting), as the admin UI,
// the API and the CLI show them.
func (d *LDAPDirectory) PrecedenceRules(tenantJIT bool) []string {
	if !d.Enabled {
		return []string{"The directory is disabled: SAML provisioning follows the tenant's settings alone."}
	}
	scope := "every SSO login of the tenant"
	if len(d.ScopeDomains) > 0 {
		scope = "the logins and emails in " + strings.Join(d.ScopeDomains, ", ")
	}
	jit := "refused with \"User '...' is not synchronized\" (allow_jit=false)"
	if d.AllowJIT {
		jit = fmt.Sprintf("created by SAML just in time (allow_jit=true; the tenant's jit is %v)", tenantJIT)
	}
	roles := "the directory owns their roles (saml_roles=false)"
	if d.SAMLRoles {
		roles = "SSO logins also set their roles from the IdP's groups (saml_roles=true)"
	}
	by := d.MatchBy
	if by == "" {
		by = MatchByLogin
	}
	return []string{
		"In scope: " + scope + "; the accounts of the directory are created and updated only by the sync.",
		"An SSO login links to the synchronised account by " + by + " and never creates a second one.",
		"An SSO login of someone in scope with no synchronised account is " + jit + ".",
		"SAML never overwrites the email and names of directory accounts; " + roles + ".",
	}
}
