package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/internal/slapdtest"
)

// TestLDAPCommands drives "lanyard ldap set|test|sync|status" against a
// real slapd over StartTLS, with the password and the CA from files.
func TestLDAPCommands(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{})
	s.Add(t, slapdtest.Fixture())
	env := dataEnv(t)
	dir := t.TempDir()
	pw, ca := filepath.Join(dir, "bind-password"), filepath.Join(dir, "ca.pem")
	os.WriteFile(pw, []byte(slapdtest.AdminPW+"\n"), 0o600)
	os.WriteFile(ca, []byte(s.CACertPEM), 0o600)
	mustCLI(t, env, "", "tenant", "create", "acme")
	mustCLI(t, env, "", "tenant", "set", "acme", "group_roles.admins=ops")

	r := cli(t, env, "", "ldap", "status", "--tenant", "acme")
	if r.err != nil || !strings.Contains(r.stdout, "has no LDAP directory") {
		t.Fatalf("status before set: %v\n%s", r.err, r.output())
	}
	r = cli(t, env, "", "ldap", "set", "--tenant", "acme", "urls=http://x", "page_size=many", "colour=blue")
	if r.err == nil || !strings.Contains(r.output(), "the scheme must be ldap or ldaps") || !strings.Contains(r.output(), "page_size") || !strings.Contains(r.output(), `unknown key "colour"`) {
		t.Fatalf("bad settings: %v\n%s", r.err, r.output())
	}
	mustCLI(t, env, "", "ldap", "set", "--tenant", "acme", "urls="+s.URL, "start_tls=true", "ca_cert_file="+ca,
		"bind_dn="+slapdtest.AdminDN, "bind_password_file="+pw, "base_dn=ou=people,"+slapdtest.BaseDN,
		"group_base_dn=ou=groups,"+slapdtest.BaseDN, "scope_domains=example.org", "enabled=true")

	r = mustCLI(t, env, "", "ldap", "test", "--tenant", "acme")
	if !strings.Contains(r.stdout, "4 sample user(s)") || !strings.Contains(r.stdout, "login=alice email=alice@example.org firstname=Alice lastname=Archer active groups=admins roles=ops") ||
		!strings.Contains(r.stdout, "login=carol") || !strings.Contains(r.stdout, "disabled") {
		t.Fatalf("test:\n%s", r.output())
	}
	r = mustCLI(t, env, "", "ldap", "sync", "--tenant", "acme", "--dry-run")
	if !strings.Contains(r.stdout, "dry run, nothing changed") || !strings.Contains(r.stdout, "create bob") {
		t.Fatalf("dry run:\n%s", r.output())
	}
	r = mustCLI(t, env, "", "ldap", "sync", "--tenant", "acme")
	if !strings.Contains(r.stdout, "3 created") {
		t.Fatalf("sync:\n%s", r.output())
	}
	r = mustCLI(t, env, "", "user", "show", "--tenant", "acme", "alice")
	if !strings.Contains(r.stdout, "ldap") {
		t.Fatalf("alice:\n%s", r.output())
	}
	// What the directory owns, an administrator changes in the directory.
	for _, kv := range []string{"email=a@elsewhere.example", "firstname=Al", "status=inactive", "login=al"} {
		r = cli(t, env, "", "user", "set", "--tenant", "acme", "alice", kv)
		if r.err == nil || !strings.Contains(r.output(), "is kept by LDAP synchronisation") {
			t.Errorf("user set alice %s: %v\n%s", kv, r.err, r.output())
		}
	}
	mustCLI(t, env, "", "user", "set", "--tenant", "acme", "alice", "locked=true")
	r = mustCLI(t, env, "", "ldap", "status", "--tenant", "acme")
	for _, want := range []string{"password stored true", "last status: ok", "rule: In scope: the logins and emails in example.org", "run 2 full ok by cli"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("status lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.output(), slapdtest.AdminPW) {
		t.Error("status shows the bind password")
	}
	s.Stop()
	r = cli(t, env, "", "ldap", "sync", "--tenant", "acme")
	if r.err == nil || !strings.Contains(r.stdout, "full failed") {
		t.Fatalf("sync with the directory down: %v\n%s", r.err, r.output())
	}
}
