package main

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

// TestHelpOwnFlagsFirst: every command's help starts with its usage and
// its own flags; the global flags come last, and an administration
// command lists only those it uses (the store and the configuration), not
// the server's.
func TestHelpOwnFlagsFirst(t *testing.T) {
	serverOnly := []string{"--addr", "--trusted-proxies", "--routes", "--session-cache-ttl", "--identity-token-ttl", "--signing-key-rotation", "--trusted-hosts"}
	var leaves [][]string
	var walk func(prefix []string, cs []*command)
	walk = func(prefix []string, cs []*command) {
		for _, c := range cs {
			p := append(append([]string{}, prefix...), c.name)
			if c.sub != nil {
				walk(p, c.sub)
				continue
			}
			leaves = append(leaves, p)
		}
	}
	walk(nil, commands)
	for _, path := range leaves {
		name := strings.Join(path, " ")
		for _, help := range []string{"-h", "--help"} {
			r := cli(t, dataEnv(t), "", append(path, help)...)
			out := r.stdout
			if r.err != nil || !strings.HasPrefix(out, "Usage:\n  lanyard "+name) {
				t.Errorf("%s %s: %v; want the usage first:\n%s", name, help, r.err, r.output())
				continue
			}
			global := strings.Index(out, "\nGlobal flags")
			if own := strings.Index(out, "\nFlags:"); own >= 0 && global >= 0 && own > global {
				t.Errorf("%s: its own flags come after the global flags:\n%s", name, out)
			}
			if global >= 0 && strings.Contains(out[global+1:], "\n\n") {
				t.Errorf("%s: text after the global flags; want them last:\n%s", name, out)
			}
			switch name {
			case "serve", "demo", "devidp", "secret-key", "version", "config print", "healthcheck":
				continue
			}
			for _, f := range serverOnly {
				if strings.Contains(out, "  "+f+" ") {
					t.Errorf("%s: lists the server's flag %s:\n%s", name, f, out)
				}
			}
		}
	}
	demo := mustCLI(t, nil, "", "demo", "--help").stdout
	serve := mustCLI(t, nil, "", "serve", "--help").stdout
	if first := strings.SplitN(demo, "\n\n", 3); len(first) < 2 || !strings.Contains(first[1], "demo") || strings.Contains(first[1], "Run the server") {
		t.Errorf("demo --help does not start with its own text:\n%s", demo)
	}
	if !strings.Contains(demo, "/devidp/") || !strings.Contains(demo, "./demo-data") || strings.Contains(serve, "/devidp/") {
		t.Errorf("demo and serve help texts:\n%s\n----\n%s", demo, serve)
	}
}

// TestVersion: "lanyard version" and "lanyard --version" print the build
// information.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		r := mustCLI(t, nil, "", args...)
		for _, want := range []string{"lanyard ", "module:   github.com/lanyard-sso/lanyard", "revision: ", "go:       " + runtime.Version()} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("lanyard %s lacks %q:\n%s", strings.Join(args, " "), want, r.stdout)
			}
		}
	}
	info := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/lanyard-sso/lanyard", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := versionText(info, true)
	for _, want := range []string{"lanyard v1.4.0\n", "built:    2026-12-01T10:00:00Z", "revision: 0123abcd (2026-12-01T10:00:00Z), with uncommitted changes", "go:       go1.26.8 "} {
		if !strings.Contains(got, want) {
			t.Errorf("version text lacks %q:\n%s", want, got)
		}
	}
	if got := versionText(nil, false); !strings.Contains(got, "lanyard (unknown)") || !strings.Contains(got, "revision: unknown") {
		t.Errorf("version text without build information:\n%s", got)
	}
}

