package lanyard_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestLayering holds the rule that dependencies point inward: the domain
// imports only the standard library, the saml package nothing of Lanyard,
// and no package below cmd/ imports another engine or the web layer
// where it should not.
func TestLayering(t *testing.T) {
	const module = "github.com/lanyard-sso/lanyard"
	deps := func(pkg string) []string {
		t.Helper()
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	rules := []struct {
		pkg    string
		banned func(dep string) bool
		why    string
	}{
		{module, func(d string) bool { return d != module }, "the domain imports only the standard library"},
		{module + "/saml", func(d string) bool {
			return strings.HasPrefix(d, module) && d != module+"/saml" && !strings.HasPrefix(d, module+"/saml/")
		}, "saml is a standalone library"},
		{module + "/clientip", func(d string) bool { return d != module+"/clientip" }, "clientip needs only the standard library"},
		{module + "/keyseal", func(d string) bool { return d != module+"/keyseal" }, "keyseal needs only the standard library"},
		{module + "/login", func(d string) bool {
			return strings.HasPrefix(d, module+"/") && d != module+"/login"
		}, "login is pure logic over the domain"},
		{module + "/sqlstore", func(d string) bool {
			return strings.Contains(d, "modernc.org/sqlite") || strings.Contains(d, "jackc/pgx")
		}, "sqlstore imports no driver; the engine packages do"},
		{module + "/sqlstore/sqlite", func(d string) bool { return strings.Contains(d, "jackc/pgx") }, "engines never import each other"},
		{module + "/sqlstore/postgres", func(d string) bool { return strings.Contains(d, "modernc.org/sqlite") }, "engines never import each other"},
		{module + "/web", func(d string) bool {
			return strings.HasPrefix(d, module+"/sqlstore") || strings.HasPrefix(d, module+"/cmd")
		}, "web reaches storage only through the domain interfaces"},
	}
	for _, r := range rules {
		for _, d := range deps(r.pkg) {
			if r.banned(d) {
				t.Errorf("%s imports %s: %s", r.pkg, d, r.why)
			}
		}
	}
}
