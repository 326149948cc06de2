package lanyard

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// The administration model. Lanyard has two kinds of administrator:
//
//   - an operator administers Lanyard itself: every tenant, the proxy
//     routes, global API tokens. Only the CLI or another operator makes one;
//     no IdP can.
//   - a tenant administrator administers the tenant of their account: its
//     SSO settings, IdPs, users, roles, traces, audit trail and API tokens.
//     An IdP group mapping of that tenant may make someone one.
//
// Both are roles of the reserved namespace "lanyard:", kept with the
// account's other roles (so that an IdP grant is replaced at each login like
// any IdP role). Roles outside the namespace, such as an application role
// called "admin", grant nothing in Lanyard. Authorize is the one decision:
// the admin UI and the JSON API declare an Access for every route and call
// it.

// Administrative roles.
const (
	// ReservedRolePrefix starts every role Lanyard itself interprets;
	// applications' roles cannot use it.
	ReservedRolePrefix = "lanyard:"
	// RoleOperator makes an account an operator. Granted by hand only.
	RoleOperator = "lanyard:operator"
	// RoleTenantAdmin makes an account an administrator of its own tenant.
	RoleTenantAdmin = "lanyard:tenant-admin"
)

// IsReservedRole reports whether role is in the reserved namespace, in any
// spelling of the prefix (so "Lanyard:Operator" is reserved too, and
// refused as a role name instead of passing for an application role).
func IsReservedRole(role string) bool {
	role = strings.TrimSpace(role)
	return len(role) >= len(ReservedRolePrefix) && strings.EqualFold(role[:len(ReservedRolePrefix)], ReservedRolePrefix)
}

// checkReservedRole refuses reserved roles other than the ones Lanyard
// knows, and the operator role from an IdP.
func checkReservedRole(g RoleGrant) error {
	if !IsReservedRole(g.Role) {
		return nil
	}
	switch {
	case g.Role == RoleTenantAdmin:
		return nil
	case g.Role == RoleOperator && g.Source == RoleManual:
		return nil
	case g.Role == RoleOperator:
		return fmt.Errorf("role %s: only the CLI or an operator grants it, never an IdP", g.Role)
	}
	return fmt.Errorf("role %q: the %s namespace holds only %s and %s", g.Role, ReservedRolePrefix, RoleOperator, RoleTenantAdmin)
}

// CheckIdPRoles refuses roles an IdP may not grant (a group mapping): of the
// reserved namespace only RoleTenantAdmin.
func CheckIdPRoles(roles []string) error {
	var v ValidationError
	for _, r := range roles {
		if err := checkReservedRole(RoleGrant{Role: strings.TrimSpace(r), Source: RoleIdP}); err != nil {
			v.Add("%s", err.Error())
		}
	}
	return v.Err()
}

// CheckDefaultRoles refuses reserved roles among the default roles of
// accounts created on first SSO login: administrators are made on purpose.
func CheckDefaultRoles(roles []string) error {
	var v ValidationError
	for _, r := range roles {
		if IsReservedRole(r) {
			v.Add("role %q: administrative roles are not default roles of new accounts; map an IdP group to %s instead", r, RoleTenantAdmin)
		}
	}
	return v.Err()
}

// IdPGrantable drops from roles what an IdP may not grant, whatever the
// tenant's settings say: every reserved role but RoleTenantAdmin.
func IdPGrantable(roles []string) []string {
	out := roles[:0:0]
	for _, r := range roles {
		if !IsReservedRole(r) || strings.TrimSpace(r) == RoleTenantAdmin {
			out = append(out, r)
		}
	}
	return out
}

// Principal is who acts on the administration: what an administrator (or
// an API token, or the CLI) may manage.
type Principal struct {
	UserID   int64  // 0: the CLI or Lanyard itself
	Login    string // for messages and the audit trail
	Operator bool
	// TenantID is the tenant administered by a tenant administrator, or by
	// a tenant's API token; 0 for operators and non-administrators.
	TenantID int64
}

// CLIPrincipal is the principal of the lanyard command: it runs on the
// server, with access to the database, so it is an operator.
var CLIPrincipal = Principal{Operator: true}

// PrincipalOf is what the account u may administer now: nothing when it is
// inactive or locked.
func PrincipalOf(u User) Principal {
	p := Principal{UserID: u.ID, Login: u.Login}
	if u.Status != StatusActive || u.Locked {
		return p
	}
	for _, g := range u.Roles {
		switch {
		case g.Role == RoleOperator && g.Source == RoleManual:
			p.Operator = true
		case g.Role == RoleTenantAdmin:
			p.TenantID = u.TenantID
		}
	}
	if p.Operator {
		p.TenantID = 0
	}
	return p
}

// PrincipalOfSession is what the account u may administer in a session of
// the kind: operators' rights need a session opened with Lanyard's own
// password sign-in. An IdP's assertion never makes anyone an operator, not
// even of an operator's account (a tenant administrator, who manages the
// tenant's IdPs, could otherwise have an IdP assert it); such a session
// gets the account's other rights.
func PrincipalOfSession(u User, kind SessionKind) Principal {
	if kind != SessionPassword {
		u.Roles = slices.DeleteFunc(slices.Clone(u.Roles), func(g RoleGrant) bool { return g.Role == RoleOperator })
	}
	return PrincipalOf(u)
}

