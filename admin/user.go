package admin

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// userSettings lists what "lanyard user set" can change.
var userSettings = &settingTable[lanyard.User]{
	example: "status=inactive",
	fields: []setting[lanyard.User]{
		{
			key:   "login",
			usage: "new login name (renames the account)",
			get:   func(u *lanyard.User) string { return u.Login },
			set: func(u *lanyard.User, s string) error {
				if s == "" {
					return errors.New("a login cannot be empty")
				}
				u.Login = s
				return nil
			},
		},
		stringSetting("email", "email address, or empty", func(u *lanyard.User) *string { return &u.Email }),
		stringSetting("firstname", "text", func(u *lanyard.User) *string { return &u.FirstName }),
		stringSetting("lastname", "text", func(u *lanyard.User) *string { return &u.LastName }),
		{
			key:   "status",
			usage: "active|inactive",
			get:   func(u *lanyard.User) string { return string(u.Status) },
			set: func(u *lanyard.User, s string) error {
				switch st := lanyard.UserStatus(strings.ToLower(s)); st {
				case lanyard.StatusActive, lanyard.StatusInactive:
					u.Status = st
					return nil
				}
				return errors.New("use active or inactive")
			},
		},
		boolSetting("locked", func(u *lanyard.User) *bool { return &u.Locked }),
		{
			key:   "login_method",
			usage: "password|sso",
			get:   func(u *lanyard.User) string { return string(u.LoginMethod) },
			set: func(u *lanyard.User, s string) error {
				switch m := lanyard.LoginMethod(strings.ToLower(s)); m {
				case lanyard.LoginPassword, lanyard.LoginSSO:
					u.LoginMethod = m
					return nil
				}
				return errors.New("use password or sso")
			},
		},
		boolSetting("web_access", func(u *lanyard.User) *bool { return &u.WebAccess }),
		boolSetting("auto_login", func(u *lanyard.User) *bool { return &u.AutoLogin }),
		{
			key:   "roles",
			usage: "roles separated by , (replaces the manually given roles)",
			get: func(u *lanyard.User) string {
				var manual []string
				for _, g := range u.Roles {
					if g.Source == lanyard.RoleManual {
						manual = append(manual, g.Role)
					}
				}
				return strings.Join(manual, ",")
			},
			set: func(u *lanyard.User, s string) error {
				roles := lanyard.ParseRoles(s)
				if err := checkRoles(roles); err != nil {
					return err
				}
				u.SetRoles(lanyard.RoleManual, roles)
				return nil
			},
		},
	},
}

// UserSettingKeys lists the keys SetUser accepts, with the accepted values,
// for help texts.
func UserSettingKeys() []SettingKey { return userSettings.keys() }

// UserSettingValues returns every setting of u, in the form SetUser
// accepts.
func UserSettingValues(u lanyard.User) []Setting { return userSettings.values(&u, nil) }

// AddUser creates an account in the tenant. Empty fields take their
// defaults (active, SSO login, local source); the user is validated first.
// A login the tenant already has is a KindConflict error.
func (s *Service) AddUser(ctx context.Context, actor, tenantSlug string, u lanyard.User) (lanyard.User, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.User{}, err
	}
	u.ID = 0
	u.TenantID = t.ID
	u.Normalize()
	if err := u.Validate(); err != nil {
		return lanyard.User{}, err
	}
	if err := lanyard.CheckSourceWrite(t.SSO.AccountOwner, lanyard.SourceLocal, nil); err != nil {
		return lanyard.User{}, err
	}
	return s.createUser(ctx, actor, t, u, "user.create", "created user "+u.Login)
}

