package devidp_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/internal/browsertest"
	"github.com/lanyard-sso/lanyard/saml"
)

// A real browser goes through the whole SP-initiated flow: the login form,
// then the auto-submitted response form under the page's
// Content-Security-Policy (its script runs only with the nonce), then a
// second, silent login with the IdP session cookie. A passive request
// from a hidden frame answers NoPassive before the login and signs in
// silently after it.
func TestBrowserLogin(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Chromium")
	}
	browser := browsertest.Start(t)
	keys(t)
	mux := http.NewServeMux()
	server := httptest.NewServer(mux)
	defer server.Close()
	idp, err := devidp.New(devidp.Config{BaseURL: server.URL + "/idp", Key: idpKey, Cert: idpCert})
	if err != nil {
		t.Fatal(err)
	}
	sp := &saml.ServiceProvider{
		EntityID: server.URL + "/sp", ACSURL: server.URL + "/sp/acs",
		SigningKeys: []saml.KeyPair{{Signer: spKey, Certificate: spCert}},
		Requests:    saml.NewMemoryRequestStore(), Replay: saml.NewMemoryReplayCache(),
	}
	md, err := sp.Metadata(saml.SPMetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.TrustSPMetadata(md); err != nil {
		t.Fatal(err)
	}
	trusted, err := saml.ParseIdPMetadata(idp.Metadata(), saml.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mux.Handle("/idp/", idp)
	results := make(chan string, 4)
	step := func() context.Context {
		ctx, cancel := context.WithTimeout(browser, 30*time.Second)
		t.Cleanup(cancel)
		return ctx
	}
	mux.HandleFunc("GET /sp/login", func(w http.ResponseWriter, r *http.Request) {
		msg, err := sp.MakeAuthnRequest(r.Context(), trusted, saml.AuthnRequestOptions{RelayState: "state", IsPassive: r.FormValue("passive") != ""})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		http.Redirect(w, r, msg.URL, http.StatusFound)
	})
	mux.HandleFunc("POST /sp/acs", func(w http.ResponseWriter, r *http.Request) {
		a, err := sp.ValidateResponse(r.Context(), trusted, saml.ResponseInput{SAMLResponse: r.FormValue("SAMLResponse"), RelayState: r.FormValue("RelayState")})
		result := "refused: " + fmt.Sprint(err)
		if err == nil {
			result = fmt.Sprintf("signed in as %s (%s), relay %s", a.NameID.Value, strings.Join(a.Attribute("groups"), ","), a.RelayState)
		}
		fmt.Fprintf(w, `<!DOCTYPE html><p id="result">%s</p>`, html.EscapeString(result))
		select {
		case results <- result:
		default:
		}
	})
	// A hidden frame checks the IdP session without showing anything, as
	// the periodic re-validation does; the ACS reports to results.
	mux.HandleFunc("GET /sp/check", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><p id="page">checking</p><iframe hidden src="/sp/login?passive=1"></iframe>`)
	})
	frameCheck := func() string {
		t.Helper()
		for len(results) > 0 {
			<-results
		}
		if err := chromedp.Do(step(), chromedp.Navigate(server.URL+"/sp/check"), chromedp.WaitVisible(chromedp.CSS("#page"))); err != nil {
			t.Fatal(err)
		}
		select {
		case r := <-results:
			return r
		case <-time.After(15 * time.Second):
			t.Fatal("the hidden frame reached no ACS within 15s")
			return ""
		}
	}

	// Before any login, the passive check answers NoPassive, in the frame.
	if r := frameCheck(); !strings.Contains(r, "NoPassive") {
		t.Errorf("passive check without a session: %q, want NoPassive", r)
	}
	err = chromedp.Do(step(),
		chromedp.Navigate(server.URL+"/sp/login"),
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#password"), devidp.DemoPassword),
	)
	if err != nil {
		t.Fatalf("the login form: %v", err)
	}
	shot, err := chromedp.Run(step(), chromedp.FullScreenshot(90))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(step(), chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#result")))
	if err != nil {
		t.Fatalf("after the login form: %v", err)
	}
	first, err := chromedp.Run(step(), chromedp.Text(chromedp.CSS("#result")))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(step(), chromedp.Navigate(server.URL+"/sp/login"), chromedp.WaitVisible(chromedp.CSS("#result")))
	if err != nil {
		t.Fatalf("the silent second login: %v", err)
	}
	second, err := chromedp.Run(step(), chromedp.Text(chromedp.CSS("#result")))
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("LANYARD_TEST_ARTIFACTS"); dir != "" {
		os.MkdirAll(dir, 0o755)
		os.WriteFile(filepath.Join(dir, "devidp-login.jpg"), shot, 0o644)
	}
	want := "signed in as alice (staff,admins), relay state"
	if first != want || second != want {
		t.Errorf("first login %q, second (silent) %q; want %q", first, second, want)
	}
	// With the IdP session, the hidden frame signs in silently.
	if r := frameCheck(); r != want {
		t.Errorf("passive check with a session: %q, want %q", r, want)
	}
}
