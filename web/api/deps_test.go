package api

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies holds the rule of the faces: the API imports no other
// face of web (nor web itself), nor a store engine, nor cmd; it reaches
// the store through package admin only.
func TestDependencies(t *testing.T) {
	const module = "github.com/lanyard-sso/lanyard"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+"/web/api").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case dep == module+"/web/api", strings.HasPrefix(dep, module+"/web/internal/"):
		case dep == module+"/web", strings.HasPrefix(dep, module+"/web/"):
			t.Errorf("web/api imports %s: a face imports no other face", dep)
		case strings.HasPrefix(dep, module+"/sqlstore"), strings.HasPrefix(dep, module+"/cmd"):
			t.Errorf("web/api imports %s: faces reach the store through the domain interfaces", dep)
		case dep == module+"/apiclient":
			t.Errorf("web/api imports %s: the server shares apiv1 with the client, not the client", dep)
		}
	}
}
