package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// TestIdPCommands drives import (file, stdin, URL), list, refresh and
// remove through the command line.
func TestIdPCommands(t *testing.T) {
	idp, err := testidp.New("https://idp.test/saml", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	idp.SLOURL = "https://idp.test/slo"
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "idp.xml")
	if err := os.WriteFile(file, md, 0o600); err != nil {
		t.Fatal(err)
	}
	var fail atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write(md)
	}))
	defer srv.Close()

	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme")
	r := mustCLI(t, env, "", "idp", "import", "--tenant", "acme", "--metadata", file)
	for _, want := range []string{"imported IdP https://idp.test/saml into tenant acme", "SSO:", "https://idp.invalid/sso (HTTP-Redirect)",
		"SLO:", "https://idp.test/slo", saml.Fingerprint(idp.Cert), "file (re-import to update)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, r.stdout)
		}
	}
	mustCLI(t, env, string(md), "idp", "import", "--tenant", "acme", "--metadata", "-")

	bad := cli(t, env, "<nope", "idp", "import", "--tenant", "acme", "--metadata", "-")
	if bad.exitCode() != 1 || !strings.Contains(bad.output(), "IdP metadata refused") {
		t.Errorf("bad XML: exit %d\n%s", bad.exitCode(), bad.output())
	}
	if r := cli(t, env, "", "idp", "import", "--tenant", "acme"); r.exitCode() != 2 {
		t.Errorf("no --metadata: exit %d\n%s", r.exitCode(), r.output())
	}

	r = mustCLI(t, env, "", "idp", "list", "--tenant", "acme")
	if !strings.Contains(r.stdout, "https://idp.test/saml") || !strings.Contains(r.stdout, "file") {
		t.Errorf("list:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "idp", "refresh", "--tenant", "acme")
	if !strings.Contains(r.stdout, "nothing to refresh") {
		t.Errorf("refresh of file imports:\n%s", r.stdout)
	}

	// From a URL, then a refresh that fails and one that works.
	mustCLI(t, env, "", "idp", "import", "--tenant", "acme", "--metadata", srv.URL)
	fail.Store(true)
	r = cli(t, env, "", "idp", "refresh", "--tenant", "acme", "https://idp.test/saml")
	if r.exitCode() != 1 || !strings.Contains(r.output(), "503") || !strings.Contains(r.output(), "last good metadata is kept") {
		t.Errorf("failed refresh: exit %d\n%s", r.exitCode(), r.output())
	}
	r = mustCLI(t, env, "", "idp", "list", "--tenant", "acme")
	if !strings.Contains(r.stdout, srv.URL) || !strings.Contains(r.stdout, "503") {
		t.Errorf("list after a failed refresh:\n%s", r.stdout)
	}
	fail.Store(false)
	r = mustCLI(t, env, "", "idp", "refresh", "--tenant", "acme")
	if !strings.Contains(r.stdout, "refreshed IdP https://idp.test/saml: nothing changed") {
		t.Errorf("refresh:\n%s", r.stdout)
	}

	mustCLI(t, env, "", "idp", "remove", "--tenant", "acme", "https://idp.test/saml")
	r = mustCLI(t, env, "", "idp", "list", "--tenant", "acme")
	if !strings.Contains(r.stdout, "has no IdP") {
		t.Errorf("list after removal:\n%s", r.stdout)
	}
	if r := cli(t, env, "", "idp", "remove", "--tenant", "acme", "https://idp.test/saml"); r.exitCode() != 1 || !strings.Contains(r.output(), "lanyard idp list") {
		t.Errorf("removing again: exit %d\n%s", r.exitCode(), r.output())
	}
}
