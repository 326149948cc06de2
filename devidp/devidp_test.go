package devidp_test

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// Keys are generated once per test binary: RSA key generation is the
// slowest step of these tests.
var (
	keysOnce        sync.Once
	idpKey, spKey   *rsa.PrivateKey
	idpCert, spCert *x509.Certificate
	otherKey        *rsa.PrivateKey
	otherCert       *x509.Certificate
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		var err error
		now := time.Now()
		if idpKey, idpCert, err = devidp.GenerateKey("test IdP", now); err != nil {
			panic(err)
		}
		if spKey, spCert, err = devidp.GenerateKey("test SP", now); err != nil {
			panic(err)
		}
		if otherKey, otherCert, err = devidp.GenerateKey("someone else", now); err != nil {
			panic(err)
		}
	})
}

// fixture is a development IdP served over HTTP at /idp, a Lanyard
// saml.ServiceProvider trusting it (and trusted by it through its
// metadata), and a browser with a cookie jar that does not follow
// redirects.
type fixture struct {
	t       *testing.T
	idp     *devidp.IdP
	server  *httptest.Server
	sp      *saml.ServiceProvider
	trusted *saml.IdentityProvider // the IdP as the SP sees it
	browser *http.Client
}

const (
	spEntityID = "https://sp.example.com/t/demo/saml/metadata"
	spACS      = "https://sp.example.com/t/demo/saml/acs"
	spSLO      = "https://sp.example.com/t/demo/saml/slo"
	binding    = "browser-1"
)

