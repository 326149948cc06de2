package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/lockout"
	"github.com/lanyard-sso/lanyard/password"
)

// Password reset links.
const (
	// PasswordResetPurpose is the OneTimeToken purpose of reset links.
	PasswordResetPurpose = "password-reset"
	// PasswordResetPath is where a reset link points, under the base URL.
	PasswordResetPath = "/admin/reset"
	// DefaultResetTTL is how long a reset link works when no TTL is given.
	DefaultResetTTL = time.Hour
	// MaxResetTTL is the longest a reset link may work.
	MaxResetTTL = 7 * 24 * time.Hour
)

// ThrottleAccountKey is the ThrottleStore key counting failed password
// logins of an account (lockout.AccountKey).
func ThrottleAccountKey(tenantID int64, login string) string {
	return lockout.AccountKey(tenantID, login)
}

// clearThrottle forgets the failed logins and the lockout of an account:
// whoever sets its password with the CLI or a reset link unlocks it.
func clearThrottle(ctx context.Context, tx lanyard.Store, tenantID int64, login string) error {
	return lockout.Policy{Store: tx}.Clear(ctx, lockout.AccountKey(tenantID, login))
}

// CreateAdmin makes login, an account of the tenant, an operator with the
// password (CreateAdministrator with lanyard.RoleOperator).
func (s *Service) CreateAdmin(ctx context.Context, actor, tenantSlug, login, pw string) (u lanyard.User, created bool, err error) {
	return s.CreateAdministrator(ctx, actor, tenantSlug, login, pw, lanyard.RoleOperator)
}

// CreateAdministrator makes login an administrator with the password: role
// is lanyard.RoleOperator or lanyard.RoleTenantAdmin (of the account's
// tenant). It creates the account (password login, local) or, when the
// login exists, grants it the role by hand and sets its password, keeping
// its login method (an SSO user keeps SSO and gains a break-glass
// password). created reports which happened. The password must pass
// password.Check.
func (s *Service) CreateAdministrator(ctx context.Context, actor, tenantSlug, login, pw, role string) (u lanyard.User, created bool, err error) {
	if role != lanyard.RoleOperator && role != lanyard.RoleTenantAdmin {
		return lanyard.User{}, false, invalidf("administrator role %q: use %s or %s", role, lanyard.RoleOperator, lanyard.RoleTenantAdmin)
	}
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.User{}, false, err
	}
	login = strings.TrimSpace(login)
	if err := password.Check(pw); err != nil {
		return lanyard.User{}, false, errorf(lanyard.KindInvalid, err, "%s", err.Error())
	}
	hash, err := password.Hash(pw)
	if err != nil {
		return lanyard.User{}, false, fmt.Errorf("create admin: %w", err)
	}

	existing, err := s.store.UserByLogin(ctx, t.ID, login)
	if errors.Is(err, lanyard.ErrNotFound) {
		nu := lanyard.User{
			TenantID:     t.ID,
			Login:        login,
			Status:       lanyard.StatusActive,
			LoginMethod:  lanyard.LoginPassword,
			WebAccess:    true,
			Source:       lanyard.SourceLocal,
			Roles:        []lanyard.RoleGrant{{Role: role, Source: lanyard.RoleManual}},
			PasswordHash: hash,
		}
		nu.Normalize()
		if err := nu.Validate(); err != nil {
			return lanyard.User{}, false, err
		}
		u, err := s.createUser(ctx, actor, t, nu, "admin.create", "created administrator "+nu.Login+" ("+role+")")
		return u, err == nil, err
	}
	if err != nil {
		return lanyard.User{}, false, fmt.Errorf("create admin %s: %w", login, err)
	}

	var changes []string
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		var err error
		u, err = tx.UpdateUser(ctx, existing.ID, func(cur *lanyard.User) error {
			changes = nil
			if !hasManualRole(*cur, role) {
				cur.Roles = lanyard.NormalizeRoles(append(cur.Roles, lanyard.RoleGrant{Role: role, Source: lanyard.RoleManual}))
				changes = append(changes, "granted "+role)
			}
			if cur.PasswordHash == "" {
				changes = append(changes, "set a password")
			} else {
				changes = append(changes, "replaced the password")
			}
			cur.PasswordHash = hash
			return nil
		})
		if err != nil {
			return err
		}
		if err := clearThrottle(ctx, tx, t.ID, u.Login); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   "admin.create",
			UserID:   u.ID,
			Subject:  u.Login,
			Message:  "existing user " + u.Login + ": " + strings.Join(changes, ", "),
		})
	})
	if err != nil {
		return lanyard.User{}, false, fmt.Errorf("create admin %s: %w", login, err)
	}
	s.logChange(ctx, "admin.create", actor, "tenant", t.Slug, "login", u.Login, "created", false)
	return u, false, nil
}

