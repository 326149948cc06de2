package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// TestSCIMDeactivationEndsBrowserSession: an account Okta provisioned by
// SCIM signs in through SimpleSAMLphp in headless Chromium (the login links
// to the SCIM account, it creates none); a SCIM PATCH active=false then
// ends the session, and the browser's next request is no longer signed in.
func TestSCIMDeactivationEndsBrowserSession(t *testing.T) {
	simplesamlphp.Require(t)
	browser := newChromium(t)
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{idpUser("ada", "ada@example.com", "Ada", "FromIdP", nil)})
	acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true"}})
	ctx := context.Background()
	_, token, err := e.admin.CreateTenantAPIToken(ctx, "cli", "acme", "okta", []string{lanyard.ScopeSCIM}, 0)
	if err != nil {
		t.Fatal(err)
	}
	scim := func(method, path string, body any) map[string]any {
		t.Helper()
		data, _ := json.Marshal(body)
		req, _ := http.NewRequest(method, e.base+"/t/acme/scim/v2"+path, bytes.NewReader(data))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var doc map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&doc)
		if resp.StatusCode >= 300 {
			t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, doc)
		}
		return doc
	}
	created := scim("POST", "/Users", scimUser("ada", "Ada", "FromSCIM", "ada@example.com"))
	id := created["id"].(string)

	step := func() context.Context {
		c, cancel := context.WithTimeout(browser, 30*time.Second)
		t.Cleanup(cancel)
		return c
	}
	err = chromedp.Do(step(),
		chromedp.Navigate(e.base+"/t/acme/saml/login?"+url.Values{"return_to": {"/"}}.Encode()),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "ada"),
		chromedp.SendKeys(chromedp.CSS("#password"), "ada-pass"),
		chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS("#signed-in-login")),
	)
	if err != nil {
		t.Fatalf("sign-in through SimpleSAMLphp: %v", err)
	}
	u := e.user(acme, "ada")
	if n, _ := e.store.CountUsers(ctx, lanyard.UserFilter{TenantID: acme.ID}); n != 1 || u.Source != lanyard.SourceSCIM || u.LastName != "FromSCIM" {
		t.Fatalf("after the SAML login: %d account(s), %+v", n, u)
	}
	live, err := e.store.UserSessions(ctx, u.ID, time.Now())
	if err != nil || len(live) == 0 {
		t.Fatalf("no session after the sign-in: %v", err)
	}

	scim("PATCH", "/Users/"+id, patchOp(map[string]any{"op": "replace", "path": "active", "value": false}))

	if live, _ := e.store.UserSessions(ctx, u.ID, time.Now()); len(live) != 0 {
		t.Fatalf("%d session(s) left after the deactivation", len(live))
	}
	if err := chromedp.Do(step(), chromedp.Navigate(e.base+"/"), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatal(err)
	}
	signedIn, err := chromedp.Run(step(), chromedp.EvaluateAsDevTools[bool](`document.querySelector("#signed-in") !== null`))
	if err != nil {
		t.Fatal(err)
	}
	if signedIn {
		t.Fatal("the browser is still signed in after the SCIM deactivation")
	}
}
