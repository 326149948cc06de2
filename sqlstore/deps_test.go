package sqlstore_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoDriverImports holds the rule that package sqlstore knows no
// database driver: the engine packages bring their own.
func TestNoDriverImports(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go command not found")
	}
	out, err := exec.Command(gobin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, banned := range []string{"modernc.org/sqlite", "github.com/jackc/pgx", "github.com/lanyard-sso/lanyard/sqlstore/"} {
			if strings.HasPrefix(pkg, banned) {
				t.Errorf("package sqlstore depends on %s", pkg)
			}
		}
	}
}
