package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// ConvertOptions say how local accounts become SSO accounts.
type ConvertOptions struct {
	// Domain, when set, turns a login without "@" into the UPN
	// login@Domain. Empty means such a login takes the account's email
	// address instead, and an account without one cannot be converted.
	Domain string
	// DryRun computes the conversions without writing anything.
	DryRun bool
}

// Conversion is what converting one account does.
type Conversion struct {
	Login    string // before
	NewLogin string // after (the same when already in UPN form)
	Changes  []string
}

// ConvertToSSO turns local accounts into SSO accounts: the login name
// takes the UPN form the IdP asserts (see ConvertOptions.Domain), the login
// method becomes sso and the password is removed, so that the account can
// only sign in through the IdP (administrators keep their password for the
// break-glass login). Every login is checked first: one problem (unknown
// login, no email to use, a new login another account has) converts
// nothing, and every problem is reported at once. The conversions are
// written in one transaction, one "user.convert" audit event each.
func (s *Service) ConvertToSSO(ctx context.Context, actor, tenantSlug string, logins []string, opts ConvertOptions) ([]Conversion, error) {
	if len(logins) == 0 {
		return nil, invalidf("no account given: name the logins to convert")
	}
	domain := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(opts.Domain)), "@")
	if domain != "" && (strings.ContainsAny(domain, "@ /") || !strings.Contains(domain, ".")) {
		return nil, invalidf("domain %q: give a DNS domain such as example.com", opts.Domain)
	}
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return nil, err
	}
	var (
		v       lanyard.ValidationError
		users   []lanyard.User
		results []Conversion
		taken   = map[string]string{} // new login (lower) → old login
	)
	for _, login := range logins {
		u, err := s.userIn(ctx, t, login)
		if err != nil {
			v.Add("%s", lanyard.ErrorMessage(err))
			continue
		}
		next, err := convertedUser(u, domain)
		if err != nil {
			v.Add("%s: %v", u.Login, err)
			continue
		}
		key := strings.ToLower(next.Login)
		if prev, dup := taken[key]; dup {
			v.Add("%s and %s would both become %s", prev, u.Login, next.Login)
			continue
		}
		taken[key] = u.Login
		if !strings.EqualFold(next.Login, u.Login) {
			if other, err := s.store.UserByLogin(ctx, t.ID, next.Login); err == nil {
				v.Add("%s cannot become %s: that login belongs to another account (merge the two with: lanyard user merge --tenant %s %s %s)", u.Login, next.Login, t.Slug, other.Login, u.Login)
				continue
			}
		}
		users = append(users, next)
		results = append(results, Conversion{Login: u.Login, NewLogin: next.Login, Changes: userDiff(u, next)})
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if opts.DryRun {
		return results, nil
	}
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		for i, next := range users {
			if len(results[i].Changes) == 0 {
				continue
			}
			_, err := tx.UpdateUser(ctx, next.ID, func(u *lanyard.User) error {
				n, err := convertedUser(*u, domain)
				*u = n
				return err
			})
			if err != nil {
				return fmt.Errorf("convert %s: %w", results[i].Login, err)
			}
			if err := s.audit(ctx, tx, lanyard.AuditEvent{
				TenantID: t.ID,
				Actor:    actor,
				Action:   "user.convert",
				UserID:   next.ID,
				Subject:  next.Login,
				Message:  "converted to an SSO account: " + strings.Join(results[i].Changes, "; "),
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if lanyard.ErrorKind(err) == lanyard.KindConflict {
		return nil, errorf(lanyard.KindConflict, err, "a new login was taken meanwhile; run the conversion again")
	}
	if err != nil {
		return nil, fmt.Errorf("convert accounts of %s: %w", t.Slug, err)
	}
	s.logChange(ctx, "user.convert", actor, "tenant", t.Slug, "accounts", len(users))
	return results, nil
}

// convertedUser returns u as an SSO account.
func convertedUser(u lanyard.User, domain string) (lanyard.User, error) {
	if u.Source == lanyard.SourceLDAP {
		return u, fmt.Errorf("the account belongs to LDAP synchronisation; convert it there")
	}
	if len(lanyard.OwnedFields(u.Source)) > 0 {
		return u, fmt.Errorf("the account belongs to %s; change it there", lanyard.SourceName(u.Source))
	}
	next := u
	next.Roles = append([]lanyard.RoleGrant(nil), u.Roles...)
	if !strings.Contains(u.Login, "@") {
		switch {
		case domain != "":
			next.Login = u.Login + "@" + domain
		case u.Email != "":
			next.Login = u.Email
		default:
			return u, fmt.Errorf("the login has no @domain and the account has no email: give a domain (--domain example.com)")
		}
	}
	next.LoginMethod = lanyard.LoginSSO
	if !u.HasRole(lanyard.RoleOperator) && !u.HasRole(lanyard.RoleTenantAdmin) {
		next.PasswordHash = ""
	}
	if err := next.Validate(); err != nil {
		return u, err
	}
	return next, nil
}
