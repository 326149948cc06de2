package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/password"
)

func (a *app) adminCreate(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "USER [--tenant SLUG] [--tenant-admin] [--generate]", "make USER an operator (or, with --tenant-admin, an administrator of its tenant) with a password, creating the account if needed")
	tenant := tenantFlag(fs)
	tenantAdmin := fs.Bool("tenant-admin", false, "make USER an administrator of its tenant only, not an operator")
	generate := fs.Bool("generate", false, "generate a strong password and print it once")
	fs.extra = "The password is read from the first line of standard input when it is not a\n" +
		"terminal (echo \"$PW\" | lanyard admin create root), else prompted for twice.\n"
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		login := pos[0]
		// Fail on an unknown tenant before asking for a password.
		if _, err := svc.Tenant(ctx, *tenant); err != nil {
			return err
		}
		var pw string
		var err error
		if *generate {
			pw, err = password.Generate()
		} else {
			pw, err = a.readPassword(login)
		}
		if err != nil {
			return err
		}
		role := lanyard.RoleOperator
		if *tenantAdmin {
			role = lanyard.RoleTenantAdmin
		}
		u, created, err := svc.CreateAdministrator(ctx, admin.ActorCLI, *tenant, login, pw, role)
		if err != nil {
			return err
		}
		kind := adminKind(role, *tenant)
		if created {
			fmt.Fprintf(a.stdout, "created administrator %s in tenant %s: %s\n", u.Login, *tenant, kind)
		} else {
			fmt.Fprintf(a.stdout, "user %s already existed in tenant %s: it is now %s and its password is set (login method %s kept)\n", u.Login, *tenant, kind, u.LoginMethod)
		}
		if *generate {
			fmt.Fprintf(a.stdout, "password: %s\n(shown only this once: store it in a password manager)\n", pw)
		}
		if u.Status != lanyard.StatusActive || u.Locked || !u.WebAccess {
			fmt.Fprintf(a.stdout, "note: the account cannot log in yet (status %s, locked %s, web access %s); fix with: lanyard user set --tenant %s %s status=active locked=false web_access=true\n",
				u.Status, yesNo(u.Locked), yesNo(u.WebAccess), *tenant, u.Login)
		}
		return nil
	})
}

// readPassword reads the new password: the first line of stdin when it is
// not a terminal, else typed twice without echo.
func (a *app) readPassword(login string) (string, error) {
	if f, ok := a.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		fmt.Fprintf(a.stderr, "Password for %s (at least %d characters): ", login, password.MinLength)
		first, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if err := password.Check(string(first)); err != nil {
			return "", lanyard.Errorf(lanyard.KindInvalid, "%s", err.Error())
		}
		fmt.Fprint(a.stderr, "Again: ")
		second, err := term.ReadPassword(fd)
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(first) != string(second) {
			return "", lanyard.Errorf(lanyard.KindInvalid, "the two passwords differ; nothing was changed")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", lanyard.Errorf(lanyard.KindInvalid, "no password on standard input: pipe one in (echo \"$PW\" | lanyard admin create USER) or use --generate")
	}
	return pw, nil
}

func (a *app) adminResetPassword(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "USER [--tenant SLUG] [--ttl 1h]", "print a one-time link with which an administrator sets a new password")
	tenant := tenantFlag(fs)
	ttl := fs.Duration("ttl", admin.DefaultResetTTL, "how long the link works (at most 168h)")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		link, expires, err := svc.CreatePasswordReset(ctx, admin.ActorCLI, *tenant, pos[0], *ttl)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "one-time password reset link for %s (tenant %s), valid until %s:\n%s\n",
			pos[0], *tenant, expires.UTC().Format(time.RFC3339), link)
		return nil
	})
}

// adminKind says what an administrative role makes an account.
func adminKind(role, tenant string) string {
	if role == lanyard.RoleOperator {
		return "an operator (administers all of Lanyard)"
	}
	return "an administrator of tenant " + tenant + " only"
}

