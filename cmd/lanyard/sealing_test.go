package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/keyseal"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// TestSecretKey: a database made without a secret key gets its private keys
// sealed when serve starts with one, and the server works on them (SP
// metadata, identity tokens); a copy of the database read without the key
// gives no key away; serve refuses to start without the key or with
// another one, saying which.
func TestSecretKey(t *testing.T) {
	dataDir := t.TempDir()
	env := map[string]string{"LANYARD_DATA": dataDir}
	mustCLI(t, env, "", "tenant", "create", "acme")

	writeKey := func(name string) (string, string) {
		t.Helper()
		r := mustCLI(t, nil, "", "secret-key")
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, []byte(r.stdout), 0o600); err != nil {
			t.Fatal(err)
		}
		s, _, err := readSecretKey(path, false)
		if err != nil {
			t.Fatalf("the printed key does not read back: %v", err)
		}
		return path, s.ID()
	}
	keyFile, keyID := writeKey("secret")
	otherFile, otherID := writeKey("other")

	s := startServe(t, []string{"--data", dataDir, "--secret-key-file", keyFile}, nil)
	s.waitReady()
	for _, path := range []string{"/t/acme/saml/metadata", "/.well-known/jwks.json"} {
		resp, err := http.Get(s.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), map[bool]string{true: "X509Certificate", false: `"kty":"EC"`}[strings.HasSuffix(path, "metadata")]) {
			t.Errorf("GET %s with sealed keys: %d\n%.300s", path, resp.StatusCode, body)
		}
	}
	s.stop()

	// What a copy of the database gives away without the secret key.
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(dataDir, sqliteFile))
	if err != nil {
		t.Fatal(err)
	}
	tenant, err := db.Tenant(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SPKeys(ctx, tenant.ID); !errors.Is(err, keyseal.ErrNoSecretKey) {
		t.Errorf("SP keys read without the secret key: %v", err)
	}
	if _, err := db.SigningKeys(ctx, time.Now()); !errors.Is(err, keyseal.ErrNoSecretKey) {
		t.Errorf("signing keys read without the secret key: %v", err)
	}
	db.Close()

	// Changing the secret key: the new key on the first line, the old one
	// below it, for one start.
	newKey := mustCLI(t, nil, "", "secret-key").stdout
	oldKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	rotating := filepath.Join(t.TempDir(), "rotating")
	os.WriteFile(rotating, []byte("# new\n"+newKey+"# old, until serve has started once\n"+string(oldKey)), 0o600)
	s = startServe(t, []string{"--data", dataDir, "--secret-key-file", rotating}, nil)
	s.waitReady()
	s.stop()
	newFile := filepath.Join(t.TempDir(), "new")
	os.WriteFile(newFile, []byte(newKey), 0o600)
	newSealer, _, err := readSecretKey(newFile, false)
	if err != nil {
		t.Fatal(err)
	}
	s = startServe(t, []string{"--data", dataDir, "--secret-key-file", newFile}, nil)
	s.waitReady()
	if resp, err := http.Get(s.url + "/t/acme/saml/metadata"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("metadata with the new secret key alone: %v %v", resp, err)
	}
	s.stop()

	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"no secret key", nil, []string{"sealed, but no secret key is configured", "--secret-key-file"}},
		{"another secret key", []string{"--secret-key-file", otherFile}, []string{"sealed with secret key " + newSealer.ID(), "configured secret key is " + otherID}},
		{"the old secret key", []string{"--secret-key-file", keyFile}, []string{"sealed with secret key " + newSealer.ID(), "configured secret key is " + keyID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			var stderr syncBuffer
			a := &app{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr}
			err := a.run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dataDir}, tc.args...))
			if err == nil || ctx.Err() != nil {
				t.Fatalf("serve: %v (context %v), want a start-up failure", err, ctx.Err())
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("serve's error lacks %q: %v", want, err)
				}
			}
		})
	}

	if r := cli(t, map[string]string{"LANYARD_DATA": dataDir, "LANYARD_SECRET_KEY_FILE": filepath.Join(dataDir, "nope")}, "", "tenant", "list"); r.exitCode() != 2 || !strings.Contains(r.output(), "LANYARD_SECRET_KEY_FILE: open") {
		t.Errorf("a missing key file: exit %d\n%s", r.exitCode(), r.output())
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("not a key"), 0o600)
	if r := cli(t, env, "", "tenant", "list", "--secret-key-file", bad); r.exitCode() != 2 || !strings.Contains(r.output(), "not a secret key") {
		t.Errorf("a bad key file: exit %d\n%s", r.exitCode(), r.output())
	}
}
