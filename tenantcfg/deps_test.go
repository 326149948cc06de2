package tenantcfg

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies holds tenantcfg to the domain, the protocol package and
// the key parser: it reaches storage only through the domain's interfaces
// and knows nothing of HTTP handlers or the login use cases.
func TestDependencies(t *testing.T) {
	const module = "github.com/lanyard-sso/lanyard"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", module+"/tenantcfg").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	allowed := map[string]bool{module: true, module + "/tenantcfg": true, module + "/saml": true, module + "/spkeys": true}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, module) && !allowed[d] {
			t.Errorf("tenantcfg imports %s; it may use only the domain, saml and spkeys", d)
		}
	}
}