// adminRoleFlags adds --operator and --tenant-admin; the role returned
// reads them after parsing (exactly one must be given).
func adminRoleFlags(fs *flagSet) func() (string, error) {
	operator := fs.Bool("operator", false, "the operator role ("+lanyard.RoleOperator+"): all of Lanyard")
	tenantAdmin := fs.Bool("tenant-admin", false, "the tenant administrator role ("+lanyard.RoleTenantAdmin+"): the account's tenant only")
	return func() (string, error) {
		switch {
		case *operator && !*tenantAdmin:
			return lanyard.RoleOperator, nil
		case *tenantAdmin && !*operator:
			return lanyard.RoleTenantAdmin, nil
		}
		return "", lanyard.Errorf(lanyard.KindInvalid, "give exactly one of --operator or --tenant-admin")
	}
}

func (a *app) adminGrant(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "USER [--tenant SLUG] --operator|--tenant-admin", "make an existing account an operator or an administrator of its tenant (no password change: an SSO user stays one)")
	tenant := tenantFlag(fs)
	role := adminRoleFlags(fs)
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		r, err := role()
		if err != nil {
			return err
		}
		u, err := svc.GrantAdmin(ctx, admin.ActorCLI, *tenant, pos[0], r)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s (tenant %s) is now %s\n", u.Login, *tenant, adminKind(r, *tenant))
		return nil
	})
}

func (a *app) adminRevoke(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "USER [--tenant SLUG] --operator|--tenant-admin", "take an administrative role given by hand from an account; its sessions and API tokens lose the rights at once")
	tenant := tenantFlag(fs)
	role := adminRoleFlags(fs)
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		r, err := role()
		if err != nil {
			return err
		}
		u, err := svc.RevokeAdmin(ctx, admin.ActorCLI, *tenant, pos[0], r)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "%s (tenant %s) no longer holds %s by hand\n", u.Login, *tenant, r)
		if r == lanyard.RoleTenantAdmin && u.HasRole(lanyard.RoleTenantAdmin) {
			fmt.Fprintf(a.stdout, "note: its IdP still grants %s through a group mapping; change the mapping (lanyard tenant set %s group_roles.GROUP=...) or the user's groups\n", r, *tenant)
		}
		return nil
	})
}

func (a *app) adminList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "", "list the operators and tenant administrators of every tenant")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		tenants, err := svc.Tenants(ctx)
		if err != nil {
			return err
		}
		tw := newTable(a.stdout)
		fmt.Fprintln(tw, "TENANT\tLOGIN\tADMINISTERS\tGRANTED BY\tSTATE")
		n := 0
		for _, t := range tenants {
			seen := map[int64]bool{}
			for _, role := range []string{lanyard.RoleOperator, lanyard.RoleTenantAdmin} {
				users, err := svc.Users(ctx, t.Slug, lanyard.UserFilter{Role: role})
				if err != nil {
					return err
				}
				for _, u := range users {
					if seen[u.ID] {
						continue
					}
					seen[u.ID] = true
					n++
					what, by := "tenant "+t.Slug, map[lanyard.RoleSource]bool{}
					if u.IsOperator() {
						what = "everything (operator)"
					}
					for _, g := range u.Roles {
						if g.Role == lanyard.RoleOperator || g.Role == lanyard.RoleTenantAdmin {
							by[g.Source] = true
						}
					}
					var sources []string
					for _, s := range []lanyard.RoleSource{lanyard.RoleManual, lanyard.RoleIdP} {
						if by[s] {
							sources = append(sources, map[lanyard.RoleSource]string{lanyard.RoleManual: "hand", lanyard.RoleIdP: "IdP group"}[s])
						}
					}
					state := string(u.Status)
					if u.Locked {
						state += ",locked"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Slug, u.Login, what, strings.Join(sources, "+"), state)
				}
			}
		}
		if n == 0 {
			fmt.Fprintln(a.stdout, "no administrators; make an operator with: lanyard admin create root --generate")
			return nil
		}
		return tw.Flush()
	})
}
