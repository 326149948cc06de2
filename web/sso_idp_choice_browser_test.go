package web

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestIdPChooserInChromium shows the IdP chooser in a real browser at the
// desktop and the phone width, checks that it fits and that choosing sends
// the browser to the chosen IdP, and saves the screenshots.
func TestIdPChooserInChromium(t *testing.T) {
	browser := newChromium(t)
	artifacts := filepath.Join(artifactDir(t), "idp-chooser")
	e := newEnv(t, envOptions{})
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	staff := chooserIdP{"https://staff.example.org/idp", "https://staff.example.org/sso", "Acme Staff Login"}
	// The chosen IdP's address is on the test server: the browser gets there
	// (to a 404) without a network.
	partners := chooserIdP{"urn:partners:idp", e.http.URL + "/partners-idp/sso", "Partner organisations (federation)"}
	contractors := chooserIdP{"https://login.contractors.example.com/adfs/services/trust", "https://login.contractors.example.com/sso", ""}
	e.ssoTenantWithIdPs("acme", staff, partners, contractors)

	ctx, cancel := context.WithTimeout(browser, 30*time.Second)
	defer cancel()
	start := e.http.URL + "/t/acme/saml/login?" + url.Values{"return_to": {"/apps/wiki"}}.Encode()
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(desktopWidth, windowHeight), chromedp.Navigate(start), chromedp.WaitVisible(chromedp.CSS("#idp-choice"))); err != nil {
		t.Fatal(err)
	}
	checkFits(t, ctx, artifacts, "01-chooser")
	checkLabels(t, ctx, "chooser")
	checkKeyboard(t, ctx, "chooser")
	names, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("button.choice .choice-name")].map(b => b.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	if strings.Join(names, "|") != "Acme Staff Login|Partner organisations (federation)|"+contractors.entityID {
		t.Errorf("the chooser names %q", names)
	}
	// Choosing leaves for that IdP.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button[value="urn:partners:idp"]`))); err != nil {
		t.Fatal(err)
	}
	for {
		loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`))
		if err == nil && strings.HasPrefix(loc, partners.sso+"?SAMLRequest=") {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the browser did not go to the chosen IdP: %q %v", loc, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
