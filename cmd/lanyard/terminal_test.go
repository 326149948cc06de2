package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice", "alice"},
		{"Zoë", "Zoë"},
		{"a\r\nb", `a\x0d\x0ab`},
		{"tab\tin", `tab\x09in`},
		{"\x1b[2J", `\x1b[2J`},
		{"bell\a", `bell\x07`},
		{"\u202eevil", `\u202eevil`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"c1\u0085", `c1\x85`},
		{"bad\xff", `bad\xff`},
	} {
		if got := printable(tc.in); got != tc.want {
			t.Errorf("printable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var b strings.Builder
	w := terminalSafe{&b}
	w.Write([]byte("col\tcol\n\x1b]0;title\a\r"))
	w.Write([]byte("Zo\xc3"))
	w.Write([]byte("\xab\n"))
	if want := "col\tcol\n" + `\x1b]0;title\x07\x0d` + "Zo\u00eb\n"; b.String() != want {
		t.Errorf("terminalSafe wrote %q, want %q", b.String(), want)
	}
}

// TestCommandsEscapeControlCharacters: an account whose fields hold
// control characters (written straight into the store, as an old release
// or a bug could have) is listed and shown with them escaped.
func TestCommandsEscapeControlCharacters(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"LANYARD_DATA": dir}
	mustCLI(t, env, "", "tenant", "create", "acme")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	tn, err := db.Tenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	u := lanyard.User{TenantID: tn.ID, Login: "mallory\x1b[2J", Email: "m@acme.com\r\nX: y", FirstName: "Mal\u202elory", LastName: "\x07Bell",
		Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, Source: lanyard.SourceLocal}
	if err := db.CreateUser(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(ctx, &lanyard.AuditEvent{TenantID: tn.ID, Actor: "idp\r", Action: "sso.login", Subject: "x\x1b]0;pwn\a", Message: "line\rover"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for _, args := range [][]string{
		{"user", "list", "--tenant", "acme"},
		{"user", "show", "--tenant", "acme", "mallory\x1b[2J"},
		{"audit", "list"},
	} {
		r := mustCLI(t, env, "", args...)
		for _, raw := range []string{"\x1b", "\r", "\a", "\u202e"} {
			if strings.Contains(r.stdout, raw) {
				t.Errorf("%s: raw %q in the output:\n%q", args[:2], raw, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, `\x1b`) {
			t.Errorf("%s: the escape character is not shown escaped:\n%s", args[:2], r.stdout)
		}
	}
}
