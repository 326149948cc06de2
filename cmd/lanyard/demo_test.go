package main

import (
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard/internal/browsertest"
)

// startDemo runs "lanyard demo" on a free port with a fresh data directory
// and returns its base URL and output once it is ready to serve logins.
func startDemo(t *testing.T) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	listening := make(chan net.Addr, 1)
	a := &app{
		getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: stdout, stderr: stderr,
		onListen: func(addr net.Addr) { listening <- addr },
	}
	done := make(chan error, 1)
	go func() { done <- a.run(ctx, []string{"demo", "--addr", "127.0.0.1:0", "--data", t.TempDir()}) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("demo did not stop within 15s")
		}
	})
	var base string
	select {
	case addr := <-listening:
		_, port, _ := net.SplitHostPort(addr.String())
		base = "http://localhost:" + port
	case err := <-done:
		t.Fatalf("demo returned before listening: %v\n%s", err, stderr)
	case <-time.After(30 * time.Second):
		t.Fatalf("demo did not listen within 30s\n%s", stderr)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stdout.String(), "Stop with Ctrl-C"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("demo not ready within 30s\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
		}
	}
	return base, stdout
}

// TestDemoPrintsWhereToGo checks what a newcomer reads: the page to open,
// the demo users with their password, the admin UI, and the command that
// makes an administrator with a password in the demo's data directory,
// which, run as printed while the demo runs, gives a password that opens
// the admin UI.
func TestDemoPrintsWhereToGo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	base, stdout := startDemo(t)
	for _, want := range []string{"Open " + base + "/demo/", "alice / lanyard-demo", "bob   / lanyard-demo", base + "/devidp/", base + "/admin/"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	m := regexp.MustCompile(`(?m)^\s+lanyard (admin create root --generate --data \S+)$`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("the demo does not print how to make an administrator:\n%s", stdout)
	}
	r := mustCLI(t, nil, "", strings.Fields(m[1])...)
	pw := regexp.MustCompile(`(?m)^password: (\S+)$`).FindStringSubmatch(r.stdout)
	if pw == nil {
		t.Fatalf("no password printed:\n%s", r.output())
	}
	s := &server{t: t, url: base}
	c := browser(t)
	if resp := s.adminLogin(c, "root", pw[1]); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin sign-in with the printed command's password: %d", resp.StatusCode)
	}
	if resp, body := s.get(c, "/admin/"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /admin/ after sign-in: %d\n%s", resp.StatusCode, body)
	}
}

// TestDemoInChromium is the newcomer's first minute: "lanyard demo", open
// the sample page, sign in at the development IdP as alice, and land back
// on the sample page showing alice with her roles; session.js there
// re-checks the session in a hidden frame without a prompt. A screenshot
// goes to the artifact directory.
func TestDemoInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo and Chromium")
	}
	browser := browsertest.Start(t)
	base, _ := startDemo(t)
	step := func() context.Context {
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	err := chromedp.Do(step(),
		chromedp.Navigate(base+"/demo/"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "lanyard-demo"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#demo-login")),
		// The element shows as soon as the browser has parsed its start
		// tag; a page that arrives in pieces (a slow server, the race
		// detector) has its text only once the document is complete.
		chromedp.Poll[chromedp.Void](`document.readyState === "complete"`),
	)
	if err != nil {
		loc, _ := chromedp.Run(step(), chromedp.Location())
		t.Fatalf("demo login (at %s): %v", loc, err)
	}
	login, _ := chromedp.Run(step(), chromedp.Text(chromedp.CSS("#demo-login")))
	roles, _ := chromedp.Run(step(), chromedp.Text(chromedp.CSS("#demo-roles")))
	loc, _ := chromedp.Run(step(), chromedp.Location())
	if login != "alice" || roles != "admin, lanyard:tenant-admin, staff" || loc != base+"/demo/" {
		t.Errorf("sample page at %s shows %q with roles %q; want alice with admin, lanyard:tenant-admin, staff", loc, login, roles)
	}
	png, err := chromedp.Run(step(), chromedp.FullScreenshot(100))
	if err == nil {
		path := filepath.Join(browsertest.ArtifactDir(t), "demo-signed-in.png")
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}

	// alice administers the demo tenant, and nothing more: the group
	// mapping grants lanyard:tenant-admin, never an operator's rights.
	if err := chromedp.Do(step(), chromedp.Navigate(base+"/admin/")); err != nil {
		t.Fatal(err)
	}
	if kind, _ := chromedp.Run(step(), chromedp.Text(chromedp.CSS("#admin-kind"))); kind != "administrator of tenant demo" {
		t.Errorf("alice's admin home says %q, want administrator of tenant demo", kind)
	}
	for _, path := range []string{"/admin/routes", "/admin/tenants/default", "/admin/tenants/default/users"} {
		if err := chromedp.Do(step(), chromedp.Navigate(base+path)); err != nil {
			t.Fatal(err)
		}
		if h1, _ := chromedp.Run(step(), chromedp.Text(chromedp.CSS("h1"))); h1 != "Access denied" {
			t.Errorf("alice at %s sees %q, want Access denied", path, h1)
		}
	}
	if err := chromedp.Do(step(), chromedp.Navigate(base+demoPagePath), chromedp.WaitVisible(chromedp.CSS("#demo-login"))); err != nil {
		t.Fatal(err)
	}

	// The re-check in a hidden frame (the IdP is on the same site): the
	// page's "last check" time moves (it shows seconds).
	before, _ := chromedp.Run(step(), chromedp.Text(chromedp.CSS("#demo-refreshed")))
	time.Sleep(1100 * time.Millisecond)
	if _, err := chromedp.Run(step(), chromedp.Evaluate[any](`new Promise(r => { const w = () => (window.LanyardSession && LanyardSession.state()) ? r(LanyardSession.checkNow()) : setTimeout(w, 50); w(); })`)); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		done, _ := chromedp.Run(step(), chromedp.Evaluate[bool](`!document.querySelector("iframe[title='Session check']")`))
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the demo page's hidden-frame check got no answer")
		}
	}
	if used, _ := chromedp.Run(step(), chromedp.Evaluate[bool]("LanyardSession.usesWindow()")); used {
		t.Error("the demo's check fell back to a window")
	}
	if err := chromedp.Do(step(), chromedp.Navigate(base+"/demo/")); err != nil {
		t.Fatal(err)
	}
	refreshed, err := chromedp.Run(step(), chromedp.Text(chromedp.CSS("#demo-refreshed")))
	if err != nil || refreshed == before {
		t.Errorf("the sample page says the last check was %q (%v), as before the check", refreshed, err)
	}
}