// hasManualRole reports whether u was given role by hand (an IdP-granted
// role is replaced at the next SSO login, so it does not count).
func hasManualRole(u lanyard.User, role string) bool {
	for _, g := range u.Roles {
		if g.Role == role && g.Source == lanyard.RoleManual {
			return true
		}
	}
	return false
}

// CreatePasswordReset issues a one-time link with which the administrator
// login sets a new password, valid for ttl (DefaultResetTTL when zero, at
// most MaxResetTTL). Only the SHA-256 of the token is stored. Users without
// the admin role get a KindForbidden error.
func (s *Service) CreatePasswordReset(ctx context.Context, actor, tenantSlug, login string, ttl time.Duration) (link string, expires time.Time, err error) {
	if ttl == 0 {
		ttl = DefaultResetTTL
	}
	if ttl < time.Minute || ttl > MaxResetTTL {
		return "", time.Time{}, invalidf("reset link lifetime %s: use between 1m and %s", ttl, MaxResetTTL)
	}
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return "", time.Time{}, err
	}
	u, err := s.userIn(ctx, t, login)
	if err != nil {
		return "", time.Time{}, err
	}
	if !u.HoldsAdminRole() {
		return "", time.Time{}, errorf(lanyard.KindForbidden, nil,
			"user %q of tenant %q is not an administrator; reset links are for administrators only (make them one with: lanyard admin create %s --tenant %s)",
			u.Login, t.Slug, u.Login, t.Slug)
	}

	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("reset token: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	now := s.now().UTC()
	tok := lanyard.OneTimeToken{
		Hash:      hashToken(token),
		Purpose:   PasswordResetPurpose,
		UserID:    u.ID,
		CreatedAt: now,
		ExpiresAt: now.Add(ttl),
	}
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		t := tok
		if err := tx.SaveToken(ctx, &t); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: u.TenantID,
			Actor:    actor,
			Action:   "admin.password_reset_link",
			UserID:   u.ID,
			Subject:  u.Login,
			Message:  fmt.Sprintf("issued a password reset link valid until %s", tok.ExpiresAt.Format(time.RFC3339)),
		})
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("password reset for %s: %w", u.Login, err)
	}
	s.logChange(ctx, "admin.password_reset_link", actor, "tenant", t.Slug, "login", u.Login, "expires", tok.ExpiresAt)
	return s.link(PasswordResetPath, url.Values{"token": {token}}), tok.ExpiresAt, nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// errResetLinkUsed is the answer to an unknown, expired or used token.
var errResetLinkUsed = &lanyard.Error{
	Kind:    lanyard.KindInvalid,
	Message: "this reset link has expired or was already used; ask for a new one with: lanyard admin reset-password LOGIN",
}

