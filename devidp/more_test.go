package devidp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/saml"
)

func TestParseSPMetadata(t *testing.T) {
	keys(t)
	cert := base64.StdEncoding.EncodeToString(spCert.Raw)
	other := base64.StdEncoding.EncodeToString(otherCert.Raw)
	md := `<?xml version="1.0"?>
<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
 <md:EntityDescriptor entityID="https://one.example.com">
  <md:SPSSODescriptor AuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
   <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + cert + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
   <md:KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
` + other + `
   </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
   <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://one.example.com/slo-post"/>
   <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://one.example.com/slo" ResponseLocation="https://one.example.com/slo-resp"/>
   <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://one.example.com/art" index="0"/>
   <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://one.example.com/acs2" index="2"/>
   <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://one.example.com/acs1" index="1"/>
   <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://one.example.com/acs3" index="3" isDefault="true"/>
  </md:SPSSODescriptor>
 </md:EntityDescriptor>
 <md:EntitiesDescriptor>
  <md:EntityDescriptor entityID="https://two.example.com">
   <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor><ds:KeyInfo><ds:X509Data><ds:X509Certificate>` + cert + `</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://two.example.com/acs" index="0"/>
   </md:SPSSODescriptor>
  </md:EntityDescriptor>
  <md:EntityDescriptor entityID="https://an-idp.example.com"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>
 </md:EntitiesDescriptor>
</md:EntitiesDescriptor>`
	sps, err := devidp.ParseSPMetadata([]byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if len(sps) != 2 {
		t.Fatalf("%d SPs, want 2", len(sps))
	}
	one, two := sps[0], sps[1]
	if one.EntityID != "https://one.example.com" || one.ACSURL != "https://one.example.com/acs3" ||
		strings.Join(one.OtherACSURLs, " ") != "https://one.example.com/acs1 https://one.example.com/acs2" {
		t.Errorf("ACS of one: %q %q", one.ACSURL, one.OtherACSURLs)
	}
	if one.SLOURL != "https://one.example.com/slo" || one.SLOBinding != devidp.BindingHTTPRedirect || one.SLOResponseURL != "https://one.example.com/slo-resp" {
		t.Errorf("SLO of one: %q %q %q", one.SLOURL, one.SLOBinding, one.SLOResponseURL)
	}
	if !one.WantRequestsSigned || len(one.SigningCertificates) != 1 || !one.SigningCertificates[0].Equal(spCert) || !one.EncryptionCertificate.Equal(otherCert) {
		t.Errorf("keys of one: %v %v %v", one.WantRequestsSigned, one.SigningCertificates, one.EncryptionCertificate)
	}
	if two.WantRequestsSigned || len(two.SigningCertificates) != 1 || two.EncryptionCertificate == nil || two.SLOURL != "" {
		t.Errorf("two: %+v", two)
	}

	for _, c := range []struct{ doc, want string }{
		{`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://x/acs"/></md:SPSSODescriptor></md:EntityDescriptor>`, "no AssertionConsumerService with the HTTP-POST binding"},
		{`<!DOCTYPE x [<!ENTITY e "x">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>`, "DTD"},
		{`<EntityDescriptor entityID="x"/>`, "expected an md:EntityDescriptor"},
		{`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>`, "no SAML 2.0 SPSSODescriptor"},
	} {
		if _, err := devidp.ParseSPMetadata([]byte(c.doc)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.doc, err, c.want)
		}
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	keys(t)
	_, err := devidp.New(devidp.Config{
		BaseURL: "ftp://x",
		Key:     idpKey,
		Users:   []devidp.User{{Username: "a"}, {Username: "a", Password: "p"}, {Password: "p"}},
		SPs:     []devidp.SP{{EntityID: "sp"}},
	})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"BaseURL", "Key and Cert", `user "a" has no password`, `user "a" is defined twice`, "user #3 has no username", `SP "sp" has no ACS URL`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error lacks %q: %v", want, err)
		}
	}
	if _, err := devidp.New(devidp.Config{BaseURL: "http://x", Key: idpKey, Cert: otherCert}); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("a certificate of another key: %v", err)
	}
}

