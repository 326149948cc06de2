package devidp_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The development IdP is an independent implementation: it imports the
// standard library only, nothing of Lanyard (above all not its SP library,
// saml) and no XML library, so that the two sides cannot share a mistake.
// Tests may use them; the package may not.
func TestImportsStandardLibraryOnly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/lanyard-sso/lanyard/devidp").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if dep != "github.com/lanyard-sso/lanyard/devidp" {
			t.Errorf("devidp imports %s; it must use the standard library only", dep)
		}
	}
}
