package main

import (
	"context"
	"fmt"

	"github.com/lanyard-sso/lanyard/admin"
)

func (a *app) userDelete(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] LOGIN --yes", "delete a user with its roles, IdP links, sessions and one-time tokens; the audit trail keeps who did it")
	tenant := tenantFlag(fs)
	yes := fs.Bool("yes", false, "confirm the deletion (it cannot be undone)")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		if !*yes {
			u, err := svc.User(ctx, *tenant, pos[0])
			if err != nil {
				return err
			}
			return &usageError{cmd: path, msg: fmt.Sprintf("deleting user %s of tenant %s cannot be undone; run again with --yes to confirm", u.Login, *tenant)}
		}
		u, err := svc.DeleteUser(ctx, admin.ActorCLI, *tenant, pos[0])
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "deleted user %s (id %d) of tenant %s with its links, sessions and tokens\n", u.Login, u.ID, *tenant)
		return nil
	})
}

func (a *app) tenantDelete(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "SLUG --confirm SLUG", "delete a tenant with its accounts, IdP connections, SP keys, sessions and pending requests; the audit trail keeps its events")
	confirm := fs.String("confirm", "", "the tenant's `slug` again, to confirm (it cannot be undone)")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		del, err := svc.DeleteTenant(ctx, admin.ActorCLI, pos[0], *confirm)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "deleted tenant %s with %d accounts and %d IdP connections\n", del.Tenant.Slug, del.Users, del.IdPs)
		return nil
	})
}
