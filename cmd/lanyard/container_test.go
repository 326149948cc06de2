package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/lanyard-sso/lanyard/internal/browsertest"
)

// TestDemoLoginAt signs in to the demo running at $LANYARD_DEMO_URL (the
// container image, started by scripts/container-test.sh) in Chromium, as
// alice through the demo's IdP, and reads the sample page. Without the
// variable there is nothing to test.
func TestDemoLoginAt(t *testing.T) {
	base := os.Getenv("LANYARD_DEMO_URL")
	if base == "" {
		t.Skip("LANYARD_DEMO_URL not set (scripts/container-test.sh sets it)")
	}
	browser := browsertest.Start(t)
	ctx, cancel := context.WithTimeout(browser, 60*time.Second)
	defer cancel()
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/demo/"),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), "lanyard-demo"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#demo-login")),
		chromedp.Poll[chromedp.Void](`document.readyState === "complete"`),
	)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("demo login at %s (now at %s): %v", base, loc, err)
	}
	login, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#demo-login")))
	roles, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#demo-roles")))
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	if login != "alice" || roles != "admin, lanyard:tenant-admin, staff" || loc != base+"/demo/" {
		t.Errorf("sample page at %s shows %q with roles %q; want alice with admin, lanyard:tenant-admin, staff", loc, login, roles)
	}
	t.Logf("signed in at %s as %s (%s)", base, login, roles)
}
