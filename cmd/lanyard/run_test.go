package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a running
// server and the reads of a test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// result is what one in-process run of the CLI produced.
type result struct {
	stdout, stderr string
	err            error
}

// output is what the user sees: stdout, stderr and the error main prints.
func (r result) output() string {
	s := r.stdout + r.stderr
	if r.err != nil {
		s += errorText(r.err)
	}
	return s
}

func (r result) exitCode() int {
	if r.err == nil {
		return 0
	}
	return exitCode(r.err)
}

// cli runs the command line in-process with the environment env and the
// standard input stdin.
func cli(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	getenv := func(k string) string { return env[k] }
	err := run(context.Background(), args, getenv, strings.NewReader(stdin), &stdout, &stderr)
	return result{stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// mustCLI runs the command line and fails the test unless it succeeds.
func mustCLI(t *testing.T, env map[string]string, stdin string, args ...string) result {
	t.Helper()
	r := cli(t, env, stdin, args...)
	if r.err != nil {
		t.Fatalf("lanyard %s: %v\n%s", strings.Join(args, " "), r.err, r.output())
	}
	return r
}

// dataEnv points the CLI at a fresh data directory through LANYARD_DATA.
func dataEnv(t *testing.T) map[string]string {
	t.Helper()
	return map[string]string{"LANYARD_DATA": t.TempDir()}
}

func TestCommandErrors(t *testing.T) {
	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme", "--name", "Acme")
	mustCLI(t, env, "", "user", "add", "--tenant", "acme", "bob")
	configFile := filepath.Join(t.TempDir(), "lanyard.json")
	if err := os.WriteFile(configFile, []byte(`{"data": "x", "colour": "blue", "log_format": "xml", "addr": 8080}`), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		env   map[string]string // added to the data directory's
		stdin string
		args  []string
		code  int
		want  []string // in the output
		never []string // not in the output
	}{
		{name: "no command", args: nil, code: 2, want: []string{"missing command", "Commands:", "tenant create"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, want: []string{`unknown command "frobnicate"`, "commands: serve, demo, devidp, tenant"}},
		{name: "unknown subcommand", args: []string{"tenant", "remove", "acme"}, code: 2, want: []string{`unknown command "remove"`, "create, list, show, set, delete"}},
		{name: "unknown flag", args: []string{"tenant", "list", "--colour"}, code: 2, want: []string{"flag provided but not defined: -colour", "lanyard tenant list -h"}},
		{name: "missing argument", args: []string{"tenant", "create"}, code: 2, want: []string{"missing arguments"}},
		{name: "extra argument", args: []string{"tenant", "show", "acme", "more"}, code: 2, want: []string{`unexpected arguments ["more"]`}},
		{name: "unknown tenant", args: []string{"tenant", "show", "nope"}, code: 1, want: []string{`tenant "nope" not found; list tenants with: lanyard tenant list`}},
		{name: "duplicate tenant", args: []string{"tenant", "create", "acme"}, code: 1, want: []string{`tenant "acme" already exists`}},
		{name: "bad slug", args: []string{"tenant", "create", "Not_A_Slug!"}, code: 1, want: []string{`slug "not_a_slug!"`}},
		{name: "duplicate login", args: []string{"user", "add", "--tenant", "acme", "BOB"}, code: 1, want: []string{`login "BOB" already exists in tenant "acme"`}},
		{name: "user in unknown tenant", args: []string{"user", "add", "--tenant", "nope", "x"}, code: 1, want: []string{`tenant "nope" not found`}},
		{name: "unknown user", args: []string{"user", "show", "--tenant", "acme", "carol"}, code: 1, want: []string{`user "carol" not found in tenant "acme"`}},
		{name: "bad user fields", args: []string{"user", "add", "--tenant", "acme", "x", "--email", "nope", "--status", "gone", "--login-method", "magic"}, code: 1,
			want: []string{"3 problems", `email "nope"`, `status "gone"`, `login_method "magic"`}},
		{name: "bad settings all listed", args: []string{"tenant", "set", "acme", "jit=maybe", "colour=blue", "clock_skew=soon", "noequals"}, code: 1,
			want: []string{"4 problems", "jit=maybe", `unknown key "colour"`, "known keys: display_name", "clock_skew=soon", `"noequals": want key=value`}},
		{name: "bad user settings", args: []string{"user", "set", "--tenant", "acme", "bob", "status=gone", "locked=perhaps"}, code: 1, want: []string{"status=gone", "locked=perhaps"}},
		{name: "set without settings", args: []string{"tenant", "set", "acme"}, code: 2, want: []string{"missing arguments"}},
		{name: "database scheme", args: []string{"tenant", "list", "--database", "mysql://db/lanyard"}, code: 2, want: []string{`scheme "mysql"`, "postgres://"}},
		{name: "malformed database URL", args: []string{"tenant", "list", "--database", "postgres://lanyard:s3cret@db:port/lanyard"}, code: 2,
			want: []string{"--database: malformed database URL"}, never: []string{"s3cret"}},
		{name: "database URL from env", env: map[string]string{"LANYARD_DATABASE": "http://x"}, args: []string{"tenant", "list"}, code: 2, want: []string{"LANYARD_DATABASE", `scheme "http"`}},
		{name: "bad base URL", args: []string{"tenant", "list", "--base-url", "sso.example.com/x?y=1"}, code: 2, want: []string{"--base-url", "absolute http:// or https:// URL"}},
		{name: "base URL with query", args: []string{"tenant", "list", "--base-url", "https://sso.example.com/?a=b"}, code: 2, want: []string{"cannot have a query"}},
		{name: "config file problems all listed", args: []string{"tenant", "list", "--config", configFile}, code: 2,
			want: []string{`unknown key "colour"`, "known keys: addr, base_url", "addr: want a string", `log_format "xml"`}},
		{name: "missing config file", env: map[string]string{"LANYARD_CONFIG": "/nonexistent/lanyard.json"}, args: []string{"tenant", "list"}, code: 2, want: []string{"config file", "no such file"}},
		{name: "serve bad addr", args: []string{"serve", "--addr", "nowhere"}, code: 2, want: []string{`--addr "nowhere": want HOST:PORT`}},
		{name: "serve bad log level", env: map[string]string{"LANYARD_LOG_LEVEL": "loud"}, args: []string{"serve"}, code: 2, want: []string{`LANYARD_LOG_LEVEL "loud"`}},
		{name: "weak admin password", stdin: "short\n", args: []string{"admin", "create", "root"}, code: 1, want: []string{"password too short"}},
		{name: "no admin password", stdin: "", args: []string{"admin", "create", "root"}, code: 1, want: []string{"no password on standard input", "--generate"}},
		{name: "admin in unknown tenant", stdin: "long enough password\n", args: []string{"admin", "create", "root", "--tenant", "nope"}, code: 1, want: []string{`tenant "nope" not found`}},
		{name: "reset link for non-admin", args: []string{"admin", "reset-password", "bob", "--tenant", "acme"}, code: 1, want: []string{`user "bob" of tenant "acme" is not an administrator`}},
		{name: "help", args: []string{"tenant", "set", "-h"}, code: 0, want: []string{"Usage:", "lanyard tenant set SLUG key=value...", "group_roles.<GROUP>", "--data"}},
		{name: "top-level help", args: []string{"-h"}, code: 0, want: []string{"Commands:", "admin reset-password"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range env {
				e[k] = v
			}
			for k, v := range tc.env {
				e[k] = v
			}
			r := cli(t, e, tc.stdin, tc.args...)
			out := r.output()
			if got := r.exitCode(); got != tc.code {
				t.Errorf("exit code %d, want %d; output:\n%s", got, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.never {
				if strings.Contains(out, n) {
					t.Errorf("output contains %q:\n%s", n, out)
				}
			}
		})
	}
}

func TestCommandsOutput(t *testing.T) {
	env := dataEnv(t)
	env["LANYARD_BASE_URL"] = "https://sso.example.com/"

	r := mustCLI(t, env, "", "tenant", "create", "acme", "--name", "Acme Corp", "--domains", "acme.com,ACME.org")
	if !strings.Contains(r.stdout, "created tenant acme") || !strings.Contains(r.stdout, "https://sso.example.com/t/acme/saml/acs") {
		t.Errorf("tenant create:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "tenant", "list")
	for _, want := range []string{"SLUG", "acme", "Acme Corp", "acme.com,acme.org", "default"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("tenant list lacks %q:\n%s", want, r.stdout)
		}
	}

	r = mustCLI(t, env, "", "tenant", "set", "acme", "jit=yes", "sso=on", "group_roles.Domain Admins=admin;ops")
	if !strings.Contains(r.stdout, "jit: false → true") || !strings.Contains(r.stdout, "enabled: false → true") {
		t.Errorf("tenant set:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "tenant", "set", "acme", "jit=true")
	if !strings.Contains(r.stdout, "nothing changed") {
		t.Errorf("no-op tenant set:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "tenant", "show", "acme")
	for _, want := range []string{
		"Tenant acme (Acme Corp)",
		"Entity ID:     https://sso.example.com/t/acme/saml/metadata",
		"ACS URL:       https://sso.example.com/t/acme/saml/acs (HTTP-POST)",
		"signing     active  expires 20", "encryption  active", "SHA-256 ",
		"group_roles.Domain Admins  admin,ops",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("tenant show lacks %q:\n%s", want, r.stdout)
		}
	}

	// ";" is the older role separator: accepted, with a warning.
	r = mustCLI(t, env, "", "user", "add", "--tenant", "acme", "bob", "--email", "bob@acme.com", "--firstname", "Bob", "--lastname", "Builder", "--roles", "editor;viewer")
	if !strings.Contains(r.stderr, `warning: --roles "editor;viewer": role lists are separated by ","`) {
		t.Errorf("no warning about the ; separator:\n%s", r.output())
	}
	mustCLI(t, env, "", "user", "add", "--tenant", "acme", "carol", "--status", "inactive", "--login-method", "password", "--no-web-access")
	r = mustCLI(t, env, "", "user", "list", "--tenant", "acme")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 {
		t.Fatalf("user list: %d lines, want header and 2 users:\n%s", len(lines), r.stdout)
	}
	// Aligned: every column starts at the same offset on every line.
	if col := strings.Index(lines[0], "EMAIL"); strings.Index(lines[1], "bob@acme.com") != col {
		t.Errorf("user list columns not aligned:\n%s", r.stdout)
	}
	if !strings.Contains(lines[1], "Bob Builder") || !strings.Contains(lines[1], "editor,viewer") || !strings.Contains(lines[2], "inactive") {
		t.Errorf("user list:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "user", "list", "--tenant", "acme", "--status", "inactive")
	if strings.Contains(r.stdout, "bob") || !strings.Contains(r.stdout, "carol") {
		t.Errorf("user list --status inactive:\n%s", r.stdout)
	}

	r = mustCLI(t, env, "", "user", "set", "--tenant", "acme", "bob", "locked=true", "roles=editor")
	if !strings.Contains(r.stdout, "locked: false → true") || !strings.Contains(r.stdout, "roles: editor,viewer → editor") {
		t.Errorf("user set:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "user", "show", "bob", "--tenant", "acme")
	for _, want := range []string{"Login:", "bob", "Locked:          yes", "editor (manual)", "Password set:    no"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("user show lacks %q:\n%s", want, r.stdout)
		}
	}

	// admin create: a new account from stdin, then an existing one.
	r = mustCLI(t, env, "correct horse battery staple\n", "admin", "create", "root")
	if !strings.Contains(r.stdout, "created administrator root in tenant default") {
		t.Errorf("admin create:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "admin", "create", "bob", "--tenant", "acme", "--generate")
	if !strings.Contains(r.stdout, "already existed") || !strings.Contains(r.stdout, "password: ") || !strings.Contains(r.stdout, "cannot log in yet") {
		t.Errorf("admin create existing:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "admin", "reset-password", "root", "--ttl", "30m")
	if !strings.Contains(r.stdout, "https://sso.example.com/admin/reset?token=") || !strings.Contains(r.stdout, "valid until") {
		t.Errorf("admin reset-password:\n%s", r.stdout)
	}

	// The two kinds of administrator.
	r = mustCLI(t, env, "", "user", "show", "root")
	if !strings.Contains(r.stdout, lanyard.RoleOperator+" (manual)") {
		t.Errorf("admin create made no operator:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "another password 123\n", "admin", "create", "ann", "--tenant", "acme", "--tenant-admin")
	if !strings.Contains(r.stdout, "created administrator ann in tenant acme: an administrator of tenant acme only") {
		t.Errorf("admin create --tenant-admin:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "admin", "grant", "carol", "--tenant", "acme", "--tenant-admin")
	if !strings.Contains(r.stdout, "carol (tenant acme) is now an administrator of tenant acme only") {
		t.Errorf("admin grant:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "admin", "grant", "carol", "--tenant", "acme", "--operator")
	if !strings.Contains(r.stdout, "is now an operator") {
		t.Errorf("admin grant --operator:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "admin", "revoke", "carol", "--tenant", "acme", "--operator")
	if !strings.Contains(r.stdout, "no longer holds "+lanyard.RoleOperator) {
		t.Errorf("admin revoke:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "user", "show", "carol", "--tenant", "acme")
	if strings.Contains(r.stdout, lanyard.RoleOperator) || !strings.Contains(r.stdout, lanyard.RoleTenantAdmin+" (manual)") {
		t.Errorf("carol's roles after grant and revoke:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "admin", "list")
	for _, re := range []string{`default\s+root\s+everything \(operator\)\s+hand\s+active`, `acme\s+ann\s+tenant acme\s+hand\s+active`, `acme\s+carol\s+tenant acme\s+hand`} {
		if !regexp.MustCompile(re).MatchString(r.stdout) {
			t.Errorf("admin list does not match %s:\n%s", re, r.stdout)
		}
	}
	for _, args := range [][]string{
		{"admin", "grant", "carol", "--tenant", "acme"},
		{"admin", "grant", "carol", "--tenant", "acme", "--operator", "--tenant-admin"},
		{"admin", "revoke", "nobody", "--tenant", "acme", "--operator"},
	} {
		if r := cli(t, env, "", args...); r.err == nil {
			t.Errorf("lanyard %s succeeded:\n%s", strings.Join(args, " "), r.output())
		}
	}
	// Group mappings grant at most the tenant administrator's role.
	if r := cli(t, env, "", "tenant", "set", "acme", "group_roles.admins="+lanyard.RoleOperator); r.err == nil || !strings.Contains(r.output(), "never an IdP") {
		t.Errorf("group mapping to the operator role: %v\n%s", r.err, r.output())
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "lanyard.json")
	if err := os.WriteFile(file, []byte(`{"data": "/from/file", "addr": "127.0.0.1:9000", "log_format": "json", "base_url": "https://file.example.com/sso/"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	resolve := func(env map[string]string, args ...string) config {
		t.Helper()
		fs := (&app{stdout: &bytes.Buffer{}}).newFlagSet("lanyard serve", "", "")
		cf := addConfigFlags(fs, nil)
		if _, err := fs.parse(args, 0, 0); err != nil {
			t.Fatal(err)
		}
		cfg, err := cf.resolve(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	// Defaults.
	c := resolve(nil)
	if c.Data != "./data" || c.Addr != "127.0.0.1:8080" || c.BaseURL.String() != "http://localhost:8080" || !c.BaseURLDerived || c.LogFormat != "text" {
		t.Errorf("defaults: %+v", c)
	}
	// File over defaults.
	c = resolve(map[string]string{"LANYARD_CONFIG": file})
	if c.Data != "/from/file" || c.Addr != "127.0.0.1:9000" || c.LogFormat != "json" || c.BaseURL.String() != "https://file.example.com/sso" {
		t.Errorf("file: %+v", c)
	}
	// Environment over file.
	c = resolve(map[string]string{"LANYARD_CONFIG": file, "LANYARD_DATA": "/from/env"})
	if c.Data != "/from/env" || c.Addr != "127.0.0.1:9000" {
		t.Errorf("env: %+v", c)
	}
	// Flags over environment; --config over LANYARD_CONFIG.
	c = resolve(map[string]string{"LANYARD_CONFIG": "/nonexistent.json", "LANYARD_DATA": "/from/env"}, "--config", file, "--data", "/from/flag", "--addr", ":7000")
	if c.Data != "/from/flag" || c.Addr != ":7000" || c.LogFormat != "json" {
		t.Errorf("flags: %+v", c)
	}
	// The default base URL follows the port of the address.
	c = resolve(nil, "--addr", "0.0.0.0:9443")
	if c.BaseURL.String() != "http://localhost:9443" {
		t.Errorf("derived base URL %s", c.BaseURL)
	}
}

func TestExitCodes(t *testing.T) {
	if got := exitCode(&usageError{cmd: "lanyard", msg: "x"}); got != 2 {
		t.Errorf("usage error: %d", got)
	}
	if got := exitCode(lanyard.Errorf(lanyard.KindNotFound, "x")); got != 1 {
		t.Errorf("not found: %d", got)
	}
}

// TestTenantCreatePrintsFirstLoginPath: tenant create prints its URLs with
// the configured base URL (as serve reads it), says when none is
// configured, and prints every step to a first login, JIT included.
func TestTenantCreatePrintsFirstLoginPath(t *testing.T) {
	for _, tc := range []struct {
		name, base, want string
		assumed          bool
	}{
		{"no base URL", "", "http://localhost:8080", true},
		{"LANYARD_BASE_URL", "https://sso.example.com", "https://sso.example.com", false},
		{"listen address only", "", "http://localhost:9090", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := dataEnv(t)
			if tc.base != "" {
				env["LANYARD_BASE_URL"] = tc.base
			}
			if tc.name == "listen address only" {
				env["LANYARD_ADDR"] = "127.0.0.1:9090"
			}
			out := mustCLI(t, env, "", "tenant", "create", "acme").stdout
			for _, want := range []string{
				"SP metadata: " + tc.want + "/t/acme/saml/metadata",
				"lanyard idp import --tenant acme --metadata ",
				"lanyard tenant set acme enabled=true jit=true",
				"sign in at " + tc.want + "/t/acme/saml/login",
			} {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q:\n%s", want, out)
				}
			}
			if assumed := strings.Contains(out, "assume the base URL "+tc.want+": none is configured"); assumed != tc.assumed {
				t.Errorf("says the base URL is assumed: %v; want %v:\n%s", assumed, tc.assumed, out)
			}
		})
	}
}

// TestTraceShowByReference: the reference on a refusal page (its audit
// event's ID) opens the trace with lanyard trace show, in any tenant, and
// the event with audit list --id; trace list names traces by it.
func TestTraceShowByReference(t *testing.T) {
	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(env["LANYARD_DATA"], sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	acme, err := db.Tenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	var ref int64
	for i := range 3 { // the references and the trace IDs differ
		ev := lanyard.AuditEvent{TenantID: acme.ID, Actor: "carol", Action: "sso.login", Outcome: lanyard.OutcomeFailure, Reason: "account_inactive", Subject: fmt.Sprint("carol", i)}
		if err := db.AppendAuditEvents(ctx, []*lanyard.AuditEvent{&ev}); err != nil {
			t.Fatal(err)
		}
		tr := lanyard.LoginTrace{TenantID: acme.ID, AuditID: ev.ID, Reason: "account_inactive", Subject: ev.Subject, Message: "inactive " + ev.Subject}
		if err := db.AddLoginTrace(ctx, &tr, 10); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			ref = ev.ID
		}
	}
	db.Close()
	refText := fmt.Sprint(ref)
	out := mustCLI(t, env, "", "trace", "show", refText).stdout
	for _, want := range []string{"Reference:", refText, "Tenant:", "acme", "carol1", "inactive carol1"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace show %s lacks %q:\n%s", refText, want, out)
		}
	}
	if list := mustCLI(t, env, "", "trace", "list", "--tenant", "acme").stdout; !strings.Contains(list, "REF") || !regexp.MustCompile(`(?m)^`+refText+`\s`).MatchString(list) {
		t.Errorf("trace list does not name the trace by its reference %s:\n%s", refText, list)
	}
	audit := mustCLI(t, env, "", "audit", "list", "--id", refText).stdout
	if lines := strings.Split(strings.TrimSpace(audit), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[1], refText+" ") || !strings.Contains(lines[1], "carol1") {
		t.Errorf("audit list --id %s:\n%s", refText, audit)
	}
	if r := cli(t, env, "", "trace", "show", "999999"); r.err == nil || !strings.Contains(r.output(), "no refused login with reference 999999") {
		t.Errorf("unknown reference: %v\n%s", r.err, r.output())
	}
}

// TestTraceNamesClockOffset: trace show and trace list call the IdP's
// clock offset by its name, apart from how far outside the allowed window
// the message was (which the message says).
func TestTraceNamesClockOffset(t *testing.T) {
	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(env["LANYARD_DATA"], sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	acme, err := db.Tenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	ev := lanyard.AuditEvent{TenantID: acme.ID, Actor: "carol", Action: "sso.login", Outcome: lanyard.OutcomeFailure, Reason: "not_yet_valid", Subject: "carol"}
	if err := db.AppendAuditEvents(ctx, []*lanyard.AuditEvent{&ev}); err != nil {
		t.Fatal(err)
	}
	tr := lanyard.LoginTrace{TenantID: acme.ID, AuditID: ev.ID, Reason: "not_yet_valid", Subject: "carol", ClockSkew: 4*time.Minute + 59*time.Second,
		Message: "the assertion is not valid yet: outside the allowed window (skew 3m0s) by 1m59s"}
	if err := db.AddLoginTrace(ctx, &tr, 10); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out := mustCLI(t, env, "", "trace", "show", fmt.Sprint(ev.ID)).stdout
	for _, want := range []string{"IdP clock offset:", "IdP ahead by 4m59s", "outside the allowed window (skew 3m0s) by 1m59s"} {
		if !strings.Contains(out, want) {
			t.Errorf("trace show lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Clock difference") {
		t.Errorf("trace show still says the ambiguous \"Clock difference\":\n%s", out)
	}
	list := mustCLI(t, env, "", "trace", "list", "--tenant", "acme").stdout
	if !strings.Contains(list, "IDP CLOCK OFFSET") || !strings.Contains(list, "IdP ahead by 4m59s") {
		t.Errorf("trace list does not name the IdP clock offset:\n%s", list)
	}
}
