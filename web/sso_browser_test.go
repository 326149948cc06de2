package web

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/browsertest"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// newChromium starts headless Chromium for the test (browsertest.Start)
// with network events on, for statusRecorder.
func newChromium(t *testing.T) context.Context {
	t.Helper()
	browserCtx := browsertest.Start(t)
	if _, err := chromedp.Call(browserCtx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable network events: %v", err)
	}
	return browserCtx
}

// artifactDir is where the browser tests leave screenshots.
func artifactDir(t *testing.T) string { return browsertest.ArtifactDir(t) }

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
