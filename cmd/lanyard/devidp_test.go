package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// startDevIdP runs "lanyard devidp" on a free port with args and returns
// its base URL, its standard output so far, and a function that stops it
// and returns what the command returned.
func startDevIdP(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	listening := make(chan net.Addr, 1)
	a := &app{
		getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: stdout, stderr: stderr,
		onListen: func(addr net.Addr) { listening <- addr },
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, append([]string{"devidp", "--addr", "127.0.0.1:0"}, args...)) }()
	var base string
	select {
	case addr := <-listening:
		_, port, _ := net.SplitHostPort(addr.String())
		base = "http://localhost:" + port
	case err := <-done:
		cancel()
		t.Fatalf("devidp returned before listening: %v\n%s", err, stderr)
	case <-time.After(20 * time.Second):
		cancel()
		t.Fatalf("devidp did not listen within 20s\n%s", stderr)
	}
	stopped := false
	stop := func() error {
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("devidp did not stop within 15s")
			return nil
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return base, stdout, stop
}

func TestDevIdPCommand(t *testing.T) {
	dir := t.TempDir()
	sp := &saml.ServiceProvider{EntityID: "https://app.example.com/sp", ACSURL: "https://app.example.com/acs"}
	md, err := sp.Metadata(saml.SPMetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mdFile := filepath.Join(dir, "sp.xml")
	if err := os.WriteFile(mdFile, md, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "idp")
	base, stdout, stop := startDevIdP(t, "--user", "carol:secret:mail=carol@example.com,groups=staff;ops", "--sp-metadata", mdFile, "--data", data)

	out := stdout.String()
	for _, want := range []string{base + "/metadata", "carol", "mail=carol@example.com", "groups=staff;ops", "https://app.example.com/sp", "lanyard idp import"} {
		if !strings.Contains(out, want) {
			t.Errorf("the start-up message lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "secret") {
		t.Errorf("passwords from flags are not printed:\n%s", out)
	}
	resp, err := http.Get(base + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	idp, err := saml.ParseIdPMetadata(body, saml.MetadataOptions{})
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("devidp returned %v on shutdown", err)
	}

	// The key pair kept in --data is used again on the next start.
	_, stdout, stop = startDevIdP(t, "--data", data)
	if !strings.Contains(stdout.String(), devidp.Fingerprint(idp.SigningCertificates[0])) || !strings.Contains(stdout.String(), "lanyard-demo") {
		t.Errorf("second start: another key, or not the demo users:\n%s", stdout)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

func TestDevIdPUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--key", "k.pem"}, "--key and --cert go together"},
		{[]string{"--user", "nopassword"}, "want NAME:PASSWORD"},
		{[]string{"--user", "a:b:mail"}, "not name=value"},
		{[]string{"--base-url", "ftp://x"}, "--base-url"},
	} {
		r := cli(t, nil, "", append([]string{"devidp"}, c.args...)...)
		if r.exitCode() != 2 || !strings.Contains(r.output(), c.want) {
			t.Errorf("devidp %q: exit %d, output:\n%s\nwant exit 2 and %q", c.args, r.exitCode(), r.output(), c.want)
		}
	}
	r := cli(t, nil, "", "devidp", "--sp-metadata", filepath.Join(t.TempDir(), "missing.xml"), "--addr", "127.0.0.1:0")
	if r.exitCode() != 1 || !strings.Contains(r.output(), "missing.xml") {
		t.Errorf("missing metadata file: exit %d\n%s", r.exitCode(), r.output())
	}
}
