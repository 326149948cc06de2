package admin

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies holds the layering rule: the administration service and
// the key generator work over the domain's interfaces, never a storage
// engine or the HTTP layer; only cmd/lanyard wires those together.
func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	forbidden := []string{
		"github.com/lanyard-sso/lanyard/sqlstore",
		"github.com/lanyard-sso/lanyard/web",
		"github.com/lanyard-sso/lanyard/session",
		"github.com/jackc/pgx",
		"modernc.org/sqlite",
		"net/http",
	}
	for _, pkg := range []string{"github.com/lanyard-sso/lanyard/admin", "github.com/lanyard-sso/lanyard/spkeys"} {
		out, err := exec.Command("go", "list", "-deps", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
