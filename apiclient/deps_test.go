package apiclient

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependencies holds the rule that a program calling the API needs
// nothing of the server: the client imports only the wire types, and they
// only the standard library.
func TestDependencies(t *testing.T) {
	const module = "github.com/lanyard-sso/lanyard"
	for pkg, allowed := range map[string][]string{
		module + "/apiclient": {module + "/apiclient", module + "/apiv1"},
		module + "/apiv1":     {module + "/apiv1"},
	} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			if slices.Contains(allowed, dep) {
				continue
			}
			t.Errorf("%s imports %s; it may import only %v and the standard library", pkg, dep, allowed)
		}
	}
}
