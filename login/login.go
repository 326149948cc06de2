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
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

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
	// ReasonInvalidLogin: the login name the IdP sent cannot be an
	// account's (control characters, spaces, too long).
	ReasonInvalidLogin Reason = "invalid_login_name"
	// ReasonLinkNotAllowed: the identity matches an account that belongs
	// to another IdP, and the tenant's link policy does not let this IdP
	// link to it.
	ReasonLinkNotAllowed Reason = "link_not_allowed"
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

// Store is what Resolve needs: accounts and their links to IdP identities,
// and the tenant's IdPs (whether there is more than one).
type Store interface {
	lanyard.UserStore
	IdPs(ctx context.Context, tenantID int64) ([]lanyard.IdPConnection, error)
}

// Service resolves assertions into accounts.
type Service struct {
	Store Store
	Now   func() time.Time // nil: time.Now
	// Directory gives the tenants' LDAP directories, whose precedence
	// rules apply (see SAMLMay). Nil: no tenant has one.
	Directory DirectoryStore
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
	// In, when set, is the store Resolve reads and writes through instead
	// of the Service's: a transaction that also holds the rest of the
	// login (session, audit event, replay mark), so that all of it commits
	// or none.
	In Store
	// Directory is the tenant's LDAP directory, normalised, as the caller
	// holds it in memory (the tenant's configuration snapshot), nil when
	// the tenant has none; it is used instead of reading the Service's
	// DirectoryStore when DirectoryKnown is set. Resolve does not change it.
	Directory      *lanyard.LDAPDirectory
	DirectoryKnown bool
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
	if opt.In != nil {
		in := *s
		in.Store = opt.In
		// The directory is read through the transaction too: it holds a
		// connection already, where a read beside it would start a read
		// transaction of its own on another one while the login's writes
		// wait (SQLite has one writer).
		if dir, ok := opt.In.(DirectoryStore); ok && s.Directory != nil {
			in.Directory = dir
		}
		s = &in
	}
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
	if !validLoginName(p.Login) {
		return refuse(ReasonInvalidLogin, 0, "identity provider %q sent the login name %q, which no account can have (control characters, spaces, or more than 256 characters); fix the attribute at the IdP or map another one", a.IdPEntityID, p.Login)
	}
	// Every value the IdP sends is checked at every login, not only when
	// the account is created: a name loses its control characters, an
	// email that is no address is not stored.
	res := Result{Profile: p}
	// createdLink says, once an account is created with its link at once
	// (LinkedUserCreator), whether the link was written: nil otherwise.
	var createdLink *bool
	res.Changes = append(res.Changes, cleanProfile(&p)...)
	res.Profile = p
	// 3. The access attribute, when the IdP sends one, decides.
	if p.AccessMapped && !p.Access {
		return refuse(ReasonAccessDenied, 0, "user %q authenticated by identity provider %q: the access attribute does not grant access to this application", p.Login, a.IdPEntityID)
	}

	// 4. Find the account: link, login name, email; else create it. An
	// account found by an attribute links to this IdP only when it came
	// from it or the tenant's policy lets this IdP link by that attribute.
	notes := res.Changes
	res.Changes = nil
	dir, err := s.directory(ctx, tenant.ID, opt)
	if err != nil {
		return Result{}, fmt.Errorf("login: directory of %q: %w", tenant.Slug, err)
	}
	u, foundBy, err := s.find(ctx, tenant, a, p, dir)
	var rights SAMLRights
	if err == nil {
		rights = SAMLMay(dir, &u, p.Login, p.Email)
	} else {
		rights = SAMLMay(dir, nil, p.Login, p.Email)
	}
	switch {
	case err == nil:
		res.FoundBy = foundBy
		if foundBy != ByLink {
			why, err := s.linkRefused(ctx, tenant, a, u, foundBy)
			if err != nil {
				return Result{}, fmt.Errorf("login: link policy of %q: %w", u.Login, err)
			}
			if why != "" {
				return refuse(ReasonLinkNotAllowed, u.ID, "user %q authenticated by identity provider %q matches account %q (id %d) by its %s, but %s; the account is left unchanged (to let this IdP link accounts by %s: lanyard tenant set %s link_idps=%s@%s)",
					p.Login, a.IdPEntityID, u.Login, u.ID, foundBy, why, foundBy, tenant.Slug, foundBy, a.IdPEntityID)
			}
		}
	case errors.Is(err, lanyard.ErrNotFound) && !rights.Create:
		allow := "lanyard ldap set --tenant " + tenant.Slug + " allow_jit=true"
		return refuse(ReasonNotSynchronized, 0, "user %q authenticated by identity provider %q not synchronized with a Lanyard account of tenant %q: the user %s, and no synchronised account matches by %s (run a sync: lanyard ldap sync --tenant %s; or let SAML create such accounts: %s)",
			p.Login, a.IdPEntityID, tenant.Slug, rights.CreateRefusal, dir.MatchBy, tenant.Slug, allow)
	case errors.Is(err, lanyard.ErrNotFound) && !sso.JIT:
		return refuse(ReasonNoAccount, 0, "user %q authenticated by identity provider %q is not synchronized with a Lanyard account of tenant %q, and just-in-time provisioning is off (turn it on with: lanyard tenant set %s jit=true, or create the account)", p.Login, a.IdPEntityID, tenant.Slug, tenant.Slug)
	case errors.Is(err, lanyard.ErrNotFound):
		if err := lanyard.CheckSourceWrite(sso.AccountOwner, lanyard.SourceIdP, nil); err != nil {
			return refuse(ReasonNoAccount, 0, "user %q authenticated by identity provider %q has no account in tenant %q, and just-in-time provisioning may not create one: %s", p.Login, a.IdPEntityID, tenant.Slug, lanyard.ErrorMessage(err))
		}
		u = newUser(tenant, sso, p)
		u.LastLoginAt = s.now()
		res.FoundBy = ByCreated
		if !opt.DryRun {
			// An account that step 5 lets in is linked as it is created
			// (one statement on PostgreSQL); one it refuses is kept
			// unlinked, as step 7 is not reached.
			creator, ok := s.Store.(lanyard.LinkedUserCreator)
			if ok && a.NameID != "" && u.Status == lanyard.StatusActive && u.LoginMethod == lanyard.LoginSSO && !u.Locked && u.WebAccess {
				link := lanyard.Link{TenantID: tenant.ID, IdPEntityID: a.IdPEntityID, NameID: a.NameID, NameIDFormat: a.NameIDFormat, CreatedAt: u.LastLoginAt}
				linked, err := creator.CreateLinkedUser(ctx, &u, link)
				if err != nil {
					return Result{}, fmt.Errorf("login: create account %q: %w", p.Login, err)
				}
				createdLink = &linked
			} else if err := s.Store.CreateUser(ctx, &u); err != nil {
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
		res.Changes = applyProfile(&u, sso, p, rights)
	}

	if !opt.DryRun && needsWrite(res, u, now) {
		changes := res.Changes
		updated, err := s.Store.UpdateUser(ctx, u.ID, func(cur *lanyard.User) error {
			if res.FoundBy != ByCreated {
				changes = applyProfile(cur, sso, p, SAMLMay(dir, cur, p.Login, p.Email))
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
			var err error
			switch {
			case createdLink == nil:
				err = s.Store.LinkUser(ctx, lanyard.Link{TenantID: tenant.ID, UserID: u.ID, IdPEntityID: a.IdPEntityID, NameID: a.NameID, NameIDFormat: a.NameIDFormat, CreatedAt: now})
			case !*createdLink:
				err = &lanyard.Error{Op: "login", Kind: lanyard.KindConflict, Message: fmt.Sprintf("identity %q of %q is already linked to an account", a.NameID, a.IdPEntityID)}
			}
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
	if len(notes) > 0 {
		res.Changes = append(notes, res.Changes...)
	}
	return res, nil
}

// linkRefused says why the IdP identity of a may not link to account u,
// found by the attribute by (ByLogin or ByEmail); "" when it may. A link
// belongs to one IdP: an account linked to some IdP accepts a new link from
// that IdP (a new NameID) or from an IdP the tenant's LinkIdPs name for the
// attribute; an account never linked accepts it when the tenant has a
// single IdP, else only by policy.
func (s *Service) linkRefused(ctx context.Context, tenant lanyard.Tenant, a Assertion, u lanyard.User, by string) (string, error) {
	attr := lanyard.LinkByLogin
	if by == ByEmail {
		attr = lanyard.LinkByEmailAttr
	}
	if tenant.SSO.AllowsLink(a.IdPEntityID, attr) {
		return "", nil
	}
	links, err := s.Store.Links(ctx, u.ID)
	if err != nil {
		return "", err
	}
	var others []string
	for _, l := range links {
		if l.IdPEntityID == a.IdPEntityID {
			return "", nil
		}
		if !slices.Contains(others, l.IdPEntityID) {
			others = append(others, l.IdPEntityID)
		}
	}
	if len(others) > 0 {
		return fmt.Sprintf("the account belongs to identity provider %s, and the tenant's link policy does not let %q link accounts by %s", quoteList(others), a.IdPEntityID, attr), nil
	}
	idps, err := s.Store.IdPs(ctx, tenant.ID)
	if err != nil {
		return "", err
	}
	if len(idps) <= 1 {
		return "", nil
	}
	return fmt.Sprintf("the account was never linked to an identity provider, the tenant has %d of them, and its link policy does not let %q link accounts by %s", len(idps), a.IdPEntityID, attr), nil
}

// quoteList quotes and joins names for a message.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, " and ")
}

// validLoginName reports whether an account can have the login name.
func validLoginName(login string) bool {
	return utf8.RuneCountInString(login) <= 256 && !strings.ContainsAny(login, " \t\r\n") && !lanyard.HasControl(login)
}

// maxNameBytes is the longest first or last name an account keeps.
const maxNameBytes = 200

// cleanProfile makes the IdP's values fit an account: names lose control
// characters and are cut to maxNameBytes, an email that is no address is
// dropped. It returns what it changed, for the administrator.
func cleanProfile(p *Profile) []string {
	var notes []string
	for _, f := range []struct {
		name string
		v    *string
	}{{"firstname", &p.FirstName}, {"lastname", &p.LastName}} {
		if clean := lanyard.CleanText(*f.v, maxNameBytes); clean != *f.v {
			notes = append(notes, fmt.Sprintf("%s from the IdP cleaned (control characters or too long): %q → %q", f.name, *f.v, clean))
			*f.v = clean
		}
	}
	if p.Email != "" && !lanyard.ValidEmail(p.Email) {
		notes = append(notes, fmt.Sprintf("email from the IdP ignored, not an email address: %q", p.Email))
		p.Email = ""
	}
	return notes
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
//
// When the tenant's directory matches its accounts by email, an SSO login
// also finds the directory's account with the email.
func (s *Service) find(ctx context.Context, tenant lanyard.Tenant, a Assertion, p Profile, dir *lanyard.LDAPDirectory) (lanyard.User, string, error) {
	finder, oneQuery := s.Store.(linkOrLoginFinder)
	switch {
	case a.NameID != "" && oneQuery:
		u, byLink, err := finder.UserByLinkOrLogin(ctx, tenant.ID, a.IdPEntityID, a.NameID, p.Login)
		switch {
		case err == nil && byLink:
			return u, ByLink, nil
		case err == nil:
			return u, ByLogin, nil
		case !errors.Is(err, lanyard.ErrNotFound):
			return u, "", err
		}
	default:
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
	}
	byDirectory := dir != nil && dir.Enabled && dir.MatchBy == lanyard.MatchByEmail
	if (tenant.SSO.LinkByEmail || byDirectory) && p.Email != "" {
		us, err := s.Store.UsersByEmail(ctx, tenant.ID, p.Email)
		if err != nil {
			return lanyard.User{}, "", err
		}
		if !tenant.SSO.LinkByEmail {
			us = slices.DeleteFunc(us, func(u lanyard.User) bool { return u.Source != lanyard.SourceLDAP })
		}
		if len(us) == 1 {
			return us[0], ByEmail, nil
		}
	}
	return lanyard.User{}, "", lanyard.ErrNotFound
}

// linkOrLoginFinder is a store that looks an account up by its link and
// by its login name in one round trip: the user linked to the identity,
// else the tenant's user with the login (case-insensitively); byLink tells
// which. ErrNotFound when neither exists.
type linkOrLoginFinder interface {
	UserByLinkOrLogin(ctx context.Context, tenantID int64, idpEntityID, nameID, login string) (u lanyard.User, byLink bool, err error)
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
		if lanyard.IsReservedRole(r) {
			continue // administrators are made on purpose, never by default
		}
		u.Roles = append(u.Roles, lanyard.RoleGrant{Role: r, Source: lanyard.RoleManual})
	}
	u.SetRoles(lanyard.RoleIdP, RolesForGroups(sso.GroupRoles, p.Groups))
	u.Normalize()
	return u
}

// applyProfile copies the IdP's values onto an existing account, except the
// fields the tenant protects and the fields the account's owning source
// keeps (rights, from SAMLMay). It returns the changes made.
func applyProfile(u *lanyard.User, sso lanyard.SSOSettings, p Profile, rights SAMLRights) []string {
	ignored := map[string]bool{}
	for _, f := range sso.IgnoreOnUpdate {
		ignored[f] = true
	}
	for _, f := range rights.OwnedFields {
		ignored[f] = true
	}
	if !rights.Roles {
		ignored["roles"] = true
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
	case ReasonNoAccount, ReasonInactive, ReasonNotSSO, ReasonNotSynchronized:
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
	case ReasonInvalidLogin:
		return "Your identity provider sent a user name this site cannot use. Please check with your administrator."
	case ReasonLinkNotAllowed:
		return fmt.Sprintf("The account '%s' signs in through another identity provider, and this one may not take it over. Sign in through the identity provider you normally use, or ask your administrator to connect this one.", login)
	}
	return "Your login was refused. Please check with your administrator."
}
