package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/ldapsync"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

// ldapCommand is "lanyard ldap ...": a tenant's LDAP / Active Directory
// connection and its sync.
var ldapCommand = &command{name: "ldap", summary: "synchronise a tenant's accounts from its LDAP or Active Directory", sub: []*command{
	{name: "set", synopsis: "[--tenant SLUG] key=value...", summary: "configure the directory connection (urls=, base_dn=, bind_dn=, bind_password_file=, ...)", exec: (*app).ldapSet},
	{name: "test", synopsis: "[--tenant SLUG]", summary: "connect, bind, search and show five users as they would be mapped", exec: (*app).ldapTest},
	{name: "sync", synopsis: "[--tenant SLUG] [--incremental] [--dry-run] [--confirm]", summary: "run a sync now (a dry run lists the changes only)", exec: (*app).ldapSync},
	{name: "status", synopsis: "[--tenant SLUG]", summary: "show the connection, the precedence rules and the sync history", exec: (*app).ldapStatus},
}}

// ldapStoreCommand is storeCommand with the store itself, which the sync
// reads and writes directly.
func (a *app) ldapStoreCommand(ctx context.Context, fs *flagSet, args []string, minArgs, maxArgs int, fn func(svc *admin.Service, db *sqlstore.DB, pos []string) error) error {
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
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", storeName(cfg), err)
	}
	svc := admin.New(db, admin.Options{BaseURL: cfg.BaseURL, Logger: newLogger(a.stderr, cfg.LogFormat, cfg.LogLevel), Fetcher: metadataFetcher(cfg)})
	if _, err := svc.EnsureDefaultTenant(ctx); err != nil {
		return err
	}
	return fn(svc, db, pos)
}

func (a *app) ldapSet(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] key=value...", "configure the tenant's directory connection; keys: "+strings.Join(ldapsync.SettingKeys(), ", "))
	tenant := tenantFlag(fs)
	return a.ldapStoreCommand(ctx, fs, args, 1, -1, func(svc *admin.Service, db *sqlstore.DB, pos []string) error {
		t, err := svc.Tenant(ctx, *tenant)
		if err != nil {
			return err
		}
		dir, err := db.LDAPDirectory(ctx, t.ID)
		if err != nil && !errors.Is(err, lanyard.ErrNotFound) {
			return err
		}
		dir.TenantID = t.ID
		changes, err := ldapsync.ApplySettings(&dir, pos, os.ReadFile)
		if err != nil {
			return err
		}
		if err := db.PutLDAPDirectory(ctx, &dir, false); err != nil {
			return err
		}
		ev := lanyard.AuditEvent{TenantID: t.ID, Actor: admin.ActorCLI, Action: "ldap.set", Subject: t.Slug, Message: strings.Join(changes, "; ")}
		if err := db.AppendAudit(ctx, &ev); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "LDAP directory of tenant %s: %s\n", t.Slug, strings.Join(changes, "; "))
		return nil
	})
}

func (a *app) ldapTest(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]", "connect to the tenant's directory, bind, search, and show five users as they would be mapped")
	tenant := tenantFlag(fs)
	return a.ldapStoreCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, db *sqlstore.DB, _ []string) error {
		t, err := svc.Tenant(ctx, *tenant)
		if err != nil {
			return err
		}
		dir, err := db.LDAPDirectory(ctx, t.ID)
		if err != nil {
			return ldapNotConfigured(t.Slug, err)
		}
		dir.Normalize()
		conn, err := ldapsync.Dial(ctx, dir)
		if err != nil {
			return err
		}
		defer conn.Close()
		people, err := conn.Sample(ctx, 5)
		if err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "connected to %s and bound as %q; %d sample user(s) as they would be mapped:\n", conn.URL, dir.BindDN, len(people))
		for _, p := range people {
			state := "active"
			if p.Disabled {
				state = "disabled"
			}
			roles := strings.Join(rolesOf(t, p), ",")
			fmt.Fprintf(a.stdout, "  login=%s email=%s firstname=%s lastname=%s %s groups=%s roles=%s (%s)\n", p.Login, p.Email, p.FirstName, p.LastName, state, strings.Join(p.Groups, ","), roles, p.DN)
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
	return a.ldapStoreCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, db *sqlstore.DB, _ []string) error {
		t, err := svc.Tenant(ctx, *tenant)
		if err != nil {
			return err
		}
		if _, err := db.LDAPDirectory(ctx, t.ID); err != nil {
			return ldapNotConfigured(t.Slug, err)
		}
		kind := lanyard.SyncFull
		if *incremental {
			kind = lanyard.SyncIncremental
		}
		sy := &ldapsync.Syncer{Store: db, Logger: newLogger(a.stderr, a.storeConfig.LogFormat, a.storeConfig.LogLevel)}
		run, err := sy.Sync(ctx, t, ldapsync.Options{Kind: kind, DryRun: *dryRun, Confirm: *confirm, Actor: admin.ActorCLI})
		if run.ID != 0 {
			printRun(a, run, true)
		}
		return err
	})
}

