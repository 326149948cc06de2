package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// TestSSOConnectionTestInChromium presses "Test SSO connection" on the
// tenant page: a popup signs in at SimpleSAMLphp and shows the report (the
// decoded assertion, the mapping, the verdict) while the administrator's
// own session stays the break-glass one and no account is created.
func TestSSOConnectionTestInChromium(t *testing.T) {
	simplesamlphp.Require(t)
	browser := newChromium(t)
	artifacts := filepath.Join(artifactDir(t), "admin-ui")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{idpUser("newbie", "newbie@example.com", "New", "Bie", []string{"eng"})})
	e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer"}})
	ctx := context.Background()
	if _, err := e.admin.EnsureDefaultTenant(ctx); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.admin.CreateAdmin(ctx, "test", lanyard.DefaultTenantSlug, "root", adminPassword); err != nil {
		t.Fatal(err)
	}
	step := func(c context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(c, 30*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(c context.Context, name string) {
		t.Helper()
		sctx, cancel := context.WithTimeout(c, 30*time.Second)
		defer cancel()
		png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(artifacts, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	step(browser, "sign in",
		chromedp.Navigate(e.base+"/admin/login"),
		chromedp.SendKeys(chromedp.CSS("#username"), "root"),
		chromedp.SendKeys(chromedp.CSS("#password"), adminPassword),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#tenants-heading")),
		chromedp.Navigate(e.base+"/admin/tenants/acme"),
		chromedp.WaitVisible(chromedp.CSS("#sso-test")),
	)
	wctx, cancel := context.WithTimeout(browser, 30*time.Second)
	defer cancel()
	opened := chromedp.WaitNewTarget(wctx, func(i *target.Info) bool { return i.Type == "page" })
	step(browser, "press Test SSO connection", chromedp.Click(chromedp.CSS("#sso-test")))
	popupID := <-opened
	popup, cancelPopup := chromedp.NewContext(browser, chromedp.WithTargetID(popupID))
	defer cancelPopup()
	// Attach to the popup with a context that lives as long as the test: a
	// tab's first action binds it to that action's context.
	if err := chromedp.Do(popup); err != nil {
		t.Fatal(err)
	}
	step(popup, "IdP login form in the popup",
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "newbie"),
		chromedp.SendKeys(chromedp.CSS("#password"), "newbie-pass"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#trace-message")),
	)
	tctx, cancelText := context.WithTimeout(popup, 10*time.Second)
	defer cancelText()
	report, err := chromedp.Run(tctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	msg, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("#trace-message")))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := chromedp.Run(tctx, chromedp.Text(chromedp.CSS("pre.doc")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "would be allowed") || !strings.Contains(doc, "a NEW account (just-in-time provisioning)") ||
		!strings.Contains(doc, "Roles after the login: engineer") || !strings.Contains(doc, "SignatureValue") {
		t.Errorf("report: %q\n%s", msg, doc)
	}
	if _, err := e.admin.User(ctx, "acme", "newbie"); lanyard.ErrorKind(err) != lanyard.KindNotFound {
		t.Errorf("the test created the account: %v", err)
	}
	// The administrator is still signed in as root in the main window,
	// where the report is screenshot (a background popup is not painted).
	step(browser, "the report in the main window", chromedp.Navigate(report), chromedp.WaitVisible(chromedp.CSS("#trace-message")))
	shot(browser, "15-sso-test-report.png")
}
