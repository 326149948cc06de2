package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretKeyFilePermissions: a secret key file its group or others may
// read or change is refused, saying how to fix it, unless
// allow_shared_secret_key_file is set, which starts with a warning.
func TestSecretKeyFilePermissions(t *testing.T) {
	key := mustCLI(t, nil, "", "secret-key").stdout
	for _, tc := range []struct {
		mode os.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true}, {0o700, true},
		{0o640, false}, {0o644, false}, {0o604, false}, {0o660, false}, {0o620, false}, {0o602, false}, {0o666, false}, {0o610, false}, {0o601, false},
	} {
		path := filepath.Join(t.TempDir(), "secret.key")
		if err := os.WriteFile(path, []byte(key), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, tc.mode); err != nil {
			t.Fatal(err)
		}
		s, warning, err := readSecretKey(path, false)
		if tc.ok != (err == nil) || (err == nil && (s == nil || warning != "")) {
			t.Errorf("%04o: sealer %v, warning %q, err %v; want accepted %v", tc.mode, s != nil, warning, err, tc.ok)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "chmod 600 "+path)) {
			t.Errorf("%04o: the refusal does not say how to fix it: %v", tc.mode, err)
		}
		if !tc.ok {
			if s, warning, err := readSecretKey(path, true); err != nil || s == nil || !strings.Contains(warning, "group or others") {
				t.Errorf("%04o allowed: sealer %v, warning %q, err %v", tc.mode, s != nil, warning, err)
			}
		}
	}

	// Through the command line and the environment.
	shared := filepath.Join(t.TempDir(), "shared.key")
	if err := os.WriteFile(shared, []byte(key), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(shared, 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"LANYARD_DATA": t.TempDir(), "LANYARD_SECRET_KEY_FILE": shared}
	r := cli(t, env, "", "tenant", "list")
	if exitCode(r.err) != 2 || !strings.Contains(r.output(), "chmod 600") {
		t.Errorf("shared key file: exit %d\n%s", exitCode(r.err), r.output())
	}
	env["LANYARD_ALLOW_SHARED_SECRET_KEY_FILE"] = "true"
	mustCLI(t, env, "", "tenant", "list")
}