// IsAdmin reports whether p administers anything.
func (p Principal) IsAdmin() bool { return p.Operator || p.TenantID != 0 }

// ManagesTenant reports whether p administers the tenant.
func (p Principal) ManagesTenant(tenantID int64) bool {
	return p.Operator || (tenantID != 0 && p.TenantID == tenantID)
}

// Access is what a route of the admin UI or the API requires.
type Access int

// RouteAccess is a route of the admin UI or the API and the access it
// requires, as the faces list them for tests that check every route.
type RouteAccess struct {
	Pattern string
	Access  Access
}

// Accesses, from least to most.
const (
	// AccessPublic needs nobody signed in (sign-in pages, redirects).
	AccessPublic Access = iota + 1
	// AccessAdmin needs an administrator of any kind; the route shows or
	// changes only what that administrator manages (the dashboard, the
	// audit trail, API tokens).
	AccessAdmin
	// AccessTenant needs an administrator of the tenant the path names
	// ({tenant}).
	AccessTenant
	// AccessOperator needs an operator.
	AccessOperator
)

func (a Access) String() string {
	switch a {
	case AccessPublic:
		return "public"
	case AccessAdmin:
		return "admin"
	case AccessTenant:
		return "tenant"
	case AccessOperator:
		return "operator"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// ErrNotAdministrator refuses an account that administers nothing.
var ErrNotAdministrator = &Error{Kind: KindForbidden,
	Message: "Your account is not an administrator of Lanyard, so it may not use the administration. Ask an administrator if you need access."}

// errForbiddenTenant is the answer on another tenant's resources: the same
// whether the tenant exists or not.
var errForbiddenTenant = &Error{Kind: KindForbidden,
	Message: "You administer another tenant: this one is not yours to see or change."}

// errOperatorOnly refuses a tenant administrator on an operator's route.
var errOperatorOnly = &Error{Kind: KindForbidden,
	Message: "Only operators of Lanyard may do this; tenant administrators manage their own tenant."}

// Authorize is the decision of every administrative route: may p use a
// route that requires need? tenantID is the tenant named by the path for
// AccessTenant (0 when no such tenant exists, which is then refused to
// everyone but operators, so that a refusal does not tell whether the
// tenant exists). The refusals are KindForbidden errors.
func Authorize(p Principal, need Access, tenantID int64) error {
	switch need {
	case AccessPublic:
		return nil
	case AccessAdmin:
		if p.IsAdmin() {
			return nil
		}
		return ErrNotAdministrator
	case AccessTenant:
		switch {
		case p.Operator:
			return nil
		case !p.IsAdmin():
			return ErrNotAdministrator
		case p.ManagesTenant(tenantID):
			return nil
		}
		return errForbiddenTenant
	case AccessOperator:
		switch {
		case p.Operator:
			return nil
		case !p.IsAdmin():
			return ErrNotAdministrator
		}
		return errOperatorOnly
	}
	return &Error{Kind: KindForbidden, Message: "This route declares no access rule, so nobody may use it."}
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, for the administration service to
// check what p may grant.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal of ctx; without one, the caller is the
// CLI or Lanyard itself (CLIPrincipal). The web faces always set one.
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return CLIPrincipal
}

// TokenPrincipal is what an API token may do now: no more than its creator
// may do now (creator is nil for tokens the CLI made), narrowed to the
// token's tenant. Revoking the creator's rights, or deactivating the
// creator, therefore stops the token.
func TokenPrincipal(t APIToken, creator *User) Principal {
	owner := CLIPrincipal
	if t.CreatorID != 0 {
		if creator == nil || creator.ID != t.CreatorID {
			return Principal{}
		}
		owner = PrincipalOf(*creator)
	}
	p := Principal{UserID: t.CreatorID, Login: "api:" + t.Name}
	switch {
	case t.TenantID == 0:
		p.Operator = owner.Operator
	case owner.ManagesTenant(t.TenantID):
		p.TenantID = t.TenantID
	}
	return p
}

// IsOperator reports whether u holds the operator role (whatever its state).
func (u *User) IsOperator() bool {
	for _, g := range u.Roles {
		if g.Role == RoleOperator && g.Source == RoleManual {
			return true
		}
	}
	return false
}

// CheckAccountChange is the rule on changes to accounts by p: operators
// change any account; anyone else only accounts of the tenant p
// administers, never an operator's account (whose SSO login or password a
// tenant's administrator could otherwise take over) and never to grant the
// operator role. before is nil for a new account, after nil for a deletion.
func CheckAccountChange(p Principal, before, after *User) error {
	if p.Operator {
		return nil
	}
	for _, u := range []*User{before, after} {
		if u == nil {
			continue
		}
		if !p.ManagesTenant(u.TenantID) {
			return errForbiddenTenant
		}
	}
	if before != nil && before.IsOperator() {
		return &Error{Kind: KindForbidden, Message: fmt.Sprintf("%s is an operator of Lanyard: only operators change that account.", before.Login)}
	}
	if after != nil && after.IsOperator() {
		return &Error{Kind: KindForbidden, Message: "Only operators make someone an operator (" + RoleOperator + ")."}
	}
	return nil
}

// HoldsAdminRole reports whether u holds an administrative role, whatever
// its state (PrincipalOf says what it may do now).
func (u *User) HoldsAdminRole() bool {
	return u.IsOperator() || u.HasRole(RoleTenantAdmin)
}
