package devidp_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The development IdP is an independent implementation: it imports
// nothing of Lanyard (above all not its SP library, saml), so that the two
// sides cannot share a mistake. Besides the standard library it uses
// goxmldsig and etree for XML signatures, and what they import; any other
// module is a decision to take here. Tests may import anything.
func TestImportsNothingOfLanyard(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	const self = "github.com/lanyard-sso/lanyard/devidp"
	allowed := []string{
		"github.com/russellhaering/goxmldsig", // and its packages
		"github.com/beevik/etree",
		"github.com/jonboulle/clockwork", // goxmldsig's clock
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", self).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == self:
		case dep == "github.com/lanyard-sso/lanyard" || strings.HasPrefix(dep, "github.com/lanyard-sso/lanyard/"):
			t.Errorf("devidp imports %s: it must share no code with Lanyard", dep)
		case !inModules(dep, allowed):
			t.Errorf("devidp imports %s: only the standard library, goxmldsig and etree (and their imports) are allowed", dep)
		}
	}
}

// inModules reports whether the package path is one of modules or inside
// one of them.
func inModules(path string, modules []string) bool {
	for _, m := range modules {
		if path == m || strings.HasPrefix(path, m+"/") {
			return true
		}
	}
	return false
}