// createUser inserts u with an audit event, in one transaction.
func (s *Service) createUser(ctx context.Context, actor string, t lanyard.Tenant, u lanyard.User, action, msg string) (lanyard.User, error) {
	var created lanyard.User
	err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
		created = u
		created.Roles = append([]lanyard.RoleGrant(nil), u.Roles...)
		if err := tx.CreateUser(ctx, &created); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   action,
			UserID:   created.ID,
			Subject:  created.Login,
			Message:  msg + describeUser(created),
		})
	})
	if errors.Is(err, lanyard.ErrConflict) {
		return lanyard.User{}, loginExists(u.Login, t.Slug, err)
	}
	if err != nil {
		return lanyard.User{}, fmt.Errorf("create user %s: %w", u.Login, err)
	}
	s.logChange(ctx, action, actor, "tenant", t.Slug, "login", created.Login)
	return created, nil
}

// describeUser summarises the fields of a new account for the audit trail.
func describeUser(u lanyard.User) string {
	parts := []string{
		"status " + string(u.Status),
		"login_method " + string(u.LoginMethod),
		"web_access " + strconv.FormatBool(u.WebAccess),
	}
	if u.Email != "" {
		parts = append(parts, "email "+u.Email)
	}
	if roles := u.RoleNames(); len(roles) > 0 {
		parts = append(parts, "roles "+strings.Join(roles, ","))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func loginExists(login, tenantSlug string, cause error) error {
	return errorf(lanyard.KindConflict, cause, "login %q already exists in tenant %q", login, tenantSlug)
}

// Users lists the tenant's users matching f (f.TenantID is set from the
// slug). Bad filter values are a KindInvalid error.
func (s *Service) Users(ctx context.Context, tenantSlug string, f lanyard.UserFilter) ([]lanyard.User, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return nil, err
	}
	var v lanyard.ValidationError
	switch f.Status {
	case "", lanyard.StatusActive, lanyard.StatusInactive:
	default:
		v.Add("status %q: use active or inactive", f.Status)
	}
	switch f.Source {
	case "", lanyard.SourceLocal, lanyard.SourceIdP, lanyard.SourceLDAP, lanyard.SourceSCIM:
	default:
		v.Add("source %q: use local, idp, ldap or scim", f.Source)
	}
	switch f.LoginMethod {
	case "", lanyard.LoginPassword, lanyard.LoginSSO:
	default:
		v.Add("login method %q: use password or sso", f.LoginMethod)
	}
	if f.Limit < 0 || f.Offset < 0 {
		v.Add("limit and offset cannot be negative")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	f.TenantID = t.ID
	users, err := s.store.Users(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("list users of %s: %w", t.Slug, err)
	}
	return users, nil
}

// User returns the tenant's user with the login (case-insensitive); an
// unknown login is a KindNotFound error that says how to list users.
func (s *Service) User(ctx context.Context, tenantSlug, login string) (lanyard.User, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.User{}, err
	}
	return s.userIn(ctx, t, login)
}

func (s *Service) userIn(ctx context.Context, t lanyard.Tenant, login string) (lanyard.User, error) {
	login = strings.TrimSpace(login)
	u, err := s.store.UserByLogin(ctx, t.ID, login)
	if errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.User{}, errorf(lanyard.KindNotFound, err, "user %q not found in tenant %q; list users with: lanyard user list --tenant %s", login, t.Slug, t.Slug)
	}
	if err != nil {
		return lanyard.User{}, fmt.Errorf("user %s: %w", login, err)
	}
	return u, nil
}

