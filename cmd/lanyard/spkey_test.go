package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// openssl runs the openssl command in dir (an independent maker of keys,
// certificates and PKCS#12 files); the test skips, or fails in CI, without it.
func openssl(t *testing.T, dir string, args ...string) {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is required in CI")
		}
		t.Skip("openssl not installed")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// TestSPKeyCommands rolls a tenant's keys over from the command line, with
// key pairs made by openssl (PEM and PKCS#12, test keys made now), and
// checks the refusals say what to do.
func TestSPKeyCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openssl(t, dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "5", "-subj", "/CN=own.example", "-keyout", "key.pem", "-out", "cert.pem")
	openssl(t, dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365", "-subj", "/CN=other.example", "-keyout", "other-key.pem", "-out", "other-cert.pem")
	openssl(t, dir, "req", "-x509", "-newkey", "rsa:1024", "-nodes", "-days", "365", "-subj", "/CN=weak.example", "-keyout", "weak-key.pem", "-out", "weak-cert.pem")
	openssl(t, dir, "pkcs12", "-export", "-inkey", "other-key.pem", "-in", "other-cert.pem", "-out", "own.p12", "-passout", "pass:p12 secret")
	if err := os.WriteFile(filepath.Join(dir, "p12.pass"), []byte("p12 secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "wrong.pass"), []byte("nope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f := func(name string) string { return filepath.Join(dir, name) }

	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme")

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"weak key", []string{"--key", f("weak-key.pem"), "--cert", f("weak-cert.pem")}, "RSA with 1024 bits, too weak: give an RSA key of 2048 bits or more"},
		{"mismatched", []string{"--key", f("key.pem"), "--cert", f("other-cert.pem")}, "does not belong to the certificate"},
		{"wrong password", []string{"--pkcs12", f("own.p12"), "--password-file", f("wrong.pass")}, "the password does not open this PKCS#12 file"},
		{"key without cert", []string{"--key", f("key.pem")}, "give both --key FILE and --cert FILE"},
	} {
		r := cli(t, env, "", append([]string{"sp-key", "next", "--tenant", "acme", "--use", "signing"}, tc.args...)...)
		if r.err == nil || !strings.Contains(r.output(), tc.want) {
			t.Errorf("%s: %v\n%s\nwant %q", tc.name, r.err, r.output(), tc.want)
		}
	}

	// Own PEM pair as the next signing key, PKCS#12 as the next encryption key.
	r := mustCLI(t, env, "", "sp-key", "next", "--tenant", "acme", "--use", "signing", "--key", f("key.pem"), "--cert", f("cert.pem"))
	if !strings.Contains(r.stdout, "added next signing key") {
		t.Fatalf("next:\n%s", r.stdout)
	}
	mustCLI(t, env, "", "sp-key", "next", "--tenant", "acme", "--use", "encryption", "--pkcs12", f("own.p12"), "--password-file", f("p12.pass"))
	r = cli(t, env, "", "sp-key", "next", "--tenant", "acme", "--use", "signing")
	if r.err == nil || !strings.Contains(r.output(), "already has a next signing key") {
		t.Errorf("a second next key: %v\n%s", r.err, r.output())
	}
	r = cli(t, env, "", "sp-key", "retire", "--tenant", "acme")
	if r.err == nil || !strings.Contains(r.output(), "switch to it first") {
		t.Errorf("retire before switch: %v\n%s", r.err, r.output())
	}
	r = mustCLI(t, env, "", "sp-key", "list", "--tenant", "acme")
	if strings.Count(r.stdout, "  next  ") != 2 || strings.Count(r.stdout, "  current  ") != 2 {
		t.Errorf("list during the rollover:\n%s", r.stdout)
	}

	// The own certificate expires in 5 days: cert list says so, urgently.
	r = mustCLI(t, env, "", "cert", "list")
	if !strings.Contains(r.stdout, "URGENT: tenant acme: Lanyard's signing SP certificate (next") || !strings.Contains(r.stdout, "CN=own.example") {
		t.Errorf("cert list:\n%s", r.stdout)
	}

	mustCLI(t, env, "", "sp-key", "switch", "--tenant", "acme")
	r = mustCLI(t, env, "", "sp-key", "retire", "--tenant", "acme")
	if strings.Count(r.stdout, "retired ") != 2 {
		t.Errorf("retire:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "sp-key", "list", "--tenant", "acme")
	if strings.Count(r.stdout, "  retired  ") != 2 || strings.Count(r.stdout, "  current  ") != 2 || strings.Contains(r.stdout, "  next  ") {
		t.Errorf("list after the rollover:\n%s", r.stdout)
	}
	r = mustCLI(t, env, "", "audit", "list", "--tenant", "acme")
	for _, want := range []string{"sp_key.next", "sp_key.switch", "sp_key.retire"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("audit lacks %s:\n%s", want, r.stdout)
		}
	}
}

// TestDoctorAndManualIdPCommands: a new tenant is healthy; an IdP added by
// hand whose certificate expires in 5 days makes the doctor name the
// problem and its fix, and exit non-zero.
func TestDoctorAndManualIdPCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	openssl(t, dir, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "5", "-subj", "/CN=idp.example.org", "-keyout", "idp-key.pem", "-out", "idp-cert.pem")
	env := dataEnv(t)
	mustCLI(t, env, "", "tenant", "create", "acme")
	r := mustCLI(t, env, "", "doctor", "--tenant", "acme")
	if !strings.Contains(r.stdout, "tenant acme is healthy") {
		t.Fatalf("doctor on a new tenant:\n%s", r.stdout)
	}
	r = cli(t, env, "", "idp", "add", "--tenant", "acme", "--entity-id", "https://idp.example.org/", "--sso-url", "https://idp.example.org/sso")
	if r.err == nil || !strings.Contains(r.output(), "signing_certs: give at least one PEM") {
		t.Fatalf("idp add without a certificate: %v\n%s", r.err, r.output())
	}
	r = mustCLI(t, env, "", "idp", "add", "--tenant", "acme", "--entity-id", "https://idp.example.org/", "--sso-url", "https://idp.example.org/sso",
		"--slo-url", "https://idp.example.org/slo", "--cert", filepath.Join(dir, "idp-cert.pem"))
	for _, want := range []string{"added IdP https://idp.example.org/ (configured by hand)", "https://idp.example.org/sso (HTTP-Redirect)", "SLO:"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("idp add output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = cli(t, env, "", "doctor", "--tenant", "acme")
	if r.err == nil || !strings.Contains(r.stdout, "problem [certificate_expiry]") || !strings.Contains(r.stdout, "fix:  IdP side: ask the IdP administrator for the new signing certificate") {
		t.Fatalf("doctor with an IdP certificate expiring in 5 days: %v\n%s", r.err, r.stdout)
	}
	r = mustCLI(t, env, "", "idp", "list", "--tenant", "acme")
	if !strings.Contains(r.stdout, "https://idp.example.org/") {
		t.Errorf("idp list:\n%s", r.stdout)
	}
}
