package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// routeCommand parses an administration command's flags with the
// configuration flags, opens and migrates the store and runs fn with its
// proxy routes. Routes live in the store so that every node of a cluster
// serves the same ones, and a change applies to running servers within
// seconds, without a restart.
func (a *app) routeCommand(ctx context.Context, fs *flagSet, args []string, minArgs, maxArgs int, fn func(store lanyard.Store, routes lanyard.ProxyRouteStore, args []string) error) error {
	cf := addConfigFlags(fs, map[string]string{"log_level": "warn"}, "addr")
	pos, err := fs.parse(args, minArgs, maxArgs)
	if err != nil {
		return err
	}
	cfg, err := cf.resolve(a.getenv)
	if err != nil {
		return err
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", storeName(cfg), err)
	}
	return fn(db, db, pos)
}

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
	return a.routeCommand(ctx, fs, args, 1, 1, func(store lanyard.Store, routes lanyard.ProxyRouteStore, pos []string) error {
		r := lanyard.ProxyRoute{Name: pos[0], Host: *host, PathPrefix: *prefix, Upstream: *upstream, Tenant: *tenant,
			Roles: lanyard.ParseRoles(*roles), BearerToken: *bearer, StripPrefix: *strip}
		if *upstream == "" {
			return &usageError{cmd: path, msg: "--upstream is required, e.g. --upstream http://127.0.0.1:3000"}
		}
		if err := routes.PutProxyRoute(ctx, &r); err != nil {
			return err
		}
		audit(ctx, store, "proxy_route.put", r.Name, fmt.Sprintf("%s%s -> %s (tenant %s, roles %s)", orDash(r.Host), r.PathPrefix, r.Upstream, r.Tenant, orDash(strings.Join(r.Roles, ","))))
		fmt.Fprintf(a.stdout, "route %s: %s%s -> %s (tenant %s, roles %s); running servers pick it up within seconds\n",
			r.Name, orDash(r.Host), r.PathPrefix, r.Upstream, r.Tenant, orDash(strings.Join(r.Roles, ",")))
		return nil
	})
}

func (a *app) routeList(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "", "list the reverse proxy routes kept in the store (routes of the config file are not listed)")
	return a.routeCommand(ctx, fs, args, 0, 0, func(_ lanyard.Store, routes lanyard.ProxyRouteStore, _ []string) error {
		list, err := routes.ProxyRoutes(ctx)
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
	return a.routeCommand(ctx, fs, args, 1, 1, func(store lanyard.Store, routes lanyard.ProxyRouteStore, pos []string) error {
		err := routes.DeleteProxyRoute(ctx, pos[0])
		if errors.Is(err, lanyard.ErrNotFound) {
			return fmt.Errorf("no route named %q; 'lanyard route list' shows the routes: %w", pos[0], err)
		}
		if err != nil {
			return err
		}
		audit(ctx, store, "proxy_route.delete", pos[0], "")
		fmt.Fprintf(a.stdout, "route %s removed\n", pos[0])
		return nil
	})
}

// audit records a configuration change made with the CLI; a failure to
// record does not undo the change.
func audit(ctx context.Context, store lanyard.Store, action, subject, message string) {
	_ = store.AppendAudit(ctx, &lanyard.AuditEvent{Actor: "cli", Action: action, Outcome: lanyard.OutcomeSuccess, Subject: subject, Message: message})
}
