package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// ldapCommand is "lanyard ldap ...": a tenant's LDAP / Active Directory
// connection and its sync.
var ldapCommand = &command{name: "ldap", summary: "synchronise a tenant's accounts from its LDAP or Active Directory", sub: []*command{
	{name: "set", synopsis: "[--tenant SLUG] key=value...", summary: "configure the directory connection (urls=, base_dn=, bind_dn=, bind_password_file=, ...)", exec: (*app).ldapSet},
	{name: "test", synopsis: "[--tenant SLUG]", summary: "connect, bind, search and show five users as they would be mapped", exec: (*app).ldapTest},
	{name: "sync", synopsis: "[--tenant SLUG] [--incremental] [--dry-run] [--confirm]", summary: "run a sync now (a dry run lists the changes only)", exec: (*app).ldapSync},
	{name: "status", synopsis: "[--tenant SLUG]", summary: "show the connection, the precedence rules and the sync history", exec: (*app).ldapStatus},
}}

// ldapStoreCommand is storeCommand with the directory service, which
// works over the store itself.
func (a *app) ldapStoreCommand(ctx context.Context, fs *flagSet, args []string, minArgs, maxArgs int, fn func(svc *ldapsync.Service, pos []string) error) error {
	cf := addConfigFlags(fs, map[string]string{"log_level": "warn"}, serverOnlyOptions()...)
	pos, err := fs.parse(args, minArgs, maxArgs)
	if err != nil {
		return err
	}
	cfg, err := cf.resolve(a.getenv)
	if err != nil {
		return err
	}
	a.storeConfig = cfg
	logger := newLogger(a.stderr, cfg.LogFormat, cfg.LogLevel)
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	notes, err := db.MigrateNotes(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", storeName(cfg), err)
	}
	logUpgradeNotes(logger, notes)
	if _, err := admin.New(db, admin.Options{BaseURL: cfg.BaseURL, Logger: logger}).EnsureDefaultTenant(ctx); err != nil {
		return err
	}
	return fn(&ldapsync.Service{Store: db, Syncer: &ldapsync.Syncer{Store: db, Logger: logger}}, pos)
}

func (a *app) ldapSet(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] key=value...", "configure the tenant's directory connection; keys: "+strings.Join(ldapsync.SettingKeys(), ", "))
	tenant := tenantFlag(fs)
	return a.ldapStoreCommand(ctx, fs, args, 1, -1, func(svc *ldapsync.Service, pos []string) error {
		changes, err := svc.Set(ctx, admin.ActorCLI, *tenant, pos, os.ReadFile)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "LDAP directory of tenant %s: %s\n", *tenant, strings.Join(changes, "; "))
		return nil
	})
}

func (a *app) ldapTest(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]", "connect to the tenant's directory, bind, search, and show five users as they would be mapped")
	tenant := tenantFlag(fs)
	return a.ldapStoreCommand(ctx, fs, args, 0, 0, func(svc *ldapsync.Service, _ []string) error {
		res, err := svc.Test(ctx, *tenant)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "connected to %s and bound; %d sample user(s) as they would be mapped:\n", res.URL, len(res.People))
		for i, p := range res.People {
			state := "active"
			if p.Disabled {
				state = "disabled"
			}
			fmt.Fprintf(a.stdout, "  login=%s email=%s firstname=%s lastname=%s %s groups=%s roles=%s (%s)\n", p.Login, p.Email, p.FirstName, p.LastName, state, strings.Join(p.Groups, ","), strings.Join(res.Roles[i], ","), p.DN)
		}
		return nil
	})
}

func (a *app) ldapSync(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--incremental] [--dry-run] [--confirm]", "run a sync of the tenant's directory now")
	tenant := tenantFlag(fs)
	incremental := fs.Bool("incremental", false, "read only the entries changed since the last sync")
	dryRun := fs.Bool("dry-run", false, "list what would be created, updated, deactivated; change nothing")
	confirm := fs.Bool("confirm", false, "apply deactivations beyond the safety share (after checking a stopped run's report)")
	return a.ldapStoreCommand(ctx, fs, args, 0, 0, func(svc *ldapsync.Service, _ []string) error {
		kind := lanyard.SyncFull
		if *incremental {
			kind = lanyard.SyncIncremental
		}
		run, err := svc.Sync(ctx, *tenant, ldapsync.Options{Kind: kind, DryRun: *dryRun, Confirm: *confirm, Actor: admin.ActorCLI})
		if run.ID != 0 {
			printRun(a, run, true)
		}
		return err
	})
}

func (a *app) ldapStatus(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]", "show the tenant's directory connection, the precedence rules in force and the sync history")
	tenant := tenantFlag(fs)
	return a.ldapStoreCommand(ctx, fs, args, 0, 0, func(svc *ldapsync.Service, _ []string) error {
		st, err := svc.Status(ctx, *tenant, 10)
		if err != nil {
			return err
		}
		if !st.Configured {
			fmt.Fprintf(a.stdout, "tenant %s has no LDAP directory; configure one with: lanyard ldap set --tenant %s urls=... base_dn=...\n", st.Tenant.Slug, st.Tenant.Slug)
			return nil
		}
		dir, state, w := st.Directory, st.State, a.stdout
		fmt.Fprintf(w, "directory: %s (enabled %v, start_tls %v, bind %q, password stored %v)\n", dir.String(), dir.Enabled, dir.StartTLS, dir.BindDN, dir.HasPassword)
		fmt.Fprintf(w, "users: filter %s, login from %s; groups: %s under %s; incremental by %s\n", dir.UserFilter, dir.LoginAttr, dir.Groups, dir.GroupBaseDN, dir.Incremental)
		fmt.Fprintf(w, "schedule: full every %s, incremental every %s; safety stop above %d%% deactivations\n", dir.FullInterval, dir.IncrementalInterval, dir.MaxDeactivatePercent)
		for _, rule := range st.Rules {
			fmt.Fprintf(w, "rule: %s\n", rule)
		}
		fmt.Fprintf(w, "last status: %s %s\n", orNone(state.LastStatus), state.LastMessage)
		if state.PendingRunID != 0 {
			fmt.Fprintf(w, "waiting for confirmation: run %d (lanyard ldap sync --tenant %s --confirm)\n", state.PendingRunID, st.Tenant.Slug)
		}
		for _, r := range st.Runs {
			printRun(a, r, false)
		}
		return nil
	})
}

func printRun(a *app, r lanyard.LDAPSyncRun, withReport bool) {
	dry := ""
	if r.DryRun {
		dry = " (dry run)"
	}
	fmt.Fprintf(a.stdout, "run %d %s %s%s by %s at %s: %s\n", r.ID, r.Kind, r.Status, dry, r.Actor, formatTime(r.StartedAt), r.Message)
	if withReport {
		for _, line := range r.Report {
			fmt.Fprintf(a.stdout, "  %s\n", line)
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "never run"
	}
	return s
}

// ldapRegistry is the metrics registry of serve, holding the sync's
// collectors; the server adds its own.
func ldapRegistry(m *ldapsync.Metrics) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	for _, c := range m.Collectors() {
		reg.MustRegister(c)
	}
	return reg
}

// runLDAPScheduler runs the tenants' scheduled directory syncs until ctx
// ends.
func runLDAPScheduler(ctx context.Context, syncer *ldapsync.Syncer) error {
	s := &ldapsync.Scheduler{Syncer: syncer}
	if err := s.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
