package web

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/spkeys"
)

var (
	formActionRe = regexp.MustCompile(`<form[^>]*method="post"[^>]*action="([^"]*)"`)
	hiddenRe     = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)"`)
)

// webPage is a page the test browser received, with the URL it came from.
type webPage struct {
	resp *http.Response
	body string
}

// getPage fetches a page, following redirects.
func getPage(t *testing.T, c *http.Client, u string) webPage {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return webPage{resp, readAll(resp)}
}

// postPage submits the first POST form of a page with its hidden fields
// and extra fields, as the page's auto-post (or its button) would, and
// returns the answer, following redirects.
func postPage(t *testing.T, c *http.Client, p webPage, extra ...string) webPage {
	t.Helper()
	m := formActionRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no POST form on the page at %s:\n%s", p.resp.Request.URL, p.body)
	}
	form := url.Values{}
	for _, in := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		form.Set(html.UnescapeString(in[1]), html.UnescapeString(in[2]))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	action, err := p.resp.Request.URL.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.PostForm(action.String(), form)
	if err != nil {
		t.Fatal(err)
	}
	return webPage{resp, readAll(resp)}
}

// TestSingleLogoutPostBinding runs Single Logout through the HTTP-POST
// binding both ways with the development IdP: the IdP's LogoutRequest
// posted to Lanyard, answered with a posted LogoutResponse; and Lanyard's
// LogoutRequest posted to an IdP that publishes only a POST
// SingleLogoutService, whose posted answer completes the sign-out.
func TestSingleLogoutPostBinding(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.clock.Advance(time.Since(e.clock.Now())) // the IdP's cookies expire in real time
	ctx := context.Background()
	idpSrv := httptest.NewServer(nil)
	t.Cleanup(idpSrv.Close)
	idp, err := devidp.New(devidp.Config{BaseURL: idpSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	idpSrv.Config.Handler = idp
	if _, err := e.admin.CreateTenant(ctx, "test", "gamma", "Gamma", nil); err != nil {
		t.Fatal(err)
	}
	gamma, _, err := e.admin.SetTenant(ctx, "test", "gamma", []string{"enabled=true", "jit=true"})
	if err != nil {
		t.Fatal(err)
	}
	// Only the POST SingleLogoutService: Lanyard must use that binding.
	metadata := regexp.MustCompile(`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"[^>]*>(</md:SingleLogoutService>)?`).
		ReplaceAllString(string(idp.Metadata()), "")
	if strings.Count(metadata, "<md:SingleLogoutService") != 1 {
		t.Fatalf("metadata edit failed:\n%s", metadata)
	}
	if err := e.store.PutIdP(ctx, &lanyard.IdPConnection{TenantID: gamma.ID, EntityID: idp.EntityID(), MetadataXML: metadata}); err != nil {
		t.Fatal(err)
	}
	keys, err := e.store.SPKeys(ctx, gamma.ID)
	if err != nil {
		t.Fatal(err)
	}
	sp := devidp.SP{
		EntityID:   e.http.URL + "/t/gamma/saml/metadata",
		ACSURL:     e.http.URL + "/t/gamma/saml/acs",
		SLOURL:     e.http.URL + "/t/gamma/saml/slo",
		SLOBinding: devidp.BindingHTTPPOST,
	}
	for _, k := range keys {
		if _, cert, err := spkeys.Parse(k); err == nil && k.Use == lanyard.KeySigning {
			sp.SigningCertificates = append(sp.SigningCertificates, cert)
		}
	}
	if err := idp.AddSP(sp); err != nil {
		t.Fatal(err)
	}

	signIn := func(t *testing.T, c *http.Client) string {
		t.Helper()
		login := getPage(t, c, e.http.URL+"/t/gamma/saml/login")
		answer := postPage(t, c, login, "username", "alice", "password", devidp.DemoPassword)
		home := postPage(t, c, answer)
		if home.resp.StatusCode != http.StatusOK || !strings.Contains(home.body, "Signed in as") {
			t.Fatalf("sign-in through the development IdP: %d\n%s", home.resp.StatusCode, home.body)
		}
		u, _ := url.Parse(e.http.URL)
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == sessionCookieName {
				return ck.Value
			}
		}
		t.Fatal("no session cookie after sign-in")
		return ""
	}
	alive := func(id string) bool {
		_, err := e.store.Session(ctx, lanyard.HashSessionID(id), e.clock.Now())
		return err == nil
	}

	t.Run("IdP-initiated, POST", func(t *testing.T) {
		c := newBrowser().follow
		id := signIn(t, c)
		// The IdP's sign-out button, its posted LogoutRequest, Lanyard's
		// posted LogoutResponse.
		request := postPage(t, c, getPage(t, c, idp.LogoutURL()))
		if !strings.Contains(request.body, `name="SAMLRequest"`) {
			t.Fatalf("no posted LogoutRequest:\n%s", request.body)
		}
		response := postPage(t, c, request)
		if !strings.Contains(response.body, `name="SAMLResponse"`) {
			t.Fatalf("Lanyard did not answer with a posted LogoutResponse:\n%s", response.body)
		}
		if alive(id) {
			t.Error("the session survived the IdP's LogoutRequest")
		}
		done := postPage(t, c, response)
		if done.resp.StatusCode != http.StatusOK || !strings.Contains(done.body, "is signed out of the development IdP") || strings.Contains(done.body, "Not every") {
			t.Errorf("the IdP's outcome: %d\n%s", done.resp.StatusCode, done.body)
		}
	})

	t.Run("SP-initiated, POST", func(t *testing.T) {
		c := newBrowser().follow
		id := signIn(t, c)
		request := postPage(t, c, getPage(t, c, e.http.URL+"/logout"))
		if !strings.Contains(request.body, `name="SAMLRequest"`) {
			t.Fatalf("Lanyard did not post a LogoutRequest:\n%s", request.body)
		}
		if alive(id) {
			t.Error("the session survived the sign-out")
		}
		response := postPage(t, c, request)
		done := postPage(t, c, response)
		if done.resp.StatusCode != http.StatusOK || !strings.Contains(done.body, "You are also signed out of your identity provider.") {
			t.Errorf("after the posted LogoutResponse: %d\n%s", done.resp.StatusCode, done.body)
		}
	})
}
