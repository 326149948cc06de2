package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// DeleteUser removes an account with its roles, IdP links, sessions and
// one-time tokens (reset links, automatic login). The audit trail keeps
// who deleted whom (user.delete, with the account's ID, login and email).
func (s *Service) DeleteUser(ctx context.Context, actor, tenantSlug, login string) (lanyard.User, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.User{}, err
	}
	u, err := s.userIn(ctx, t, login)
	if err != nil {
		return lanyard.User{}, err
	}
	var sessions int
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		live, err := tx.UserSessions(ctx, u.ID, s.now())
		if err != nil {
			return err
		}
		sessions = len(live)
		if err := tx.DeleteUser(ctx, u.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   "user.delete",
			UserID:   u.ID,
			Subject:  u.Login,
			Message:  fmt.Sprintf("deleted account %s (id %d, %s) with its links, roles, %d live sessions and one-time tokens", u.Login, u.ID, emailOrNone(u.Email), sessions),
			Detail:   map[string]string{"email": u.Email, "roles": strings.Join(u.RoleNames(), ";")},
		})
	})
	if errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.User{}, errorf(lanyard.KindNotFound, err, "tenant %s has no user %q (deleted meanwhile)", t.Slug, u.Login)
	}
	if err != nil {
		return lanyard.User{}, fmt.Errorf("delete user %s of tenant %s: %w", u.Login, t.Slug, err)
	}
	s.logChange(ctx, "user.delete", actor, "tenant", t.Slug, "login", u.Login, "sessions", sessions)
	return u, nil
}

// TenantDeletion is what deleting a tenant removed.
type TenantDeletion struct {
	Tenant lanyard.Tenant
	Users  int
	IdPs   int
}

// DeleteTenant removes a tenant with its email domains, IdP connections,
// SP keys, accounts (with their links, sessions and tokens) and pending
// requests. confirm must repeat the slug: the step that makes a deletion
// deliberate. The default tenant, home of the break-glass administrators,
// cannot be deleted. The audit trail and the login traces keep the
// tenant's rows, and a tenant.delete event says who deleted it.
func (s *Service) DeleteTenant(ctx context.Context, actor, slug, confirm string) (TenantDeletion, error) {
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return TenantDeletion{}, err
	}
	if t.Slug == lanyard.DefaultTenantSlug {
		return TenantDeletion{}, invalidf("the %s tenant holds the break-glass administrators and cannot be deleted", t.Slug)
	}
	if confirm != t.Slug {
		return TenantDeletion{}, invalidf("to delete tenant %s and all its accounts, confirm by typing its slug %q", t.Slug, t.Slug)
	}
	var del TenantDeletion
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		users, err := tx.CountUsers(ctx, lanyard.UserFilter{TenantID: t.ID})
		if err != nil {
			return err
		}
		idps, err := tx.IdPs(ctx, t.ID)
		if err != nil {
			return err
		}
		del = TenantDeletion{Tenant: t, Users: users, IdPs: len(idps)}
		if err := tx.DeleteTenant(ctx, t.ID); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   "tenant.delete",
			Subject:  t.Slug,
			Message: fmt.Sprintf("deleted tenant %s (%s, id %d) with %d accounts, %d IdP connections, its SP keys, sessions and pending requests",
				t.Slug, t.DisplayName, t.ID, users, len(idps)),
			Detail: map[string]string{"users": fmt.Sprint(users), "idps": fmt.Sprint(len(idps))},
		})
	})
	if errors.Is(err, lanyard.ErrNotFound) {
		return TenantDeletion{}, errorf(lanyard.KindNotFound, err, "tenant %s was deleted meanwhile", t.Slug)
	}
	if err != nil {
		return TenantDeletion{}, fmt.Errorf("delete tenant %s: %w", t.Slug, err)
	}
	s.logChange(ctx, "tenant.delete", actor, "tenant", t.Slug, "users", del.Users, "idps", del.IdPs)
	return del, nil
}

func emailOrNone(s string) string {
	if s == "" {
		return "no email"
	}
	return s
}
