package main

import (
	"strings"
	"testing"
)

// TestDeleteCommands: user delete and tenant delete need their
// confirmation, remove what they name, and leave the audit trail.
func TestDeleteCommands(t *testing.T) {
	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme")
	mustCLI(t, env, "", "user", "add", "--tenant", "acme", "bob", "--email", "bob@acme.com")
	mustCLI(t, env, "", "user", "add", "--tenant", "acme", "carol")

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"user", "delete", "--tenant", "acme", "bob"}, 2, "run again with --yes"},
		{[]string{"user", "delete", "--tenant", "acme", "nobody", "--yes"}, 1, `user "nobody" not found`},
		{[]string{"tenant", "delete", "acme"}, 1, `confirm by typing its slug "acme"`},
		{[]string{"tenant", "delete", "acme", "--confirm", "acm"}, 1, `confirm by typing its slug "acme"`},
		{[]string{"tenant", "delete", "default", "--confirm", "default"}, 1, "cannot be deleted"},
	} {
		r := cli(t, env, "", tc.args...)
		if exitCode(r.err) != tc.code || r.err == nil || !strings.Contains(r.err.Error(), tc.want) {
			t.Errorf("lanyard %s: exit %d (%v), want %d saying %q", strings.Join(tc.args, " "), exitCode(r.err), r.err, tc.code, tc.want)
		}
	}
	if r := mustCLI(t, env, "", "user", "list", "--tenant", "acme"); !strings.Contains(r.stdout, "bob") {
		t.Fatalf("an unconfirmed deletion deleted:\n%s", r.stdout)
	}

	r := mustCLI(t, env, "", "user", "delete", "--tenant", "acme", "BOB", "--yes")
	if !strings.Contains(r.stdout, "deleted user bob") {
		t.Errorf("user delete:\n%s", r.stdout)
	}
	if r := mustCLI(t, env, "", "user", "list", "--tenant", "acme"); strings.Contains(r.stdout, "bob") || !strings.Contains(r.stdout, "carol") {
		t.Errorf("after user delete:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "tenant", "delete", "acme", "--confirm", "acme")
	if !strings.Contains(r.stdout, "deleted tenant acme with 1 accounts") {
		t.Errorf("tenant delete:\n%s", r.stdout)
	}
	if r := mustCLI(t, env, "", "tenant", "list"); strings.Contains(r.stdout, "acme") {
		t.Errorf("tenant list after delete:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "audit", "list")
	for _, want := range []string{"user.delete", "tenant.delete", "cli"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit lacks %q:\n%s", want, r.stdout)
		}
	}
}
