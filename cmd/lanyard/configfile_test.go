package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/keyseal"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestYAMLConfigMatchesJSON: the same settings in YAML (routes as a plain
// list, lists for the address lists, numbers and booleans as YAML scalars)
// and in JSON give the same configuration.
func TestYAMLConfigMatchesJSON(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	jsonFile := writeFile(t, dir, "lanyard.json", `{
  "addr": "127.0.0.1:9000", "min_free_mb": "64", "metadata_allow_private": "true",
  "trusted_proxies": "10.0.0.0/8,192.168.1.1", "log_level": "debug",
  "routes": [{"name": "wiki", "host": "wiki.example.com", "upstream": "http://127.0.0.1:3000", "roles": ["staff", "wiki"]},
             {"name": "api", "host": "api.example.com", "path_prefix": "/v1/", "upstream": "http://127.0.0.1:3001", "strip_prefix": true, "bearer_token": true}]
}`)
	yamlFile := writeFile(t, dir, "lanyard.yaml", `# Lanyard
addr: 127.0.0.1:9000
min_free_mb: 64
metadata_allow_private: true
trusted_proxies:
  - 10.0.0.0/8
  - 192.168.1.1
log_level: debug
routes:
  - name: wiki
    host: wiki.example.com
    upstream: http://127.0.0.1:3000
    roles: [staff, wiki]
  - name: api
    host: api.example.com
    path_prefix: /v1/
    upstream: http://127.0.0.1:3001
    strip_prefix: true
    bearer_token: yes
`)
	fromJSON, err := resolveWith(t, nil, "--config", jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	fromYAML, err := resolveWith(t, nil, "--config", yamlFile)
	if err == nil || !strings.Contains(err.Error(), `bearer_token "yes": use true or false`) {
		t.Fatalf("YAML 1.1's yes is not a boolean here: %v", err)
	}
	if err := os.WriteFile(yamlFile, []byte(strings.Replace(readString(t, yamlFile), "bearer_token: yes", "bearer_token: true", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if fromYAML, err = resolveWith(t, nil, "--config", yamlFile); err != nil {
		t.Fatal(err)
	}
	if len(fromYAML.Gateway.Routes) != 2 || !reflect.DeepEqual(fromJSON.Gateway, fromYAML.Gateway) {
		t.Errorf("routes differ:\nJSON %+v\nYAML %+v", fromJSON.Gateway.Routes, fromYAML.Gateway.Routes)
	}
	if fromYAML.Addr != "127.0.0.1:9000" || fromYAML.MinFreeBytes != 64<<20 || !fromYAML.MetadataAllowPrivate || fromYAML.LogLevel.String() != "DEBUG" ||
		len(fromYAML.ClientIP.Trusted()) != 2 || !reflect.DeepEqual(fromJSON.ClientIP.Trusted(), fromYAML.ClientIP.Trusted()) {
		t.Errorf("YAML settings: %+v", fromYAML)
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// resolveWith resolves the configuration of serve from args and env.
func resolveWith(t *testing.T, env map[string]string, args ...string) (config, error) {
	t.Helper()
	fs := (&app{stdout: &syncBuffer{}}).newFlagSet("lanyard serve", "", "")
	cf := addConfigFlags(fs, nil)
	if _, err := fs.parse(args, 0, 0); err != nil {
		t.Fatal(err)
	}
	return cf.resolve(func(k string) string { return env[k] })
}

// TestConfigFileProblems: every problem of a file is reported at once, each
// with its key and line, in YAML and JSON.
func TestConfigFileProblems(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file, content string
		want                []string
	}{
		{"unknown key", "c.yaml", "addr: :8080\n\ncolour: red\n", []string{`line 3: unknown key "colour"`, "known keys: addr,"}},
		{"unknown key in a route", "c.yaml", "routes:\n  - name: a\n    upstream: http://127.0.0.1:1\n    upstreem: http://x\n", []string{`line 4: routes: unknown key "upstreem" in a route`}},
		{"route key spelled with a hyphen", "c.yaml", "routes:\n  - name: a\n    path-prefix: /a/\n", []string{`line 3: routes: unknown key "path-prefix"`}},
		{"key twice", "c.yaml", "addr: :1\naddr: :2\n", []string{"line 2: addr is set twice (first on line 1)"}},
		{"mapping for a value", "c.yaml", "log_level:\n  level: debug\n", []string{"line 1: log_level: want a single value, not a mapping"}},
		{"list for a single value", "c.yaml", "addr: [a, b]\n", []string{"line 1: addr: want a single value, not a list"}},
		{"routes not a list", "c.yaml", "routes: wiki\n", []string{"line 1: routes: want a list of routes"}},
		{"route not a mapping", "c.yaml", "routes:\n  - wiki\n", []string{"line 2: routes: each route is a mapping"}},
		{"bad boolean in a route", "c.yaml", "routes:\n  - name: a\n    strip_prefix: maybe\n", []string{`line 3: routes: strip_prefix "maybe": use true or false`}},
		{"invalid route", "c.yaml", "routes:\n  - name: a\n    host: a.example.com\n    upstream: ftp://x\n", []string{"line 1: routes: route \"a\":"}},
		{"not YAML", "c.yaml", "addr: [\n", []string{"not YAML", "line"}},
		{"not a mapping", "c.yml", "- addr\n", []string{"line 1: want a mapping of settings"}},
		{"bad value", "c.yaml", "\nlog_level: loud\n", []string{`line 2: log_level "loud": use debug, info, warn or error`}},
		{"several at once", "c.yaml", "colour: red\nlog_format: xml\nsize: 3\n", []string{"3 problems", `line 1: unknown key "colour"`, `line 3: unknown key "size"`, `line 2: log_format "xml"`}},
		{"JSON unknown key with its line", "c.json", "{\n  \"addr\": \":1\",\n  \"colour\": \"red\"\n}", []string{`line 3: unknown key "colour"`}},
		{"JSON number", "c.json", "{\"addr\": 8080}", []string{"line 1: addr: want a string"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := writeFile(t, t.TempDir(), tc.file, tc.content)
			r := cli(t, nil, "", "config", "check", file)
			if r.exitCode() != 1 {
				t.Errorf("exit code %d, want 1:\n%s", r.exitCode(), r.output())
			}
			for _, w := range tc.want {
				if !strings.Contains(r.output(), w) {
					t.Errorf("output lacks %q:\n%s", w, r.output())
				}
			}
		})
	}
	file := writeFile(t, t.TempDir(), "ok.yaml", "addr: 127.0.0.1:9000\nroutes: []\n")
	r := mustCLI(t, map[string]string{"LANYARD_ADDR": "nonsense"}, "", "config", "check", file)
	if !strings.Contains(r.stdout, "valid (2 settings") {
		t.Errorf("config check of a good file (the environment is not read): %s", r.output())
	}
	if r := mustCLI(t, nil, "", "config", "check", writeFile(t, t.TempDir(), "empty.yaml", "# nothing set\n")); !strings.Contains(r.stdout, "valid (0 settings") {
		t.Errorf("empty file: %s", r.output())
	}
}

// TestConfigPrint: each value is shown with its source, the output reads
// back as a config file giving the same configuration, and passwords never
// show.
func TestConfigPrint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := writeFile(t, dir, "lanyard.yaml", `addr: 127.0.0.1:9000
database: postgres://lanyard:s3cret-pw@db.example.com/lanyard
log_format: json
routes:
  - name: wiki
    host: wiki.example.com
    upstream: http://user:upstream-pw@127.0.0.1:3000
`)
	r := mustCLI(t, map[string]string{"LANYARD_LOG_FORMAT": "text", "LANYARD_CONFIG": file}, "", "config", "print", "--addr", ":7000")
	for _, want := range []string{
		"addr: :7000 # flag --addr",
		"log_format: text # env LANYARD_LOG_FORMAT",
		"database: postgres://lanyard:xxxxx@db.example.com/lanyard # file " + file + " line 2",
		"routes: # file " + file + " line 4",
		"upstream: http://user:xxxxx@127.0.0.1:3000",
		"log_level: info # default",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("config print lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.output(), "s3cret-pw") || strings.Contains(r.output(), "upstream-pw") {
		t.Errorf("config print shows a password:\n%s", r.output())
	}
	// Printed (without the masked database) and read back: same settings.
	printed := writeFile(t, dir, "printed.yaml", strings.Replace(r.stdout, "postgres://lanyard:xxxxx@db.example.com/lanyard", `""`, 1))
	r2 := mustCLI(t, nil, "", "config", "check", printed)
	if !strings.Contains(r2.stdout, "valid") {
		t.Errorf("printed configuration does not read back: %s", r2.output())
	}
}

// TestSecretKeyFromCredentials: under systemd, the secret key comes from
// the credential secret_key ($CREDENTIALS_DIRECTORY) unless set otherwise.
func TestSecretKeyFromCredentials(t *testing.T) {
	t.Parallel()
	creds := t.TempDir()
	key := keyseal.GenerateKey()
	if err := os.WriteFile(filepath.Join(creds, "secret_key"), []byte(key+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	want, err := keyseal.ParseKeys(key)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := keyseal.New(want[0])
	if err != nil {
		t.Fatal(err)
	}
	c, err := resolveWith(t, map[string]string{"CREDENTIALS_DIRECTORY": creds})
	if err != nil {
		t.Fatal(err)
	}
	if c.Sealer == nil || c.Sealer.ID() != sealer.ID() {
		t.Errorf("secret key from the credential: got %v", c.Sealer)
	}
	// Without the credential: no key; an explicit setting wins.
	if c, err := resolveWith(t, map[string]string{"CREDENTIALS_DIRECTORY": t.TempDir()}); err != nil || c.Sealer != nil {
		t.Errorf("no credential: %v, %v", c.Sealer, err)
	}
	other := writeFile(t, t.TempDir(), "other.key", keyseal.GenerateKey()+"\n")
	if c, err := resolveWith(t, map[string]string{"CREDENTIALS_DIRECTORY": creds}, "--secret-key-file", other); err != nil || c.Sealer == nil || c.Sealer.ID() == sealer.ID() {
		t.Errorf("explicit file: %v, %v", c.Sealer, err)
	}
	r := mustCLI(t, map[string]string{"CREDENTIALS_DIRECTORY": creds}, "", "config", "print")
	if !strings.Contains(r.stdout, "secret_key_file: "+filepath.Join(creds, "secret_key")+" # systemd credential secret_key") || strings.Contains(r.stdout, key) {
		t.Errorf("config print of the credential:\n%s", r.stdout)
	}
}
