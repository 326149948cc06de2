// Package login turns a validated SAML assertion into a Lanyard account: it
// maps attributes, finds the account (by its link, its login name, its
// email), creates it just in time when the tenant allows, refuses the
// logins that the tenant's policy or the account's state forbid, and
// synchronises fields and roles. It is pure logic over the store; no HTTP,
// no XML.
package login

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Reason is the stable code of a refused login.
type Reason string

// Refusal reasons, in the order Resolve checks them: when several apply,
// the first is given.
const (
	ReasonSSODisabled  Reason = "sso_disabled"     // SSO is off for the tenant
	ReasonNoLogin      Reason = "no_login_name"    // neither a mapped login attribute nor a NameID
	ReasonAccessDenied Reason = "access_denied"    // the access attribute says no
	ReasonNoAccount    Reason = "no_account"       // no account to link and no JIT
	ReasonInactive     Reason = "account_inactive" // the account is not active
	ReasonNotSSO       Reason = "sso_not_allowed"  // the account's login method is not SSO
	ReasonLocked       Reason = "account_locked"
	ReasonNoWebAccess  Reason = "no_web_access"
)

// Refusal is a login refused by policy. UserMessage is safe to show; it is
// the same for no_account, account_inactive and sso_not_allowed so that
// accounts cannot be probed. AdminMessage names the precise condition.
type Refusal struct {
	Reason       Reason
	Login        string
	IdPEntityID  string
	UserMessage  string
	AdminMessage string
	UserID       int64 // the account concerned, 0 if none
}

func (r *Refusal) Error() string { return string(r.Reason) + ": " + r.AdminMessage }

// How an account was found.
const (
	ByLink    = "link"    // the (IdP, NameID) link recorded at an earlier login
	ByLogin   = "login"   // the login name (UPN), case-insensitively
	ByEmail   = "email"   // the email, when the tenant allows it
	ByCreated = "created" // just-in-time provisioning
)

// Result is an accepted login.
type Result struct {
	User    lanyard.User
	Profile Profile
	FoundBy string   // ByLink, ByLogin, ByEmail or ByCreated
	NewLink bool     // the (IdP, NameID) link was recorded now
	Changes []string // human-readable field changes ("email: a → b")
}

// Store is what Resolve needs: accounts and their links to IdP identities.
type Store interface {
	lanyard.UserStore
}

