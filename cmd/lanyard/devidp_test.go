package main

import (
	"context"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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

// A real Lanyard server and the development IdP, each run by its own
// command, logged in to through a browser: what "lanyard demo" will wire.
func TestDevIdPWithServe(t *testing.T) {
	if testing.Short() {
		t.Skip("runs serve and devidp")
	}
	data := t.TempDir()
	env := map[string]string{"LANYARD_DATA": data, "LANYARD_METADATA_ALLOW_PRIVATE": "true"}
	mustCLI(t, env, "", "tenant", "create", "demo")
	s := startServe(t, []string{"--data", data, "--metadata-allow-private", "true"}, nil)
	s.waitReady()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.url, "http://"))
	lanyardURL := "http://localhost:" + port

	idpURL, _, stopIdP := startDevIdP(t, "--sp-metadata", lanyardURL+"/t/demo/saml/metadata")
	defer stopIdP()
	mustCLI(t, env, "", "idp", "import", "--tenant", "demo", "--metadata", idpURL+"/metadata")
	mustCLI(t, env, "", "tenant", "set", "demo", "enabled=true", "jit=true")

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(method, u string, form url.Values) (*http.Response, string) {
		t.Helper()
		var resp *http.Response
		var err error
		if method == http.MethodPost {
			resp, err = browser.PostForm(u, form)
		} else {
			resp, err = browser.Get(u)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	field := func(body, name string) string {
		m := regexp.MustCompile(`name="` + name + `" value="([^"]*)"`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no field %s in:\n%s", name, body)
		}
		return html.UnescapeString(m[1])
	}

	// Configuration changes reach the running server within about a second.
	var resp *http.Response
	var body string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		resp, body = fetch(http.MethodGet, lanyardURL+"/t/demo/saml/login?return_to=/hello?x=1", nil)
		if resp.StatusCode == http.StatusFound || time.Now().After(deadline) {
			break
		}
	}
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, idpURL+"/sso?") {
		t.Fatalf("login start: %d to %q\n%s", resp.StatusCode, loc, body)
	}
	_, body = fetch(http.MethodGet, loc, nil)
	_, body = fetch(http.MethodPost, idpURL+"/login", url.Values{"login": {field(body, "login")}, "username": {"alice"}, "password": {devidp.DemoPassword}})
	acs := regexp.MustCompile(`<form method="post" action="([^"]*)"`).FindStringSubmatch(body)
	if acs == nil || html.UnescapeString(acs[1]) != lanyardURL+"/t/demo/saml/acs" {
		t.Fatalf("expected the form posting to Lanyard's ACS:\n%s", body)
	}
	form := url.Values{"SAMLResponse": {field(body, "SAMLResponse")}}
	if strings.Contains(body, `name="RelayState"`) {
		form.Set("RelayState", field(body, "RelayState"))
	}
	resp, body = fetch(http.MethodPost, lanyardURL+"/t/demo/saml/acs", form)
	if resp.StatusCode/100 != 3 || resp.Header.Get("Location") != "/hello?x=1" {
		t.Fatalf("ACS: %d to %q\n%s\n%s", resp.StatusCode, resp.Header.Get("Location"), body, s.stderr)
	}
	if len(resp.Cookies()) == 0 {
		t.Error("the ACS set no session cookie")
	}
	r := mustCLI(t, env, "", "user", "show", "--tenant", "demo", "alice")
	if !strings.Contains(r.stdout, "alice@example.com") {
		t.Errorf("alice was not created just in time:\n%s", r.stdout)
	}
}

func TestLoadDevUsers(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "users.json")
	os.WriteFile(good, []byte(`[{"username":"erin","password":"pw","name_id":"e-1","attributes":{"mail":["erin@example.com"],"groups":["a","b"]}}]`), 0o600)
	users, err := loadDevUsers(good, []string{"frank:pw2:groups=x;y,mail=f@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 2 || users[0].NameID != "e-1" || strings.Join(users[0].Attributes["groups"], ",") != "a,b" ||
		users[1].Username != "frank" || users[1].Password != "pw2" || strings.Join(users[1].Attributes["groups"], ",") != "x,y" {
		t.Errorf("users %+v", users)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`[{"username":"x","pasword":"typo"}]`), 0o600)
	_, err = loadDevUsers(bad, []string{"nopw"})
	if err == nil || !strings.Contains(err.Error(), `unknown field "pasword"`) || !strings.Contains(err.Error(), `--user "nopw"`) {
		t.Errorf("both problems should be reported: %v", err)
	}
}
