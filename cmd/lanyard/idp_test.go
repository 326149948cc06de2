package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
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
	for _, want := range []string{"imported IdP https://idp.test/saml in tenant acme", "SSO:", "https://idp.invalid/sso (HTTP-Redirect)",
		"SLO:", "https://idp.test/slo", saml.Fingerprint(idp.Cert), "file (re-import to update)"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = mustCLI(t, env, string(md), "idp", "import", "--tenant", "acme", "--metadata", "-")
	if !strings.Contains(r.stdout, "replaced IdP https://idp.test/saml in tenant acme") {
		t.Errorf("re-import output:\n%s", r.stdout)
	}

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

	// From a URL: the test server is on loopback, which only an operator
	// may allow; then a refresh that fails and one that works.
	if r := cli(t, env, "", "idp", "import", "--tenant", "acme", "--metadata", srv.URL); r.exitCode() != 1 || !strings.Contains(r.output(), "metadata_allow_private=true") {
		t.Errorf("loopback metadata URL without the operator's leave: exit %d\n%s", r.exitCode(), r.output())
	}
	env["LANYARD_METADATA_ALLOW_PRIVATE"] = "true"
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

// TestServeRefreshesIdPMetadata checks that serve runs the refresher: a
// connection whose last refresh is older than the interval is fetched
// again once the server is ready.
func TestServeRefreshesIdPMetadata(t *testing.T) {
	idp, err := testidp.New("https://idp.test/saml", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(md)
	}))
	defer srv.Close()
	dir := t.TempDir()
	env := map[string]string{"LANYARD_DATA": dir, "LANYARD_METADATA_ALLOW_PRIVATE": "true"}
	mustCLI(t, env, "", "tenant", "create", "acme")
	mustCLI(t, env, "", "idp", "import", "--tenant", "acme", "--metadata", srv.URL)

	// Make the connection due: last refreshed seven hours ago.
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	conns, err := db.IdPs(ctx, 0)
	if err != nil || len(conns) != 1 {
		t.Fatalf("IdPs: %v, %v", conns, err)
	}
	stale := time.Now().Add(-7 * time.Hour)
	if _, err := db.UpdateIdP(ctx, conns[0].ID, func(c *lanyard.IdPConnection) error { c.RefreshedAt = stale; return nil }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	before := hits.Load()
	s := startServe(t, []string{"--data", dir, "--metadata-allow-private", "true"}, nil)
	s.waitReady()
	deadline := time.Now().Add(10 * time.Second)
	for hits.Load() == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if hits.Load() == before {
		t.Fatalf("serve did not refresh the stale IdP metadata\n%s", s.stderr)
	}
	// The fetch is seen before its result is written: wait for the write
	// before stopping serve, which would cut it short.
	db, err = sqlite.Open(ctx, filepath.Join(dir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var c lanyard.IdPConnection
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err = db.IdP(ctx, conns[0].TenantID, conns[0].EntityID); err != nil {
			t.Fatal(err)
		}
		if c.RefreshedAt.After(stale.Add(time.Hour)) || time.Now().After(deadline) {
			break
		}
	}
	s.stop()
	if !c.RefreshedAt.After(stale.Add(time.Hour)) || c.RefreshError != "" {
		t.Errorf("after serve's refresh: refreshed %v, error %q", c.RefreshedAt, c.RefreshError)
	}
}