// Service resolves assertions into accounts.
type Service struct {
	Store Store
	Now   func() time.Time // nil: time.Now
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Options change how Resolve runs.
type Options struct {
	// DryRun computes the outcome without writing anything (the admin
	// "Test SSO connection").
	DryRun bool
}

// Resolve finds or creates the account of an assertion and decides whether
// it may log in. Checks, in order: SSO enabled; a login name; the access
// attribute; an account (link, login name, email if allowed, else JIT);
// active; SSO login method; not locked; web browser access. A refusal is a
// *Refusal; any other error is a store failure.
//
// Two simultaneous first logins of one person resolve to one account: the
// store's uniqueness on login names makes the loser retry and find the
// winner's account.
func (s *Service) Resolve(ctx context.Context, tenant lanyard.Tenant, a Assertion, opt Options) (Result, error) {
	var lastErr error
	for attempt := 0; attempt < 4; attempt++ {
		res, err := s.resolveOnce(ctx, tenant, a, opt)
		if errors.Is(err, lanyard.ErrConflict) {
			lastErr = err // another login created the account or link first
			continue
		}
		return res, err
	}
	return Result{}, fmt.Errorf("login: resolve %q: gave up after repeated conflicts: %w", a.NameID, lastErr)
}

func (s *Service) resolveOnce(ctx context.Context, tenant lanyard.Tenant, a Assertion, opt Options) (Result, error) {
	sso := tenant.SSO
	sso.Normalize()
	p := MapAttributes(sso.Attributes, a)
	if sso.NewUser.LoginByUPN {
		// The tenant's accounts are named by their user principal name
		// (user@domain): accounts are found, and created, under it.
		if upn := UPNOf(a, p); upn != "" {
			p.Login = upn
		}
	}
	refuse := func(r Reason, userID int64, format string, args ...any) (Result, error) {
		return Result{Profile: p}, &Refusal{
			Reason: r, Login: p.Login, IdPEntityID: a.IdPEntityID, UserID: userID,
			UserMessage: userMessage(r, p.Login), AdminMessage: fmt.Sprintf(format, args...),
		}
	}

	// 1. SSO must be on for the tenant.
	if !sso.Enabled {
		return refuse(ReasonSSODisabled, 0, "tenant %q has SSO turned off; user %q authenticated by identity provider %q was refused (turn it on with: lanyard tenant set %s enabled=true)", tenant.Slug, p.Login, a.IdPEntityID, tenant.Slug)
	}
	// 2. A login name: the mapped attribute, else the NameID.
	if p.Login == "" {
		return refuse(ReasonNoLogin, 0, "identity provider %q sent no login attribute (tried %s) and an empty NameID", a.IdPEntityID, strings.Join(namesOr(sso.Attributes.LoginID, DefaultAttributeNames.LoginID), ", "))
	}
	// 3. The access attribute, when the IdP sends one, decides.
	if p.AccessMapped && !p.Access {
		return refuse(ReasonAccessDenied, 0, "user %q authenticated by identity provider %q: the access attribute does not grant access to this application", p.Login, a.IdPEntityID)
	}

	// 4. Find the account: link, login name, email; else create it.
	res := Result{Profile: p}
	u, foundBy, err := s.find(ctx, tenant, a, p)
	switch {
	case err == nil:
		res.FoundBy = foundBy
	case errors.Is(err, lanyard.ErrNotFound) && !sso.JIT:
		return refuse(ReasonNoAccount, 0, "user %q authenticated by identity provider %q is not synchronized with a Lanyard account of tenant %q, and just-in-time provisioning is off (turn it on with: lanyard tenant set %s jit=true, or create the account)", p.Login, a.IdPEntityID, tenant.Slug, tenant.Slug)
	case errors.Is(err, lanyard.ErrNotFound):
		u = newUser(tenant, sso, p)
		u.LastLoginAt = s.now()
		res.FoundBy = ByCreated
		if !opt.DryRun {
			if err := s.Store.CreateUser(ctx, &u); err != nil {
				return Result{}, fmt.Errorf("login: create account %q: %w", p.Login, err)
			}
		}
	default:
		return Result{}, fmt.Errorf("login: find account %q: %w", p.Login, err)
	}

	// 5. The account's state; when several refusals apply, the first here
	// is given.
	switch {
	case u.Status != lanyard.StatusActive:
		return refuse(ReasonInactive, u.ID, "user %q authenticated by identity provider %q is synchronized with an inactive Lanyard account (id %d)", p.Login, a.IdPEntityID, u.ID)
	case u.LoginMethod != lanyard.LoginSSO:
		return refuse(ReasonNotSSO, u.ID, "user %q authenticated by identity provider %q is not permitted to use the Single Sign-On login method (account %q uses %s; change it with: lanyard user set --tenant %s %s login_method=sso)", p.Login, a.IdPEntityID, u.Login, u.LoginMethod, tenant.Slug, u.Login)
	case u.Locked:
		return refuse(ReasonLocked, u.ID, "user account %q (authenticated by identity provider %q) is locked", u.Login, a.IdPEntityID)
	case !u.WebAccess:
		return refuse(ReasonNoWebAccess, u.ID, "user %q (authenticated by identity provider %q) is not permitted to log in through the web browser", u.Login, a.IdPEntityID)
	}

	// 6. Synchronise fields and roles, record the login.
	now := s.now()
	if res.FoundBy != ByCreated {
		res.Changes = applyProfile(&u, sso, p)
	}
	if !opt.DryRun && needsWrite(res, u, now) {
		changes := res.Changes
		updated, err := s.Store.UpdateUser(ctx, u.ID, func(cur *lanyard.User) error {
			if res.FoundBy != ByCreated {
				changes = applyProfile(cur, sso, p)
			}
			cur.LastLoginAt = now
			return nil
		})
		if err != nil {
			return Result{}, fmt.Errorf("login: update account %q: %w", u.Login, err)
		}
		u, res.Changes = updated, changes
	}
	res.User = u

	// 7. Remember the IdP identity so the next login finds the account by it.
	if res.FoundBy != ByLink && a.NameID != "" {
		res.NewLink = true
		if !opt.DryRun {
			err := s.Store.LinkUser(ctx, lanyard.Link{TenantID: tenant.ID, UserID: u.ID, IdPEntityID: a.IdPEntityID, NameID: a.NameID, NameIDFormat: a.NameIDFormat, CreatedAt: now})
			if errors.Is(err, lanyard.ErrConflict) {
				// A simultaneous login recorded it; fine if it points here.
				other, err2 := s.Store.UserByLink(ctx, tenant.ID, a.IdPEntityID, a.NameID)
				if err2 != nil || other.ID != u.ID {
					return Result{}, fmt.Errorf("login: identity %q of %q is linked to another account: %w", a.NameID, a.IdPEntityID, err)
				}
				res.NewLink = false
			} else if err != nil {
				return Result{}, fmt.Errorf("login: link account %q: %w", u.Login, err)
			}
		}
	}
	return res, nil
}

// lastLoginPrecision is how fresh a recorded last-login time may stay
// before a login with no other change rewrites it: repeat logins within
// it cost no account write (the ACS hot path).
const lastLoginPrecision = time.Minute

// needsWrite reports whether an accepted login must write the account:
// the IdP changed a field or role, or the recorded last login is older
// than lastLoginPrecision. A just-created account already holds both.
func needsWrite(res Result, u lanyard.User, now time.Time) bool {
	if res.FoundBy == ByCreated {
		return false
	}
	if len(res.Changes) > 0 {
		return true
	}
	age := now.Sub(u.LastLoginAt)
	return age < 0 || age >= lastLoginPrecision
}

// find looks for the account of an assertion: by link, by login name, then
// by email when the tenant allows it (only when exactly one account has it).
func (s *Service) find(ctx context.Context, tenant lanyard.Tenant, a Assertion, p Profile) (lanyard.User, string, error) {
	if a.NameID != "" {
		u, err := s.Store.UserByLink(ctx, tenant.ID, a.IdPEntityID, a.NameID)
		if err == nil {
			return u, ByLink, nil
		}
		if !errors.Is(err, lanyard.ErrNotFound) {
			return u, "", err
		}
	}
	u, err := s.Store.UserByLogin(ctx, tenant.ID, p.Login)
	if err == nil {
		return u, ByLogin, nil
	}
	if !errors.Is(err, lanyard.ErrNotFound) {
		return u, "", err
	}
	if tenant.SSO.LinkByEmail && p.Email != "" {
		us, err := s.Store.UsersByEmail(ctx, tenant.ID, p.Email)
		if err != nil {
			return lanyard.User{}, "", err
		}
		if len(us) == 1 {
			return us[0], ByEmail, nil
		}
	}
	return lanyard.User{}, "", lanyard.ErrNotFound
}

// newUser builds a just-in-time account from the profile and the tenant's
// defaults; it is marked IdP-sourced.
func newUser(tenant lanyard.Tenant, sso lanyard.SSOSettings, p Profile) lanyard.User {
	d := sso.NewUser
	u := lanyard.User{
		TenantID:    tenant.ID,
		Login:       p.Login,
		Email:       p.Email,
		FirstName:   p.FirstName,
		LastName:    p.LastName,
		Status:      lanyard.StatusActive,
		LoginMethod: lanyard.LoginSSO,
		WebAccess:   d.WebAccess == nil || *d.WebAccess,
		Source:      lanyard.SourceIdP,
		IdPSourced:  true,
		AutoLogin:   d.AutoLogin,
	}
	if d.Inactive {
		u.Status = lanyard.StatusInactive
	}
	for _, r := range d.Roles {
		u.Roles = append(u.Roles, lanyard.RoleGrant{Role: r, Source: lanyard.RoleManual})
	}
	u.SetRoles(lanyard.RoleIdP, RolesForGroups(sso.GroupRoles, p.Groups))
	u.Normalize()
	if u.Email != "" && u.Validate() != nil {
		u.Email = "" // an IdP value that is no address must not block the login
	}
	return u
}

// applyProfile copies the IdP's values onto an existing account, except the
// fields the tenant protects and, for LDAP-owned accounts, the fields LDAP
// owns. It returns the changes made.
func applyProfile(u *lanyard.User, sso lanyard.SSOSettings, p Profile) []string {
	ignored := map[string]bool{}
	for _, f := range sso.IgnoreOnUpdate {
		ignored[f] = true
	}
	if u.Source == lanyard.SourceLDAP {
		for _, f := range []string{"email", "firstname", "lastname"} {
			ignored[f] = true
		}
	}
	var changes []string
	set := func(field string, dst *string, v string) {
		if ignored[field] || v == "" || *dst == v {
			return
		}
		changes = append(changes, fmt.Sprintf("%s: %q → %q", field, *dst, v))
		*dst = v
	}
	set("email", &u.Email, p.Email)
	set("firstname", &u.FirstName, p.FirstName)
	set("lastname", &u.LastName, p.LastName)
	if !ignored["roles"] {
		before := strings.Join(grantsOf(u.Roles, lanyard.RoleIdP), ";")
		u.SetRoles(lanyard.RoleIdP, RolesForGroups(sso.GroupRoles, p.Groups))
		if after := strings.Join(grantsOf(u.Roles, lanyard.RoleIdP), ";"); after != before {
			changes = append(changes, fmt.Sprintf("roles from IdP: %q → %q", before, after))
		}
	}
	return changes
}

func grantsOf(gs []lanyard.RoleGrant, src lanyard.RoleSource) []string {
	var out []string
	for _, g := range gs {
		if g.Source == src {
			out = append(out, g.Role)
		}
	}
	return out
}

func namesOr(configured, defaults []string) []string {
	if len(configured) > 0 {
		return configured
	}
	return defaults
}

// userMessage is what the person who tried to log in reads.
func userMessage(r Reason, login string) string {
	switch r {
	case ReasonNoAccount, ReasonInactive, ReasonNotSSO:
		return fmt.Sprintf("User '%s' is not synchronized with Lanyard. Please check with your administrator.", login)
	case ReasonLocked:
		return fmt.Sprintf("User account '%s' is locked. Please check with your administrator.", login)
	case ReasonNoWebAccess:
		return fmt.Sprintf("User '%s' is not permitted to log in through the web browser. Please check with your administrator.", login)
	case ReasonAccessDenied:
		return fmt.Sprintf("User '%s' is not permitted to use this application. Please check with your administrator.", login)
	case ReasonSSODisabled:
		return "Single sign-on is not enabled for this organisation. Please check with your administrator."
	case ReasonNoLogin:
		return "Your identity provider did not say who you are. Please check with your administrator."
	}
	return "Your login was refused. Please check with your administrator."
}
