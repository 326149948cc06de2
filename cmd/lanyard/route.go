package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// Reverse proxy routes live in the store, so that every node of a cluster
// serves the same ones and a change applies to running servers within
// seconds, without a restart.

func (a *app) routeAdd(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "NAME --upstream URL [--host HOST] [--path PREFIX] [--tenant SLUG] [--roles a,b]",
		"add a reverse proxy route, or replace the route of the same name")
	upstream := fs.String("upstream", "", "`URL` of the application, e.g. http://127.0.0.1:3000 (required)")
	host := fs.String("host", "", "request `host` the route answers, e.g. wiki.example.com (default: any host)")
	prefix := fs.String("path", "/", "path `prefix` the route answers, e.g. /wiki/")
	tenant := fs.String("tenant", lanyard.DefaultTenantSlug, "`slug` of the tenant whose users may pass")
	roles := fs.String("roles", "", "comma-separated `roles` the user must all hold (default: none)")
	bearer := fs.Bool("bearer", false, "also send the identity token as Authorization: Bearer")
	strip := fs.Bool("strip-prefix", false, "remove the path prefix from the path sent upstream")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		a.warnRoleSeparator("--roles", *roles)
		if *upstream == "" {
			return &usageError{cmd: path, msg: "--upstream is required, e.g. --upstream http://127.0.0.1:3000"}
		}
		r, err := svc.PutProxyRoute(ctx, admin.ActorCLI, lanyard.ProxyRoute{Name: pos[0], Host: *host, PathPrefix: *prefix,
			Upstream: *upstream, Tenant: *tenant, Roles: lanyard.ParseRoles(*roles), BearerToken: *bearer, StripPrefix: *strip})
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "route %s: %s%s -> %s (tenant %s, roles %s); running servers pick it up within seconds\n",
			r.Name, orDash(r.Host), r.PathPrefix, r.Upstream, r.Tenant, orDash(strings.Join(r.Roles, ",")))
		return nil
	})
}

func (a *app) routeList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "", "list the reverse proxy routes kept in the store (routes of the config file are not listed)")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		list, err := svc.ProxyRoutes(ctx)
		if err != nil {
			return err
		}
		tw := newTable(a.stdout)
		fmt.Fprintln(tw, "NAME\tHOST\tPATH\tUPSTREAM\tTENANT\tROLES\tBEARER\tSTRIP")
		for _, r := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Name, orDash(r.Host), r.PathPrefix, r.Upstream, r.Tenant,
				orDash(strings.Join(r.Roles, ",")), yesNo(r.BearerToken), yesNo(r.StripPrefix))
		}
		return tw.Flush()
	})
}

func (a *app) routeRemove(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "NAME", "remove a reverse proxy route")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		if err := svc.DeleteProxyRoute(ctx, admin.ActorCLI, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "route %s removed\n", pos[0])
		return nil
	})
}