// TestGlobalFlagsBeforeCommand: the global flags may come before the
// command, in both spellings; other flags there are refused with a hint.
func TestGlobalFlagsBeforeCommand(t *testing.T) {
	dir := t.TempDir()
	mustCLI(t, nil, "", "--data", dir, "tenant", "create", "acme")
	mustCLI(t, nil, "", "--data="+dir, "--log-level", "error", "user", "add", "--tenant", "acme", "bob")
	if out := mustCLI(t, map[string]string{"LANYARD_DATA": dir}, "", "user", "list", "--tenant", "acme").stdout; !strings.Contains(out, "bob") {
		t.Errorf("the flags before the command were not applied:\n%s", out)
	}
	r := cli(t, nil, "", "--generate", "admin", "create", "root")
	if r.exitCode() != 2 || !strings.Contains(r.output(), "only the global flags") || !strings.Contains(r.output(), "--data") {
		t.Errorf("a command's flag before the command: %d\n%s", r.exitCode(), r.output())
	}
	if r := cli(t, nil, "", "--data"); r.exitCode() != 2 || !strings.Contains(r.output(), "needs a value") {
		t.Errorf("--data without a value: %d\n%s", r.exitCode(), r.output())
	}
}

// TestRoleListSeparator: "," separates role lists everywhere, in what the
// CLI prints too; ";" is accepted with a warning naming the "," form.
func TestRoleListSeparator(t *testing.T) {
	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme")
	for _, tc := range []struct {
		args []string
		warn bool
	}{
		{[]string{"user", "add", "--tenant", "acme", "a1", "--roles", "x,y"}, false},
		{[]string{"user", "add", "--tenant", "acme", "a2", "--roles", "x;y"}, true},
		{[]string{"user", "add", "--tenant", "acme", "a3", "--roles", "x; y ,z"}, true},
		{[]string{"user", "set", "--tenant", "acme", "a1", "roles=p;q"}, true},
		{[]string{"user", "set", "--tenant", "acme", "a1", "roles=p,q"}, false},
		{[]string{"tenant", "set", "acme", "new_user.roles=r;s"}, true},
		{[]string{"tenant", "set", "acme", "group_roles.staff=r,s"}, false},
		{[]string{"tenant", "set", "acme", "group_roles.Domain Admins=admin;ops"}, true},
		{[]string{"route", "add", "app", "--upstream", "http://127.0.0.1:3000", "--path", "/app/", "--tenant", "acme", "--roles", "a;b"}, true},
	} {
		r := mustCLI(t, env, "", tc.args...)
		if warned := strings.Contains(r.stderr, `role lists are separated by ","`); warned != tc.warn {
			t.Errorf("%v: warned %v, want %v:\n%s", tc.args, warned, tc.warn, r.output())
		}
	}
	csvFile := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(csvFile, []byte("login,roles\nc1,\"u,v\"\nc2,u;v\nc3,w\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := mustCLI(t, env, "", "user", "import", "--tenant", "acme", csvFile)
	if !strings.Contains(r.stderr, `roles separated by ";" on 1 line(s) (3)`) {
		t.Errorf("CSV import with ; in roles: no warning naming line 3:\n%s", r.output())
	}
	list := mustCLI(t, env, "", "user", "list", "--tenant", "acme").stdout
	for _, want := range []string{"x,y", "p,q", "c1", "c2"} {
		if !strings.Contains(list, want) {
			t.Errorf("user list lacks %q:\n%s", want, list)
		}
	}
	show := mustCLI(t, env, "", "tenant", "show", "acme").stdout
	for _, want := range []string{"new_user.roles", "r,s", "admin,ops"} {
		if !strings.Contains(show, want) {
			t.Errorf("tenant show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(list+show, ";") {
		t.Errorf("a ; in a printed role list:\n%s\n%s", list, show)
	}
}

// TestProgName: commands printed to run next name the program as it was
// run.
func TestProgName(t *testing.T) {
	for prog, want := range map[string]string{
		"":                                  "lanyard",
		"lanyard":                           "lanyard",
		"./lanyard":                         "./lanyard",
		"/usr/local/bin/lanyard":            "/usr/local/bin/lanyard",
		"/tmp/go-build123/b001/exe/lanyard": "go run ./cmd/lanyard",
	} {
		if got := (&app{prog: prog}).progName(); got != want {
			t.Errorf("program %q: %q; want %q", prog, got, want)
		}
	}
}