// SetUser changes fields of a user, each given as "key=value" (see
// UserSettingKeys). Every problem is reported at once and nothing is written
// unless all settings are valid. Deactivating, locking or removing web
// access also ends the user's sessions. It returns the user and the changes
// made; no change writes nothing.
func (s *Service) SetUser(ctx context.Context, actor, tenantSlug, login string, settings []string) (lanyard.User, []string, error) {
	if len(settings) == 0 {
		return lanyard.User{}, nil, invalidf("no settings given: use key=value, e.g. status=inactive; known keys: %s", strings.Join(userSettings.knownKeys(), ", "))
	}
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.User{}, nil, err
	}
	u, err := s.userIn(ctx, t, login)
	if err != nil {
		return lanyard.User{}, nil, err
	}
	next, changes, err := applyUserSettings(u, settings)
	if err != nil {
		return lanyard.User{}, nil, err
	}
	if err := lanyard.CheckSourceWrite(t.SSO.AccountOwner, lanyard.SourceLocal, &u, settingKeys(settings)...); err != nil {
		return lanyard.User{}, nil, err
	}
	if len(changes) == 0 {
		return u, nil, nil
	}
	var updated lanyard.User
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		var err error
		updated, err = tx.UpdateUser(ctx, u.ID, func(cur *lanyard.User) error {
			n, ch, err := applyUserSettings(*cur, settings)
			if err != nil {
				return err
			}
			*cur, changes = n, ch
			return nil
		})
		if err != nil || len(changes) == 0 {
			return err
		}
		msg := strings.Join(changes, "; ")
		if !canLogIn(updated) && canLogIn(u) {
			n, err := tx.DeleteUserSessions(ctx, u.ID)
			if err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
			if n > 0 {
				msg += fmt.Sprintf("; ended %d session(s)", n)
			}
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID,
			Actor:    actor,
			Action:   "user.update",
			UserID:   u.ID,
			Subject:  updated.Login,
			Message:  msg,
		})
	})
	if errors.Is(err, lanyard.ErrConflict) {
		return lanyard.User{}, nil, loginExists(next.Login, t.Slug, err)
	}
	if err != nil {
		if lanyard.ErrorKind(err) != lanyard.KindInternal {
			return lanyard.User{}, nil, err
		}
		return lanyard.User{}, nil, fmt.Errorf("update user %s: %w", u.Login, err)
	}
	s.logChange(ctx, "user.update", actor, "tenant", t.Slug, "login", updated.Login, "changes", strings.Join(changes, "; "))
	return updated, changes, nil
}

// settingKeys returns the keys of "key=value" settings.
func settingKeys(settings []string) []string {
	keys := make([]string, 0, len(settings))
	for _, kv := range settings {
		k, _, _ := strings.Cut(kv, "=")
		keys = append(keys, strings.ToLower(strings.TrimSpace(k)))
	}
	return keys
}

// canLogIn reports whether the account state lets the user have a session.
func canLogIn(u lanyard.User) bool {
	return u.Status == lanyard.StatusActive && !u.Locked && u.WebAccess
}

// applyUserSettings applies settings to a copy of u and validates the
// result, reporting every problem at once.
func applyUserSettings(u lanyard.User, settings []string) (lanyard.User, []string, error) {
	next := u
	next.Roles = append([]lanyard.RoleGrant(nil), u.Roles...)
	var v lanyard.ValidationError
	changes := userSettings.apply(&next, settings, &v)
	next.Normalize()
	if err := next.Validate(); err != nil {
		for _, p := range problemsOf(err) {
			v.Add("%s", p)
		}
	}
	return next, changes, v.Err()
}

// UserInfo is a user with what an administrator wants to see beside its
// fields.
type UserInfo struct {
	User     lanyard.User
	Tenant   lanyard.Tenant
	Links    []lanyard.Link    // IdP identities linked to the account
	Sessions []lanyard.Session // live sessions
}

// DescribeUser returns a user with its IdP links and live sessions.
func (s *Service) DescribeUser(ctx context.Context, tenantSlug, login string) (UserInfo, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return UserInfo{}, err
	}
	u, err := s.userIn(ctx, t, login)
	if err != nil {
		return UserInfo{}, err
	}
	info := UserInfo{User: u, Tenant: t}
	if info.Links, err = s.store.Links(ctx, u.ID); err != nil {
		return UserInfo{}, fmt.Errorf("user %s: links: %w", u.Login, err)
	}
	if info.Sessions, err = s.store.UserSessions(ctx, u.ID, s.now()); err != nil {
		return UserInfo{}, fmt.Errorf("user %s: sessions: %w", u.Login, err)
	}
	return info, nil
}