// ConsumePasswordReset sets the password of the administrator a reset link
// was issued for. The token works once: an unknown, expired or used token is
// a KindInvalid error. A password that fails password.Check is refused
// before the token is spent, so the user can try another. On success the
// account's failed logins and lockout are cleared and its sessions end; the
// login method is kept.
func (s *Service) ConsumePasswordReset(ctx context.Context, token, newPassword string) (lanyard.User, error) {
	if err := password.Check(newPassword); err != nil {
		return lanyard.User{}, errorf(lanyard.KindInvalid, err, "%s", err.Error())
	}
	hash, err := password.Hash(newPassword)
	if err != nil {
		return lanyard.User{}, fmt.Errorf("password reset: %w", err)
	}
	var u lanyard.User
	var ended int
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		tok, err := tx.TakeToken(ctx, hashToken(token), PasswordResetPurpose, s.now())
		if err != nil {
			return err
		}
		u, err = tx.UpdateUser(ctx, tok.UserID, func(cur *lanyard.User) error {
			if !cur.HoldsAdminRole() {
				return errorf(lanyard.KindForbidden, nil, "user %q is no longer an administrator; the reset link cannot be used", cur.Login)
			}
			cur.PasswordHash = hash
			return nil
		})
		if err != nil {
			return err
		}
		if err := clearThrottle(ctx, tx, u.TenantID, u.Login); err != nil {
			return err
		}
		if ended, err = tx.DeleteUserSessions(ctx, u.ID); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		msg := "password set with a reset link"
		if ended > 0 {
			msg += fmt.Sprintf("; ended %d session(s)", ended)
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: u.TenantID,
			Actor:    u.Login,
			Action:   "admin.password_reset",
			UserID:   u.ID,
			Subject:  u.Login,
			Message:  msg,
		})
	})
	if errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.User{}, errResetLinkUsed
	}
	if err != nil {
		if lanyard.ErrorKind(err) != lanyard.KindInternal {
			return lanyard.User{}, err
		}
		return lanyard.User{}, fmt.Errorf("password reset: %w", err)
	}
	s.logChange(ctx, "admin.password_reset", u.Login, "tenant_id", u.TenantID, "login", u.Login)
	return u, nil
}

// GrantAdmin grants role (lanyard.RoleOperator, or lanyard.RoleTenantAdmin
// of the account's tenant) to an existing account by hand, without touching
// its password or login method (an SSO user stays one).
func (s *Service) GrantAdmin(ctx context.Context, actor, tenantSlug, login, role string) (lanyard.User, error) {
	return s.changeAdminRole(ctx, actor, tenantSlug, login, role, true)
}

// RevokeAdmin removes the hand-given role from the account; its sessions,
// and the API tokens it created, lose the rights at their next use. A role
// an IdP granted is left: remove the group mapping, or the user from the
// group, instead.
func (s *Service) RevokeAdmin(ctx context.Context, actor, tenantSlug, login, role string) (lanyard.User, error) {
	return s.changeAdminRole(ctx, actor, tenantSlug, login, role, false)
}

func (s *Service) changeAdminRole(ctx context.Context, actor, tenantSlug, login, role string, grant bool) (lanyard.User, error) {
	if role != lanyard.RoleOperator && role != lanyard.RoleTenantAdmin {
		return lanyard.User{}, invalidf("administrator role %q: use %s or %s", role, lanyard.RoleOperator, lanyard.RoleTenantAdmin)
	}
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.User{}, err
	}
	existing, err := s.userIn(ctx, t, login)
	if err != nil {
		return lanyard.User{}, err
	}
	action, verb := "admin.grant", "granted "
	if !grant {
		action, verb = "admin.revoke", "revoked "
	}
	var u lanyard.User
	var changed bool
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		var err error
		u, err = tx.UpdateUser(ctx, existing.ID, func(cur *lanyard.User) error {
			changed = hasManualRole(*cur, role) != grant
			kept := cur.Roles[:0:0]
			for _, g := range cur.Roles {
				if g.Role != role || g.Source != lanyard.RoleManual {
					kept = append(kept, g)
				}
			}
			if grant {
				kept = append(kept, lanyard.RoleGrant{Role: role, Source: lanyard.RoleManual})
			}
			cur.Roles = lanyard.NormalizeRoles(kept)
			return nil
		})
		if err != nil || !changed {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{TenantID: t.ID, Actor: actor, Action: action, UserID: u.ID, Subject: u.Login,
			Message: verb + role + " to " + u.Login})
	})
	if err != nil {
		if lanyard.ErrorKind(err) != lanyard.KindInternal {
			return lanyard.User{}, err
		}
		return lanyard.User{}, fmt.Errorf("%s %s: %w", action, login, err)
	}
	if changed {
		s.logChange(ctx, action, actor, "tenant", t.Slug, "login", u.Login, "role", role)
	}
	return u, nil
}
