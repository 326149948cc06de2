package web

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// chromiumPath finds headless Chromium (Debian package chromium), or skips
// the test; in CI (CI=true) a missing Chromium fails it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	const msg = "Chromium not found (Debian package chromium); scripts/test.sh installs it"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip("skipping: " + msg)
	return ""
}

// artifactDir is where the browser tests leave screenshots:
// LANYARD_TEST_ARTIFACTS (scripts/test.sh sets ./artifacts), else a new
// temporary directory that outlives the test.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("LANYARD_TEST_ARTIFACTS")
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "lanyard-artifacts-"); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newChromium starts a headless Chromium for the test with a fresh
// profile. The flags keep it off the network it would otherwise call home
// to (the test machine has none, and Chromium stalls waiting for it), and
// --no-sandbox lets it run as root in containers.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.WindowSize(1024, 800),
	}
	// The browser lives as long as the context of its first action: no
	// timeout there (it would stop the browser); each step gets its own.
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	if _, err := chromedp.Call(browserCtx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	return browserCtx
}

// statusRecorder remembers the HTTP status of every document the browser
// loaded, by URL.
type statusRecorder struct {
	mu     sync.Mutex
	status map[string]int64
}

func recordStatuses(t *testing.T, ctx context.Context) *statusRecorder {
	t.Helper()
	rec := &statusRecorder{status: map[string]int64{}}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventResponseReceived); ok && e.Type == network.ResourceTypeDocument && e.Response != nil {
			rec.mu.Lock()
			rec.status[e.Response.URL] = e.Response.Status
			rec.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func (r *statusRecorder) of(u string) int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status[u]
}

// TestSSOInChromium runs an SP-initiated login in a real browser: Lanyard
// at http://localhost, SimpleSAMLphp at http://127.0.0.1 (another site, so
// the IdP's POST to the ACS is cross-site and SameSite rules apply), the
// IdP's login form filled in, its auto-posting form submitted by its own
// script, and the browser lands on the deep link with its query intact.
// A locked account then gets the refusal page. Screenshots go to the
// artifact directory.
func TestSSOInChromium(t *testing.T) {
	simplesamlphp.Require(t)
	browser := newChromium(t)
	dir := artifactDir(t)
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{
		idpUser("alice", "alice@example.com", "Alice", "Liddell", []string{"eng"}),
		idpUser("erin", "erin@example.com", "Erin", "Locked", nil),
	})
	acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer"}})
	e.addUser("acme", lanyard.User{Login: "erin", Locked: true, LoginMethod: lanyard.LoginSSO, WebAccess: true})
	statuses := recordStatuses(t, browser)
	acs := e.base + "/t/acme/saml/acs"

	step := func(what string) context.Context {
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(step("screenshot"), chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", path)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(step("text"), chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	location := func() string {
		t.Helper()
		u, err := chromedp.Run(step("location"), chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	// signIn opens start, fills in the IdP's form and submits it; then
	// the IdP's answer page posts itself to the ACS, and waitFor appears.
	signIn := func(start, username, waitFor string) {
		t.Helper()
		err := chromedp.Do(step("fill in"),
			chromedp.Navigate(start),
			chromedp.WaitVisible(chromedp.CSS("#username")),
			chromedp.SendKeys(chromedp.CSS("#username"), username),
			chromedp.SendKeys(chromedp.CSS("#password"), username+"-pass"),
		)
		if err != nil {
			t.Fatalf("IdP login form for %s: %v", username, err)
		}
		shot("sso-idp-login-" + username + ".png")
		err = chromedp.Do(step("submit"),
			chromedp.Submit(chromedp.CSS("#password")),
			chromedp.WaitVisible(chromedp.CSS(waitFor)),
		)
		if err != nil {
			shot("sso-failed-" + username + ".png")
			t.Fatalf("login of %s did not reach %s (at %s): %v", username, waitFor, location(), err)
		}
	}

	// 1. A full login into a deep link: the home page, with a query, shows
	// who is signed in.
	deep := "/?view=profile&item=42&note=a%20b"
	signIn(e.base+"/t/acme/saml/login?"+url.Values{"return_to": {deep}}.Encode(), "alice", "#signed-in-login")
	shot("sso-deep-link-landing.png")
	if got := location(); got != e.base+deep {
		t.Errorf("landed on %q, want exactly %q", got, e.base+deep)
	}
	if login, roles := text("#signed-in-login"), text("#signed-in-roles"); login != "alice" || roles != "engineer" {
		t.Errorf("home page shows %q with roles %q, want alice with engineer", login, roles)
	}

	// 2. A refusal: a locked account gets a 403 page that says so, with a
	// reference, and no session.
	if _, err := chromedp.Call(step("cookies"), network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	signIn(e.base+"/t/acme/saml/login", "erin", "#reference")
	shot("sso-refused-locked.png")
	if got := location(); got != acs {
		t.Errorf("refusal page at %q, want the ACS answer", got)
	}
	if msg := text(`[role="alert"]`); !strings.Contains(msg, "locked") {
		t.Errorf("refusal page says %q", msg)
	}
	if st := statuses.of(acs); st != 403 {
		t.Errorf("ACS answered %d to the locked account, want 403", st)
	}
	if ev := e.lastAudit(acme); ev.Reason != "account_locked" || text("#reference") != fmt.Sprint(ev.ID) {
		t.Errorf("audit event %d reason %q; page reference %q", ev.ID, ev.Reason, text("#reference"))
	}
}
