package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// tenantFlag registers --tenant, defaulting to the default tenant.
func tenantFlag(fs *flagSet) *string {
	return fs.String("tenant", lanyard.DefaultTenantSlug, "`slug` of the tenant")
}

func (a *app) userAdd(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] LOGIN [flags]", "add a user to a tenant")
	tenant := tenantFlag(fs)
	email := fs.String("email", "", "email `address`")
	first := fs.String("firstname", "", "first `name`")
	last := fs.String("lastname", "", "last `name`")
	status := fs.String("status", string(lanyard.StatusActive), "account `status`: active or inactive")
	method := fs.String("login-method", string(lanyard.LoginSSO), "login `method`: sso or password (a password is set with 'lanyard admin create')")
	roles := fs.String("roles", "", "`roles` separated by , (e.g. editor,viewer)")
	noWeb := fs.Bool("no-web-access", false, "refuse logins through a web browser")
	autoLogin := fs.Bool("auto-login", false, "skip the username page at login")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		u := lanyard.User{
			Login:       pos[0],
			Email:       *email,
			FirstName:   *first,
			LastName:    *last,
			Status:      lanyard.UserStatus(strings.ToLower(*status)),
			LoginMethod: lanyard.LoginMethod(strings.ToLower(*method)),
			WebAccess:   !*noWeb,
			AutoLogin:   *autoLogin,
			Source:      lanyard.SourceLocal,
		}
		a.warnRoleSeparator("--roles", *roles)
		u.SetRoles(lanyard.RoleManual, lanyard.ParseRoles(*roles))
		u, err := svc.AddUser(ctx, admin.ActorCLI, *tenant, u)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "added user %s to tenant %s (%s, %s login)\n", u.Login, *tenant, u.Status, u.LoginMethod)
		return nil
	})
}

func (a *app) userList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [flags]", "list a tenant's users")
	tenant := tenantFlag(fs)
	status := fs.String("status", "", "only users with this `status`: active or inactive")
	source := fs.String("source", "", "only users from this `source`: local, idp or ldap")
	method := fs.String("login-method", "", "only users with this login `method`: password or sso")
	role := fs.String("role", "", "only users with this `role`")
	query := fs.String("query", "", "only users whose login, email or name contains `text`")
	limit := fs.Int("limit", 0, "show at most `n` users (0: all)")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		users, err := svc.Users(ctx, *tenant, lanyard.UserFilter{
			Status:      lanyard.UserStatus(*status),
			Source:      lanyard.UserSource(*source),
			LoginMethod: lanyard.LoginMethod(*method),
			Role:        *role,
			Query:       *query,
			Limit:       *limit,
		})
		if err != nil {
			return err
		}
		if len(users) == 0 {
			fmt.Fprintf(a.stdout, "no matching users in tenant %s\n", *tenant)
			return nil
		}
		printUsers(a.stdout, users)
		return nil
	})
}

// printUsers writes an aligned table of users.
func printUsers(w io.Writer, users []lanyard.User) {
	tw := newTable(w)
	fmt.Fprintln(tw, "LOGIN\tNAME\tEMAIL\tSTATUS\tMETHOD\tSOURCE\tWEB\tROLES\tLAST LOGIN")
	for _, u := range users {
		st := string(u.Status)
		if u.Locked {
			st += ",locked"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", printable(u.Login), orDash(u.FullName()), orDash(u.Email), st,
			u.LoginMethod, u.Source, yesNo(u.WebAccess), orDash(strings.Join(u.RoleNames(), ",")), formatTime(u.LastLoginAt))
	}
	tw.Flush()
}

func (a *app) userShow(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] LOGIN", "show a user with roles, IdP links and live sessions")
	tenant := tenantFlag(fs)
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		info, err := svc.DescribeUser(ctx, *tenant, pos[0])
		if err != nil {
			return err
		}
		printUser(a.stdout, info)
		return nil
	})
}

// printUser writes what "user show" shows.
func printUser(w io.Writer, info admin.UserInfo) {
	u := info.User
	var roles []string
	for _, g := range u.Roles {
		roles = append(roles, fmt.Sprintf("%s (%s)", g.Role, g.Source))
	}
	tw := newTable(w)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, printable(v)) }
	row("Login", u.Login)
	row("Tenant", info.Tenant.Slug)
	row("ID", fmt.Sprint(u.ID))
	row("Name", orDash(u.FullName()))
	row("Email", orDash(u.Email))
	row("Status", string(u.Status))
	row("Locked", yesNo(u.Locked))
	row("Login method", string(u.LoginMethod))
	row("Password set", yesNo(u.PasswordHash != ""))
	row("Web access", yesNo(u.WebAccess))
	row("Auto login", yesNo(u.AutoLogin))
	row("Source", string(u.Source))
	row("Created by SSO", yesNo(u.IdPSourced))
	row("Roles", orDash(strings.Join(roles, ", ")))
	row("Created", formatTime(u.CreatedAt))
	row("Updated", formatTime(u.UpdatedAt))
	row("Last login", formatTime(u.LastLoginAt))
	row("Live sessions", fmt.Sprint(len(info.Sessions)))
	tw.Flush()
	if len(info.Links) > 0 {
		fmt.Fprintln(w, "IdP identities:")
		for _, l := range info.Links {
			fmt.Fprintf(w, "  %s at %s (since %s)\n", printable(l.NameID), printable(l.IdPEntityID), formatTime(l.CreatedAt))
		}
	}
}

func (a *app) userSet(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] LOGIN key=value...", "change a user; all settings are checked before any is written")
	tenant := tenantFlag(fs)
	var b strings.Builder
	b.WriteString("Keys:\n")
	tw := newTable(&b)
	for _, kv := range admin.UserSettingKeys() {
		fmt.Fprintf(tw, "  %s\t%s\n", kv.Key, kv.Values)
	}
	tw.Flush()
	b.WriteString("\nDeactivating, locking or removing web access ends the user's sessions.\n" +
		"Example: lanyard user set --tenant acme bob status=inactive 'roles=editor;viewer'\n")
	fs.extra = b.String()
	return a.storeCommand(ctx, fs, args, 2, -1, func(svc *admin.Service, pos []string) error {
		a.warnRoleSettings(pos[1:])
		u, changes, err := svc.SetUser(ctx, admin.ActorCLI, *tenant, pos[0], pos[1:])
		if err != nil {
			return err
		}
		printChanges(a.stdout, fmt.Sprintf("user %s in tenant %s", u.Login, *tenant), changes)
		return nil
	})
}

// warnRoleSeparator warns when a role list uses ";", the older separator,
// which is still accepted: "," is the one everywhere.
func (a *app) warnRoleSeparator(what, list string) {
	if lanyard.RolesUseSemicolon(list) {
		fmt.Fprintf(a.stderr, "lanyard: warning: %s %q: role lists are separated by \",\" (\";\" is accepted for now): %s\n",
			what, list, strings.Join(lanyard.ParseRoles(list), ","))
	}
}

// warnRoleSettings warns about ";" in the role lists among key=value
// settings (roles, new_user.roles, group_roles.GROUP).
func (a *app) warnRoleSettings(settings []string) {
	for _, kv := range settings {
		key, value, ok := strings.Cut(kv, "=")
		if ok && (key == "roles" || key == "new_user.roles" || strings.HasPrefix(key, "group_roles.")) {
			a.warnRoleSeparator(key, value)
		}
	}
}
