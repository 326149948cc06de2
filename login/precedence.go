package login

import (
	"context"
	"errors"
	"fmt"

	"github.com/lanyard-sso/lanyard"
)

// ReasonNotSynchronized: the person is in the scope of the tenant's
// directory, which creates those accounts, and has no account yet.
const ReasonNotSynchronized Reason = "not_synchronized"

// DirectoryStore gives the tenant's directory settings, which decide the
// precedence of the directory over SAML provisioning.
type DirectoryStore interface {
	// LDAPDirectorySettings returns the tenant's directory, without its
	// bind password. ErrNotFound.
	LDAPDirectorySettings(ctx context.Context, tenantID int64) (lanyard.LDAPDirectory, error)
}

// SAMLRights is what an SSO login may do with an account, given the
// source that owns it. It is the one place where that precedence is
// decided.
type SAMLRights struct {
	// Create: the login may create the account just in time (when the
	// tenant's jit setting is on too).
	Create bool
	// CreateRefusal says why not, for the administrator's log.
	CreateRefusal string
	// OwnedFields are the fields the owning source keeps: the IdP's
	// values never overwrite them.
	OwnedFields []string
	// Roles: the login may set the account's roles from the IdP's groups.
	Roles bool
}

// SAMLMay decides what an SSO login of someone with login and email may
// do with account u (nil when none was found), given the tenant's
// directory (nil when it has none):
//   - an account a synchronising source (LDAP, SCIM) keeps keeps the
//     fields that source owns (lanyard.OwnedFields), and an LDAP account
//     its roles unless the directory lets SAML set them;
//   - no account: a person in the scope of an enabled directory is created
//     only by the sync, unless the directory allows SAML JIT for them;
//     out of scope, or without a directory, the tenant's jit decides.
func SAMLMay(dir *lanyard.LDAPDirectory, u *lanyard.User, login, email string) SAMLRights {
	r := SAMLRights{Create: true, Roles: true}
	active := dir != nil && dir.Enabled
	if u != nil {
		r.OwnedFields = lanyard.OwnedFields(u.Source)
		if u.Source == lanyard.SourceLDAP {
			r.Roles = dir != nil && dir.SAMLRoles
		}
		return r
	}
	if active && dir.InScope(login, email) && !dir.AllowJIT {
		r.Create = false
		scope := "every SSO login of the tenant"
		if len(dir.ScopeDomains) > 0 {
			scope = fmt.Sprintf("the domains %v", dir.ScopeDomains)
		}
		r.CreateRefusal = fmt.Sprintf("is in the scope of the tenant's LDAP directory (%s), whose accounts are created only by the directory sync", scope)
	}
	return r
}

// directory returns the tenant's directory, nil when it has none: the one
// the caller holds in memory, else read from the DirectoryStore.
func (s *Service) directory(ctx context.Context, tenantID int64, opt Options) (*lanyard.LDAPDirectory, error) {
	if opt.DirectoryKnown {
		if opt.Directory == nil {
			return nil, nil
		}
		d := *opt.Directory // the caller's is shared (and normalised)
		return &d, nil
	}
	if s.Directory == nil {
		return nil, nil
	}
	d, err := s.Directory.LDAPDirectorySettings(ctx, tenantID)
	if errors.Is(err, lanyard.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	d.Normalize()
	return &d, nil
}