func newFixture(t *testing.T, configure func(*devidp.Config, *saml.ServiceProvider)) *fixture {
	t.Helper()
	keys(t)
	f := &fixture{t: t}
	var handler http.Handler
	f.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(f.server.Close)
	f.sp = &saml.ServiceProvider{
		EntityID:      spEntityID,
		ACSURL:        spACS,
		SLOURL:        spSLO,
		SigningKeys:   []saml.KeyPair{{Signer: spKey, Certificate: spCert}},
		NameIDFormats: []string{saml.NameIDFormatPersistent},
		Requests:      saml.NewMemoryRequestStore(),
		Replay:        saml.NewMemoryReplayCache(),
	}
	cfg := devidp.Config{BaseURL: f.server.URL + "/idp", Key: idpKey, Cert: idpCert}
	if configure != nil {
		configure(&cfg, f.sp)
	}
	idp, err := devidp.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.idp, handler = idp, idp
	md, err := f.sp.Metadata(saml.SPMetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := idp.TrustSPMetadata(md); err != nil {
		t.Fatal(err)
	}
	if f.trusted, err = saml.ParseIdPMetadata(idp.Metadata(), saml.MetadataOptions{}); err != nil {
		t.Fatalf("Lanyard does not accept the IdP metadata: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	f.browser = &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return f
}

// page is an HTTP answer read whole.
type page struct {
	status   int
	body     string
	location string
}

func (f *fixture) get(u string) page {
	f.t.Helper()
	resp, err := f.browser.Get(u)
	if err != nil {
		f.t.Fatal(err)
	}
	return readPage(f.t, resp)
}

func (f *fixture) post(u string, form url.Values) page {
	f.t.Helper()
	resp, err := f.browser.PostForm(u, form)
	if err != nil {
		f.t.Fatal(err)
	}
	return readPage(f.t, resp)
}

func readPage(t *testing.T, resp *http.Response) page {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(b), location: resp.Header.Get("Location")}
}

// hidden returns the value of the hidden form field name, or "".
func hidden(body, name string) string {
	m := regexp.MustCompile(`name="` + regexp.QuoteMeta(name) + `" value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// formAction returns the action of the page's form.
func formAction(body string) string {
	m := regexp.MustCompile(`<form method="post" action="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// startSSO makes an AuthnRequest with the SP and sends the browser to the
// IdP with it (HTTP-Redirect, or HTTP-POST).
func (f *fixture) startSSO(o saml.AuthnRequestOptions) page {
	f.t.Helper()
	o.BrowserBinding = binding
	msg, err := f.sp.MakeAuthnRequest(context.Background(), f.trusted, o)
	if err != nil {
		f.t.Fatal(err)
	}
	if msg.Binding == saml.BindingHTTPPOST {
		form := url.Values{"SAMLRequest": {msg.Value}}
		if msg.RelayState != "" {
			form.Set("RelayState", msg.RelayState)
		}
		return f.post(msg.URL, form)
	}
	return f.get(msg.URL)
}

// login fills in the login form of p.
func (f *fixture) login(p page, username, password string) page {
	f.t.Helper()
	key := hidden(p.body, "login")
	if key == "" {
		f.t.Fatalf("no login form (status %d):\n%s", p.status, p.body)
	}
	return f.post(f.idp.SSOURL()[:len(f.idp.SSOURL())-len("/sso")]+"/login", url.Values{"login": {key}, "username": {username}, "password": {password}})
}

// response checks p is the auto-submitted form to the SP's ACS and returns
// what it posts.
func (f *fixture) response(p page) saml.ResponseInput {
	f.t.Helper()
	if p.status != http.StatusOK || formAction(p.body) != spACS {
		f.t.Fatalf("expected a form posting to the ACS; got status %d:\n%s", p.status, p.body)
	}
	return saml.ResponseInput{SAMLResponse: hidden(p.body, "SAMLResponse"), RelayState: hidden(p.body, "RelayState"), BrowserBinding: binding}
}

func (f *fixture) validate(in saml.ResponseInput) (*saml.Assertion, error) {
	return f.sp.ValidateResponse(context.Background(), f.trusted, in)
}

func decoded(t *testing.T, b64 string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestMetadataAcceptedByLanyard(t *testing.T) {
	f := newFixture(t, nil)
	p := f.get(f.idp.MetadataURL())
	if p.status != http.StatusOK {
		t.Fatalf("GET /metadata: %d", p.status)
	}
	idp, err := saml.ParseIdPMetadata([]byte(p.body), saml.MetadataOptions{EntityID: f.idp.EntityID()})
	if err != nil {
		t.Fatal(err)
	}
	base := f.server.URL + "/idp"
	if idp.EntityID != base+"/metadata" {
		t.Errorf("entity ID %q", idp.EntityID)
	}
	want := []saml.Endpoint{{Binding: saml.BindingHTTPRedirect, Location: base + "/sso"}, {Binding: saml.BindingHTTPPOST, Location: base + "/sso"}}
	if len(idp.SSO) != 2 || idp.SSO[0] != want[0] || idp.SSO[1] != want[1] {
		t.Errorf("SSO endpoints %+v, want %+v", idp.SSO, want)
	}
	if len(idp.SLO) != 2 || idp.SLO[0].Location != base+"/slo" || idp.SLO[1].Location != base+"/slo" {
		t.Errorf("SLO endpoints %+v", idp.SLO)
	}
	if len(idp.SigningCertificates) != 1 || !idp.SigningCertificates[0].Equal(idpCert) {
		t.Errorf("signing certificates %v", idp.SigningCertificates)
	}
	for _, f := range []string{saml.NameIDFormatPersistent, saml.NameIDFormatTransient, saml.NameIDFormatEmailAddress} {
		if !strings.Contains(strings.Join(idp.NameIDFormats, " "), f) {
			t.Errorf("NameID format %s not published: %v", f, idp.NameIDFormats)
		}
	}
}

func TestSPInitiatedSSO(t *testing.T) {
	for _, b := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
		t.Run(b[strings.LastIndex(b, ":")+1:], func(t *testing.T) {
			f := newFixture(t, nil)
			p := f.startSSO(saml.AuthnRequestOptions{Binding: b, RelayState: "r-123"})
			if p.status != http.StatusOK || !strings.Contains(p.body, `<label for="username">`) {
				t.Fatalf("expected the login form, got %d:\n%s", p.status, p.body)
			}
			if !strings.Contains(p.body, spEntityID) || !strings.Contains(p.body, "<code>alice</code>") {
				t.Errorf("the login form should name the SP and list the demo users:\n%s", p.body)
			}
			in := f.response(f.login(p, "alice", devidp.DemoPassword))
			if in.RelayState != "r-123" {
				t.Errorf("RelayState %q, want r-123", in.RelayState)
			}
			a, err := f.validate(in)
			if err != nil {
				t.Fatalf("Lanyard refuses the response: %v\n%s", err, decoded(t, in.SAMLResponse))
			}
			if a.NameID.Value != "alice" || a.NameID.Format != saml.NameIDFormatPersistent {
				t.Errorf("NameID %+v", a.NameID)
			}
			checks := map[string]string{"uid": "alice", "mail": "alice@example.com", "givenName": "Alice", "sn": "Anderson", "groups": "staff,admins"}
			for name, want := range checks {
				if got := strings.Join(a.Attribute(name), ","); got != want {
					t.Errorf("attribute %s = %q, want %q", name, got, want)
				}
			}
			if a.SessionIndex == "" || a.InResponseTo == "" || a.Encrypted {
				t.Errorf("assertion %+v", a)
			}
			// A second SSO is silent: the IdP session answers at once.
			in2 := f.response(f.startSSO(saml.AuthnRequestOptions{Binding: b}))
			a2, err := f.validate(in2)
			if err != nil {
				t.Fatalf("second login: %v", err)
			}
			if a2.SessionIndex != a.SessionIndex || a2.NameID != a.NameID {
				t.Errorf("second login: session %q %+v, first %q %+v", a2.SessionIndex, a2.NameID, a.SessionIndex, a.NameID)
			}
		})
	}
}

func TestWrongPasswordShowsFormAgain(t *testing.T) {
	f := newFixture(t, nil)
	form := f.startSSO(saml.AuthnRequestOptions{})
	p := f.login(form, "alice", "wrong")
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, `role="alert"`) || !strings.Contains(p.body, "Wrong username or password") {
		t.Fatalf("expected the form with an error, got %d:\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `value="alice"`) {
		t.Errorf("the username should stay filled in")
	}
	p = f.login(p, "nobody", devidp.DemoPassword)
	if p.status != http.StatusUnauthorized {
		t.Fatalf("unknown user: %d", p.status)
	}
	if _, err := f.validate(f.response(f.login(p, "bob", devidp.DemoPassword))); err != nil {
		t.Fatal(err)
	}
}

func TestIdPInitiatedSSO(t *testing.T) {
	f := newFixture(t, func(_ *devidp.Config, sp *saml.ServiceProvider) { sp.AllowUnsolicited = true })
	p := f.get(f.idp.InitURL(spEntityID, "/welcome"))
	in := f.response(f.login(p, "bob", devidp.DemoPassword))
	if in.RelayState != "/welcome" {
		t.Errorf("RelayState %q", in.RelayState)
	}
	a, err := f.validate(in)
	if err != nil {
		t.Fatal(err)
	}
	if a.InResponseTo != "" || a.NameID.Value != "bob" || strings.Join(a.Attribute("groups"), ",") != "staff" {
		t.Errorf("assertion %+v", a)
	}
	// With a session, no form.
	if _, err := f.validate(f.response(f.get(f.idp.InitURL(spEntityID, "")))); err != nil {
		t.Fatal(err)
	}
	if p := f.get(f.idp.InitURL("https://unknown.example.com", "")); p.status != http.StatusNotFound {
		t.Errorf("unknown SP: %d", p.status)
	}
}

func TestIsPassive(t *testing.T) {
	f := newFixture(t, nil)
	// Without a session: NoPassive, and no form.
	p := f.startSSO(saml.AuthnRequestOptions{IsPassive: true})
	_, err := f.validate(f.response(p))
	var e *saml.Error
	if !errors.As(err, &e) || e.Reason != saml.ReasonStatusNotSuccess || e.StatusCode != "urn:oasis:names:tc:SAML:2.0:status:Responder" || e.SubStatusCode != "urn:oasis:names:tc:SAML:2.0:status:NoPassive" {
		t.Fatalf("expected a NoPassive status, got %v", err)
	}
	// With a session: a silent assertion.
	if _, err := f.validate(f.response(f.login(f.startSSO(saml.AuthnRequestOptions{}), "alice", devidp.DemoPassword))); err != nil {
		t.Fatal(err)
	}
	a, err := f.validate(f.response(f.startSSO(saml.AuthnRequestOptions{IsPassive: true})))
	if err != nil || a.NameID.Value != "alice" {
		t.Fatalf("passive with a session: %v %+v", err, a)
	}
}

func TestForceAuthn(t *testing.T) {
	f := newFixture(t, nil)
	first, err := f.validate(f.response(f.login(f.startSSO(saml.AuthnRequestOptions{}), "alice", devidp.DemoPassword)))
	if err != nil {
		t.Fatal(err)
	}
	p := f.startSSO(saml.AuthnRequestOptions{ForceAuthn: true})
	if !strings.Contains(p.body, `<label for="password">`) {
		t.Fatalf("ForceAuthn must show the form even with a session:\n%s", p.body)
	}
	a, err := f.validate(f.response(f.login(p, "bob", devidp.DemoPassword)))
	if err != nil {
		t.Fatal(err)
	}
	if a.NameID.Value != "bob" || a.SessionIndex == first.SessionIndex {
		t.Errorf("ForceAuthn: %+v, first session %q", a, first.SessionIndex)
	}
}

// rawRequest sends an AuthnRequest written by hand through the Redirect
// binding, signed with key when set.
func (f *fixture) rawRequest(xml string, key *rsa.PrivateKey) page {
	f.t.Helper()
	q := "SAMLRequest=" + url.QueryEscape(deflate(f.t, xml))
	if key != nil {
		q += "&SigAlg=" + url.QueryEscape("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(signSHA256(f.t, key, q)))
	}
	return f.get(f.idp.SSOURL() + "?" + q)
}

func authnRequestXML(id, acs string) string {
	return `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="` + id +
		`" Version="2.0" IssueInstant="` + time.Now().UTC().Format(time.RFC3339) + `" AssertionConsumerServiceURL="` + acs +
		`"><saml:Issuer>` + spEntityID + `</saml:Issuer></samlp:AuthnRequest>`
}

func TestRequestsRefused(t *testing.T) {
	f := newFixture(t, nil)
	cases := []struct {
		name string
		page func() page
		want string
	}{
		{"wrong ACS URL", func() page { return f.rawRequest(authnRequestXML("_a1", "https://evil.example.com/acs"), spKey) }, "not an ACS URL registered"},
		{"signed by another key", func() page { return f.rawRequest(authnRequestXML("_a2", spACS), otherKey) }, "does not verify"},
		{"unsigned", func() page { return f.rawRequest(authnRequestXML("_a3", spACS), nil) }, "without a Signature"},
		{"unknown SP", func() page {
			return f.rawRequest(strings.Replace(authnRequestXML("_a4", spACS), spEntityID, "https://other.example.com", 1), spKey)
		}, "does not know"},
		{"tampered query", func() page {
			msg, err := f.sp.MakeAuthnRequest(context.Background(), f.trusted, saml.AuthnRequestOptions{RelayState: "a"})
			if err != nil {
				t.Fatal(err)
			}
			return f.get(strings.Replace(msg.URL, "RelayState=a", "RelayState=b", 1))
		}, "does not verify"},
		{"DTD", func() page {
			return f.rawRequest(`<!DOCTYPE x [<!ENTITY a "b">]>`+authnRequestXML("_a6", spACS), spKey)
		}, "DTD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := c.page()
			if p.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(p.body), c.want) {
				t.Fatalf("expected 400 with %q, got %d:\n%s", c.want, p.status, p.body)
			}
			if strings.Contains(p.body, "SAMLResponse") {
				t.Error("a refused request must not be answered to the SP")
			}
		})
	}
}

func deflate(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(s))
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func signSHA256(t *testing.T, key *rsa.PrivateKey, s string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}
