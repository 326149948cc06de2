package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBinaryAdminCommands runs the built binary through user import,
// export, merge and convert, API tokens, traces and the audit log.
func TestBinaryAdminCommands(t *testing.T) {
	data := t.TempDir()
	env := []string{"LANYARD_DATA=" + data}
	csvFile := filepath.Join(t.TempDir(), "users.csv")
	csv := "login,email,firstname,lastname,status,login_method,roles\n" +
		"jdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,editor;viewer\n" +
		"ann,ann@acme.com,Ann,Lee,active,password,\n"
	if err := os.WriteFile(csvFile, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	badFile := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(badFile, []byte("login,email\nx@acme.com,nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	exported := filepath.Join(t.TempDir(), "export.csv")

	steps := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{args: []string{"tenant", "create", "acme"}, stdout: "created tenant acme"},
		{args: []string{"user", "import", "--tenant", "acme", "--dry-run", csvFile}, stdout: "dry run, nothing changed; would import " + csvFile + " into tenant acme: 2 rows, 2 created"},
		{args: []string{"user", "list", "--tenant", "acme"}, stdout: "no matching users"},
		{args: []string{"user", "import", "--tenant", "acme", badFile}, code: 1, stderr: `line 2: email "nope": not an email address`},
		{args: []string{"user", "import", "--tenant", "acme", "--progress", csvFile}, stdout: "2 rows, 2 created, 0 updated, 0 unchanged", stderr: "importing [==============================] 100% 2/2"},
		{args: []string{"user", "import", "--tenant", "acme", csvFile}, stdout: "2 rows, 0 created, 0 updated, 2 unchanged"},
		{args: []string{"user", "export", "--tenant", "acme", "--output", exported}, stdout: "exported 2 accounts of tenant acme"},
		{args: []string{"user", "export", "--tenant", "acme"}, stdout: "jdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,\"editor,viewer\",false,true,false,local"},
		{args: []string{"user", "import", "--tenant", "acme", exported}, stdout: "0 created, 0 updated, 2 unchanged"},
		{args: []string{"user", "add", "--tenant", "acme", "john.doe", "--roles", "staff"}, stdout: "added user john.doe"},
		{args: []string{"user", "merge", "--tenant", "acme", "--dry-run", "jdoe@acme.com", "john.doe"}, stdout: "all roles: editor,viewer → editor,staff,viewer"},
		{args: []string{"user", "merge", "--tenant", "acme", "jdoe@acme.com", "john.doe"}, stdout: "merged john.doe into jdoe@acme.com"},
		{args: []string{"user", "show", "--tenant", "acme", "john.doe"}, code: 1, stderr: `user "john.doe" not found`},
		{args: []string{"user", "convert", "--tenant", "acme", "--dry-run", "--all-local"}, stdout: "login: ann → ann@acme.com"},
		{args: []string{"user", "convert", "--tenant", "acme", "ann"}, stdout: "converted 1 account(s) of tenant acme to SSO"},
		{args: []string{"user", "show", "--tenant", "acme", "ann@acme.com"}, stdout: "sso"},
		{args: []string{"token", "create", "ci", "--scopes", "read,write", "--expires", "30d"}, stdout: "lyd_", stderr: "created API token ci (global (operator), scopes read,write"},
		{args: []string{"token", "create", "bad", "--scopes", "root"}, code: 1, stderr: `scope "root": use read or write`},
		{args: []string{"token", "create", "acme-sync", "--tenant", "acme"}, stdout: "lyd_", stderr: "created API token acme-sync (tenant acme only, scopes read"},
		{args: []string{"token", "create", "lost", "--tenant", "nope"}, code: 1, stderr: `tenant "nope" not found`},
		{args: []string{"token", "list"}, stdout: "acme"},
		{args: []string{"token", "list"}, stdout: "ci"},
		{args: []string{"token", "revoke", "ci"}, stdout: "revoked API token ci"},
		{args: []string{"token", "revoke", "ci"}, code: 1, stderr: `no live API token named "ci"`},
		{args: []string{"trace", "list", "--tenant", "acme"}, stdout: "no refused SSO login kept for tenant acme"},
		{args: []string{"trace", "show", "--tenant", "acme", "7"}, code: 1, stderr: "no refused login with reference 7"},
		{args: []string{"audit", "list", "--tenant", "acme", "--action", "user.merge"}, stdout: "cli    user.merge"},
		{args: []string{"audit", "list", "--action", "token.revoke"}, stdout: "token.revoke"},
	}
	for _, s := range steps {
		stdout, stderr, code := execLanyard(t, env, "", s.args...)
		name := "lanyard " + strings.Join(s.args, " ")
		if code != s.code {
			t.Errorf("%s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", name, code, s.code, stdout, stderr)
		}
		if !strings.Contains(stdout, s.stdout) {
			t.Errorf("%s: stdout lacks %q:\n%s", name, s.stdout, stdout)
		}
		if !strings.Contains(stderr, s.stderr) {
			t.Errorf("%s: stderr lacks %q:\n%s", name, s.stderr, stderr)
		}
	}
	stdout, _, _ := execLanyard(t, env, "", "token", "list")
	if !regexp.MustCompile(`ci\s+lyd_\S+…\s+read,write\s+revoked`).MatchString(stdout) {
		t.Errorf("token list after revoke:\n%s", stdout)
	}
}