func TestRequestChecks(t *testing.T) {
	f := newFixture(t, nil)
	old := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	cases := []struct{ name, xml, want string }{
		{"wrong Destination", strings.Replace(authnRequestXML("_d1", spACS), `Version="2.0"`, `Version="2.0" Destination="https://elsewhere.example.com/sso"`, 1), "Destination"},
		{"old request", regexp.MustCompile(`IssueInstant="[^"]*"`).ReplaceAllString(authnRequestXML("_d2", spACS), `IssueInstant="`+old+`"`), "ago (at most 10m0s is accepted)"},
		{"Artifact binding asked", strings.Replace(authnRequestXML("_d3", spACS), `Version="2.0"`, `Version="2.0" ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"`, 1), "HTTP-POST only"},
		{"no ID", strings.Replace(authnRequestXML("", spACS), `ID=""`, ``, 1), "an ID"},
		{"a LogoutRequest at /sso", strings.Replace(authnRequestXML("_d4", spACS), "AuthnRequest", "LogoutRequest", 2), "expected a samlp:AuthnRequest"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := f.rawRequest(c.xml, spKey)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, c.want) {
				t.Fatalf("expected 400 with %q, got %d:\n%s", c.want, p.status, p.body)
			}
		})
	}
	// A login form used once, or never issued, has expired.
	p := f.post(f.server.URL+"/idp/login", url.Values{"login": {"made-up"}, "username": {"alice"}, "password": {devidp.DemoPassword}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "expired") {
		t.Errorf("unknown login form: %d\n%s", p.status, p.body)
	}
}

func TestPageHeaders(t *testing.T) {
	f := newFixture(t, func(c *devidp.Config, _ *saml.ServiceProvider) { c.DenyFraming = true })
	resp, err := f.browser.Get(f.server.URL + "/idp/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("DenyFraming headers: %v", resp.Header)
	}
	// The auto-submitted form's script carries the nonce of the CSP, and
	// a button works without JavaScript.
	f2 := newFixture(t, nil)
	f2.signIn()
	msg, err := f2.sp.MakeAuthnRequest(context.Background(), f2.trusted, saml.AuthnRequestOptions{BrowserBinding: binding})
	if err != nil {
		t.Fatal(err)
	}
	resp, err = f2.browser.Get(msg.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := readPage(t, resp)
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`<script nonce="([^"]+)">`).FindStringSubmatch(p.body)
	if m == nil || !strings.Contains(csp, "script-src 'nonce-"+m[1]+"'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("script nonce and CSP disagree: %q vs %q", m, csp)
	}
	if !strings.Contains(p.body, `<noscript>`) || !strings.Contains(p.body, `<button type="submit">Continue</button>`) {
		t.Errorf("no Continue button for browsers without JavaScript:\n%s", p.body)
	}
	if strings.Contains(p.body, "http://") && strings.Contains(p.body, "<link") {
		t.Error("pages must not load external assets")
	}
	// The start page lists the users and the SPs.
	p = f2.get(f2.server.URL + "/idp/")
	if !strings.Contains(p.body, "<code>bob</code>") || !strings.Contains(p.body, "Sign in to "+spEntityID) || !strings.Contains(p.body, "signed in as <strong>alice</strong>") {
		t.Errorf("start page:\n%s", p.body)
	}
}