func (a *app) ldapStatus(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]", "show the tenant's directory connection, the precedence rules in force and the sync history")
	tenant := tenantFlag(fs)
	return a.ldapStoreCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, db *sqlstore.DB, _ []string) error {
		t, err := svc.Tenant(ctx, *tenant)
		if err != nil {
			return err
		}
		dir, err := db.LDAPDirectory(ctx, t.ID)
		if err != nil {
			return ldapNotConfigured(t.Slug, err)
		}
		dir.Normalize()
		state, err := db.LDAPSyncState(ctx, t.ID)
		if err != nil {
			return err
		}
		w := a.stdout
		fmt.Fprintf(w, "directory: %s (enabled %v, start_tls %v, bind %q, password stored %v)\n", dir.String(), dir.Enabled, dir.StartTLS, dir.BindDN, dir.HasPassword)
		fmt.Fprintf(w, "users: filter %s, login from %s; groups: %s under %s; incremental by %s\n", dir.UserFilter, dir.LoginAttr, dir.Groups, dir.GroupBaseDN, dir.Incremental)
		fmt.Fprintf(w, "schedule: full every %s, incremental every %s; safety stop above %d%% deactivations\n", dir.FullInterval, dir.IncrementalInterval, dir.MaxDeactivatePercent)
		for _, rule := range PrecedenceRules(dir, t) {
			fmt.Fprintf(w, "rule: %s\n", rule)
		}
		fmt.Fprintf(w, "last status: %s %s\n", orNone(state.LastStatus), state.LastMessage)
		if state.PendingRunID != 0 {
			fmt.Fprintf(w, "waiting for confirmation: run %d (lanyard ldap sync --tenant %s --confirm)\n", state.PendingRunID, t.Slug)
		}
		runs, err := db.LDAPSyncRuns(ctx, t.ID, 10)
		if err != nil {
			return err
		}
		for _, r := range runs {
			printRun(a, r, false)
		}
		return nil
	})
}

// PrecedenceRules says, in words, the rules the directory puts in force
// for SSO logins.
func PrecedenceRules(dir lanyard.LDAPDirectory, t lanyard.Tenant) []string {
	if !dir.Enabled {
		return []string{"the directory is disabled: SAML provisioning follows the tenant's settings alone"}
	}
	scope := "every SSO login of the tenant"
	if len(dir.ScopeDomains) > 0 {
		scope = "logins and emails in " + strings.Join(dir.ScopeDomains, ", ")
	}
	jit := "refused with \"User '...' not synchronized\" (allow_jit=false)"
	if dir.AllowJIT {
		jit = fmt.Sprintf("created by SAML just in time (allow_jit=true; tenant jit=%v)", t.SSO.JIT)
	}
	roles := "the directory owns their roles (saml_roles=false)"
	if dir.SAMLRoles {
		roles = "SSO logins also set their roles from the IdP's groups (saml_roles=true)"
	}
	return []string{
		"in scope: " + scope + "; those accounts are created and updated only by the sync",
		"an SSO login links to the synchronised account by " + dir.MatchBy + " and never creates a second one",
		"an SSO login of someone in scope with no synchronised account is " + jit,
		"SAML never overwrites the email and names of directory accounts; " + roles,
	}
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

func rolesOf(t lanyard.Tenant, p ldapsync.Person) []string {
	var roles []string
	for _, g := range p.Groups {
		roles = append(roles, t.SSO.GroupRoles[g]...)
	}
	return roles
}

func orNone(s string) string {
	if s == "" {
		return "never run"
	}
	return s
}

func ldapNotConfigured(slug string, err error) error {
	if errors.Is(err, lanyard.ErrNotFound) {
		return &lanyard.Error{Kind: lanyard.KindNotFound, Message: fmt.Sprintf("tenant %q has no LDAP directory; configure one with: lanyard ldap set --tenant %s urls=ldaps://dc.example.com base_dn=... bind_dn=... bind_password_file=FILE", slug, slug)}
	}
	return err
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
func runLDAPScheduler(ctx context.Context, db *sqlstore.DB, logger *slog.Logger, m *ldapsync.Metrics) error {
	s := &ldapsync.Scheduler{Syncer: &ldapsync.Syncer{Store: db, Logger: logger, Metrics: m}}
	if err := s.Run(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}
