package lanyard

import (
	"net/mail"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// UserStatus says whether an account may be used at all.
type UserStatus string

// User statuses.
const (
	StatusActive   UserStatus = "active"
	StatusInactive UserStatus = "inactive"
)

// LoginMethod says how an account authenticates.
type LoginMethod string

// Login methods.
const (
	LoginPassword LoginMethod = "password"
	LoginSSO      LoginMethod = "sso"
)

// UserSource says which system created and owns an account. LDAP-owned
// accounts are never created or overwritten by SAML.
type UserSource string

// User sources.
const (
	SourceLocal UserSource = "local"
	SourceIdP   UserSource = "idp"
	SourceLDAP  UserSource = "ldap"
)

// RoleSource says who granted a role. Roles granted by the IdP are replaced
// at each SSO login; roles given by hand are kept.
type RoleSource string

// Role sources.
const (
	RoleManual RoleSource = "manual"
	RoleIdP    RoleSource = "idp"
)

// RoleGrant is a role held by a user.
type RoleGrant struct {
	Role   string     `json:"role"`
	Source RoleSource `json:"source"`
}

// User is an account of a tenant.
type User struct {
	ID          int64
	TenantID    int64
	Login       string // unique per tenant, compared case-insensitively
	Email       string
	FirstName   string
	LastName    string
	Status      UserStatus
	Locked      bool
	LoginMethod LoginMethod
	WebAccess   bool // may log in through a web browser
	Source      UserSource
	IdPSourced  bool // created from SAML assertion attributes (JIT)
	Roles       []RoleGrant
	// PasswordHash is an argon2id PHC string; empty for accounts without a
	// password (e.g. created by SSO).
	PasswordHash string
	AutoLogin    bool // "log in automatically" preference
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  time.Time // zero: never logged in
}

// HasRole reports whether u holds role, from any source.
func (u *User) HasRole(role string) bool {
	for _, g := range u.Roles {
		if g.Role == role {
			return true
		}
	}
	return false
}

// RoleNames returns the distinct role names of u, sorted.
func (u *User) RoleNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range u.Roles {
		if !seen[g.Role] {
			seen[g.Role] = true
			out = append(out, g.Role)
		}
	}
	sort.Strings(out)
	return out
}

// SetRoles replaces the grants of one source with roles, keeping the grants
// of other sources.
func (u *User) SetRoles(source RoleSource, roles []string) {
	kept := u.Roles[:0:0]
	for _, g := range u.Roles {
		if g.Source != source {
			kept = append(kept, g)
		}
	}
	for _, r := range roles {
		kept = append(kept, RoleGrant{Role: r, Source: source})
	}
	u.Roles = NormalizeRoles(kept)
}

// NormalizeRoles trims, deduplicates (by role and source) and sorts grants.
func NormalizeRoles(gs []RoleGrant) []RoleGrant {
	seen := map[RoleGrant]bool{}
	out := []RoleGrant{}
	for _, g := range gs {
		g.Role = strings.TrimSpace(g.Role)
		if g.Source == "" {
			g.Source = RoleManual
		}
		if g.Role == "" || seen[g] {
			continue
		}
		seen[g] = true
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Role != out[j].Role {
			return out[i].Role < out[j].Role
		}
		return out[i].Source < out[j].Source
	})
	return out
}

// FullName joins first and last name.
func (u *User) FullName() string {
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// Normalize fills defaults for a new user and tidies its fields.
func (u *User) Normalize() {
	u.Login = strings.TrimSpace(u.Login)
	u.Email = strings.TrimSpace(u.Email)
	u.FirstName = strings.TrimSpace(u.FirstName)
	u.LastName = strings.TrimSpace(u.LastName)
	if u.Status == "" {
		u.Status = StatusActive
	}
	if u.LoginMethod == "" {
		u.LoginMethod = LoginSSO
	}
	if u.Source == "" {
		u.Source = SourceLocal
	}
	u.Roles = NormalizeRoles(u.Roles)
}

var roleNameOK = func(r string) bool {
	if r == "" || len(r) > 100 {
		return false
	}
	for _, c := range r {
		if c < 0x20 || c == 0x7f || c == ';' || c == ',' {
			return false
		}
	}
	return true
}

// ValidEmail reports whether s is a bare email address (no display name,
// no control characters), as accounts store it.
func ValidEmail(s string) bool {
	if HasControl(s) {
		return false
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// Validate reports every problem of the user at once.
func (u *User) Validate() error {
	var v ValidationError
	if u.TenantID == 0 {
		v.Add("tenant: required")
	}
	switch {
	case u.Login == "":
		v.Add("login: required")
	case utf8.RuneCountInString(u.Login) > 256:
		v.Add("login: at most 256 characters")
	case strings.ContainsAny(u.Login, " \t\r\n"):
		v.Add("login %q: no spaces allowed", u.Login)
	case HasControl(u.Login):
		v.Add("login %q: no control characters allowed", u.Login)
	}
	if u.Email != "" && !ValidEmail(u.Email) {
		v.Add("email %q: not an email address", u.Email)
	}
	if len(u.FirstName) > 200 || len(u.LastName) > 200 {
		v.Add("names: at most 200 characters each")
	}
	if HasControl(u.FirstName) || HasControl(u.LastName) {
		v.Add("names: no control characters allowed")
	}
	switch u.Status {
	case StatusActive, StatusInactive:
	default:
		v.Add("status %q: use active or inactive", u.Status)
	}
	switch u.LoginMethod {
	case LoginPassword, LoginSSO:
	default:
		v.Add("login_method %q: use password or sso", u.LoginMethod)
	}
	switch u.Source {
	case SourceLocal, SourceIdP, SourceLDAP, SourceSCIM:
	default:
		v.Add("source %q: use local, idp, ldap or scim", u.Source)
	}
	for _, g := range u.Roles {
		if !roleNameOK(g.Role) {
			v.Add("role %q: 1 to 100 characters, no control characters, commas or semicolons", g.Role)
		}
		if g.Source != RoleManual && g.Source != RoleIdP && g.Source != RoleLDAP && g.Source != RoleSCIM {
			v.Add("role %q: unknown source %q", g.Role, g.Source)
		}
		if err := checkReservedRole(g); err != nil {
			v.Add("%s", err.Error())
		}
	}
	return v.Err()
}

// ParseRoles splits a role list into role names. The separator is ","; a
// ";" (the older separator) is accepted too (see RolesUseSemicolon).
func ParseRoles(s string) []string {
	var out []string
	for _, r := range strings.FieldsFunc(s, func(c rune) bool { return c == ';' || c == ',' }) {
		if r = strings.TrimSpace(r); r != "" {
			out = append(out, r)
		}
	}
	return out
}

// RolesUseSemicolon reports whether a role list uses ";", the older
// separator, which is still accepted: callers warn that "," is the one.
func RolesUseSemicolon(s string) bool { return strings.Contains(s, ";") }

// Link ties an identity asserted by an IdP (entity ID and NameID) to a user.
type Link struct {
	TenantID     int64
	UserID       int64
	IdPEntityID  string
	NameID       string
	NameIDFormat string
	CreatedAt    time.Time
}

// UserFilter selects users in UserStore.Users. Zero fields match everything.
type UserFilter struct {
	TenantID    int64
	Query       string // substring of login, email or names, case-insensitive
	Status      UserStatus
	Source      UserSource
	LoginMethod LoginMethod
	Role        string
	Limit       int // 0: no limit
	Offset      int
}