// An SP whose SLO endpoint takes HTTP-POST gets the LogoutRequest by an
// auto-submitted form with an enveloped signature, and answers the same
// way.
func TestIdPInitiatedLogoutPOST(t *testing.T) {
	f := newFixture(t, nil)
	a := f.signIn()
	sp := f.idp.SPs()[0]
	sp.SLOBinding = devidp.BindingHTTPPOST
	if err := f.idp.AddSP(sp); err != nil {
		t.Fatal(err)
	}
	p := f.get(f.server.URL + "/idp/logout")
	p = f.post(f.server.URL+"/idp/logout", url.Values{"csrf": {hidden(p.body, "csrf")}})
	if formAction(p.body) != spSLO {
		t.Fatalf("expected a form posting to the SP's SLO endpoint:\n%s", p.body)
	}
	req, err := f.sp.ValidateLogoutRequest(context.Background(), f.trusted, saml.InboundMessage{SAMLRequest: hidden(p.body, "SAMLRequest")})
	if err != nil {
		t.Fatalf("Lanyard refuses the POST LogoutRequest: %v", err)
	}
	if req.NameID.Value != a.NameID.Value || req.Binding != saml.BindingHTTPPOST {
		t.Errorf("request %+v", req)
	}
	resp, err := f.sp.MakeLogoutResponse(f.trusted, req, saml.StatusPartialLogout, "")
	if err != nil {
		t.Fatal(err)
	}
	p = f.post(resp.URL, url.Values{"SAMLResponse": {resp.Value}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "PartialLogout") {
		t.Fatalf("the SP's partial logout should be reported:\n%s", p.body)
	}
}

// An ECDSA key signs too, and Lanyard accepts it.
func TestECDSAKey(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ecdsa IdP"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	f := newFixture(t, func(c *devidp.Config, _ *saml.ServiceProvider) { c.Key, c.Cert, c.SignResponse = key, cert, true })
	a := f.signIn()
	if a.NameID.Value != "alice" {
		t.Errorf("assertion %+v", a)
	}
}

// clock is a settable clock shared by the IdP and the SP.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestSessionExpires(t *testing.T) {
	c := &clock{now: time.Now()}
	f := newFixture(t, func(cfg *devidp.Config, sp *saml.ServiceProvider) {
		cfg.Now, cfg.SessionTTL = c.Now, time.Hour
		sp.Now = c.Now
	})
	a := f.signIn()
	if d := a.SessionNotOnOrAfter.Sub(a.AuthnInstant); d != time.Hour {
		t.Errorf("SessionNotOnOrAfter is %s after AuthnInstant, want 1h", d)
	}
	c.add(59 * time.Minute)
	if _, err := f.validate(f.response(f.startSSO(saml.AuthnRequestOptions{}))); err != nil {
		t.Fatalf("within the session: %v", err)
	}
	c.add(2 * time.Minute)
	if p := f.startSSO(saml.AuthnRequestOptions{}); !strings.Contains(p.body, `<label for="username">`) {
		t.Fatalf("after SessionTTL the form must be shown:\n%s", p.body)
	}
}

func TestUserNameIDAndUID(t *testing.T) {
	f := newFixture(t, func(cfg *devidp.Config, _ *saml.ServiceProvider) {
		cfg.Users = []devidp.User{{Username: "dave", Password: "pw", NameID: "u-1234", Attributes: map[string][]string{"uid": {"dave.d"}}}}
	})
	a, err := f.validate(f.response(f.login(f.startSSO(saml.AuthnRequestOptions{}), "dave", "pw")))
	if err != nil {
		t.Fatal(err)
	}
	if a.NameID.Value != "u-1234" || strings.Join(a.Attribute("uid"), ",") != "dave.d" || a.Attribute("mail") != nil {
		t.Errorf("assertion %+v", a)
	}
	// Not the demo users: the form does not list users.
	if p := f.startSSO(saml.AuthnRequestOptions{ForceAuthn: true}); strings.Contains(p.body, "Demo users") {
		t.Errorf("only the demo users are listed:\n%s", p.body)
	}
}

func TestCancelLogin(t *testing.T) {
	f := newFixture(t, nil)
	form := f.startSSO(saml.AuthnRequestOptions{RelayState: "c"})
	p := f.post(f.server.URL+"/idp/login", url.Values{"login": {hidden(form.body, "login")}, "cancel": {"1"}})
	in := f.response(p)
	_, err := f.validate(in)
	var e *saml.Error
	if !errors.As(err, &e) || e.SubStatusCode != "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed" || in.RelayState != "c" {
		t.Fatalf("expected AuthnFailed, got %v (RelayState %q)", err, in.RelayState)
	}
	// The form cannot be used afterwards.
	p = f.login(form, "alice", devidp.DemoPassword)
	if p.status != http.StatusBadRequest {
		t.Errorf("a cancelled login form: %d", p.status)
	}
}

func TestOpaqueNameIDs(t *testing.T) {
	f := newFixture(t, func(cfg *devidp.Config, _ *saml.ServiceProvider) { cfg.OpaqueNameIDs = true })
	a := f.signIn()
	if a.NameID.Format != saml.NameIDFormatPersistent || a.NameID.Value == "alice" || len(a.NameID.Value) < 20 {
		t.Fatalf("NameID %+v", a.NameID)
	}
	again, err := f.validate(f.response(f.startSSO(saml.AuthnRequestOptions{})))
	if err != nil || again.NameID != a.NameID {
		t.Errorf("not stable: %v %+v, first %+v", err, again.NameID, a.NameID)
	}
	if strings.Join(a.Attribute("uid"), "") != "alice" {
		t.Errorf("uid %q", a.Attribute("uid"))
	}
}
