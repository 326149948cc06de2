package lanyard

import (
	"fmt"
	"slices"
	"strings"
)

// Directory sources and who owns an account. This file is the one place
// that decides what a source may do to an account; every writer (SCIM,
// LDAP synchronisation, SAML login, the administration) asks it.
//
// The rules:
//   - A tenant may name the source that owns its accounts
//     (SSOSettings.AccountOwner). Then only that source creates accounts;
//     the others are refused with an error naming the owner.
//   - An account created by a synchronising source (SCIM, LDAP) belongs to
//     it: the other synchronising source and the administration cannot
//     change its owned fields (OwnedFields); SAML logins link to it and
//     never overwrite them.
//   - A synchronising source takes over an account it did not create
//     (local, or made by SAML JIT) only when the tenant names it owner,
//     and never an administrator's account (a reserved role given by
//     hand): the break-glass accounts stay the administration's.

// WriteSources lists the sources a tenant may name as owner of its accounts.
var WriteSources = []UserSource{SourceLocal, SourceIdP, SourceLDAP, SourceSCIM}

// sourceNames says who a source is, for messages.
var sourceNames = map[UserSource]string{
	SourceLocal: "the administration (admin UI, API, CLI, CSV)",
	SourceIdP:   "SAML just-in-time provisioning",
	SourceLDAP:  "LDAP synchronisation",
	SourceSCIM:  "SCIM provisioning",
}

// SourceName describes a source for people.
func SourceName(s UserSource) string {
	if n, ok := sourceNames[s]; ok {
		return n
	}
	return string(s)
}

// synchronising reports whether s keeps its accounts from an outside
// directory, and so owns their fields.
func synchronising(s UserSource) bool { return s == SourceLDAP || s == SourceSCIM }

// OwnedFields lists the fields of an account that only its source may
// change: the directory's data of an account kept by SCIM or LDAP (login,
// email, names, active state). Other accounts have none.
func OwnedFields(account UserSource) []string {
	if synchronising(account) {
		return []string{"login", "email", "firstname", "lastname", "status"}
	}
	return nil
}

// SourceConflict is the error of a write refused by ownership.
func sourceConflict(format string, args ...any) error {
	return &Error{Kind: KindConflict, Op: "lanyard.CheckSourceWrite", Message: fmt.Sprintf(format, args...)}
}

// CheckSourceWrite decides whether writer may create an account (account
// nil) or change or delete account, in a tenant whose accounts owner names
// (empty: none named). fields are the fields the write changes (nil: any);
// SAML logins never call it for owned fields: they skip them (OwnedFields).
// A refusal is a KindConflict error that says which source owns what.
func CheckSourceWrite(owner, writer UserSource, account *User, fields ...string) error {
	if owner != "" && !slices.Contains(WriteSources, owner) {
		return &Error{Kind: KindInvalid, Message: fmt.Sprintf("the tenant's account_owner %q is not a source: use local, idp, ldap or scim", owner)}
	}
	if account == nil {
		if owner != "" && writer != owner {
			return sourceConflict("accounts of this tenant are owned by %s; %s cannot create them (tenant setting account_owner=%s)",
				SourceName(owner), SourceName(writer), owner)
		}
		return nil
	}
	if account.Source == writer {
		return nil
	}
	if synchronising(account.Source) {
		touched := fields == nil
		for _, f := range fields {
			if slices.Contains(OwnedFields(account.Source), f) {
				touched = true
			}
		}
		if touched {
			return sourceConflict("account %q is kept by %s, which would undo the change at its next run; %s cannot change its %s: change it in that directory, take the account out of it with source=local, or keep it out of logins with locked=true",
				account.Login, SourceName(account.Source), SourceName(writer), strings.Join(OwnedFields(account.Source), ", "))
		}
		return nil
	}
	if synchronising(writer) && administers(account) {
		return sourceConflict("account %q is an administrator's, given by hand; %s does not change it (the administration does)",
			account.Login, SourceName(writer))
	}
	if synchronising(writer) && owner != writer {
		return sourceConflict("account %q was created by %s; %s takes it over only when the tenant names it owner (tenant setting account_owner=%s)",
			account.Login, SourceName(account.Source), SourceName(writer), writer)
	}
	return nil
}

// administers reports whether u holds a reserved role given by hand.
func administers(u *User) bool {
	for _, g := range u.Roles {
		if g.Source == RoleManual && IsReservedRole(g.Role) {
			return true
		}
	}
	return false
}
