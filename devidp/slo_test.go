package devidp_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/devidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// signIn logs alice in through SP-initiated SSO and returns her assertion.
func (f *fixture) signIn() *saml.Assertion {
	f.t.Helper()
	a, err := f.validate(f.response(f.login(f.startSSO(saml.AuthnRequestOptions{}), "alice", devidp.DemoPassword)))
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// redirectQuery checks p redirects to the SP's SLO endpoint and returns
// the raw query.
func (f *fixture) redirectQuery(p page) string {
	f.t.Helper()
	if p.status != http.StatusFound {
		f.t.Fatalf("expected a redirect to the SP, got %d:\n%s", p.status, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		f.t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != spSLO {
		f.t.Fatalf("redirected to %s, want the SP's SLO endpoint %s", got, spSLO)
	}
	return u.RawQuery
}

func TestSPInitiatedLogout(t *testing.T) {
	for _, b := range []string{saml.BindingHTTPRedirect, saml.BindingHTTPPOST} {
		t.Run(b[strings.LastIndex(b, ":")+1:], func(t *testing.T) {
			f := newFixture(t, nil)
			a := f.signIn()
			msg, err := f.sp.MakeLogoutRequest(context.Background(), f.trusted, saml.LogoutRequestOptions{
				Binding: b, NameID: a.NameID, SessionIndex: a.SessionIndex, BrowserBinding: binding, RelayState: "bye", ReturnTo: "/done",
			})
			if err != nil {
				t.Fatal(err)
			}
			var p page
			if b == saml.BindingHTTPPOST {
				p = f.post(msg.URL, url.Values{"SAMLRequest": {msg.Value}, "RelayState": {msg.RelayState}})
			} else {
				p = f.get(msg.URL)
			}
			res, err := f.sp.ValidateLogoutResponse(context.Background(), f.trusted, saml.InboundMessage{RawQuery: f.redirectQuery(p)}, binding)
			if err != nil {
				t.Fatalf("Lanyard refuses the LogoutResponse: %v", err)
			}
			if res.RelayState != "bye" || res.ReturnTo != "/done" {
				t.Errorf("result %+v", res)
			}
			// The IdP session is over: the next SSO shows the form.
			if p := f.startSSO(saml.AuthnRequestOptions{}); !strings.Contains(p.body, `<label for="username">`) {
				t.Errorf("after logout, SSO should ask for the password again:\n%s", p.body)
			}
		})
	}
}

func TestSPInitiatedLogoutWrongNameID(t *testing.T) {
	f := newFixture(t, nil)
	a := f.signIn()
	msg, err := f.sp.MakeLogoutRequest(context.Background(), f.trusted, saml.LogoutRequestOptions{
		NameID: saml.NameID{Value: "mallory", Format: saml.NameIDFormatPersistent}, SessionIndex: a.SessionIndex, BrowserBinding: binding,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.sp.ValidateLogoutResponse(context.Background(), f.trusted, saml.InboundMessage{RawQuery: f.redirectQuery(f.get(msg.URL))}, binding)
	var e *saml.Error
	if !errors.As(err, &e) || e.Reason != saml.ReasonStatusNotSuccess || !strings.HasSuffix(e.SubStatusCode, "UnknownPrincipal") {
		t.Fatalf("expected UnknownPrincipal, got %v", err)
	}
	// alice's session was not ended.
	if _, err := f.validate(f.response(f.startSSO(saml.AuthnRequestOptions{}))); err != nil {
		t.Fatalf("the session should still be open: %v", err)
	}
}

func TestLogoutRequestBadSignature(t *testing.T) {
	f := newFixture(t, nil)
	a := f.signIn()
	msg, err := f.sp.MakeLogoutRequest(context.Background(), f.trusted, saml.LogoutRequestOptions{NameID: a.NameID, BrowserBinding: binding, RelayState: "x"})
	if err != nil {
		t.Fatal(err)
	}
	p := f.get(strings.Replace(msg.URL, "RelayState=x", "RelayState=y", 1))
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "does not verify") {
		t.Fatalf("expected a refusal, got %d:\n%s", p.status, p.body)
	}
}

func TestIdPInitiatedLogout(t *testing.T) {
	f := newFixture(t, nil)
	a := f.signIn()
	p := f.get(f.server.URL + "/idp/logout")
	csrf := hidden(p.body, "csrf")
	if csrf == "" || !strings.Contains(p.body, spEntityID) {
		t.Fatalf("logout page:\n%s", p.body)
	}
	if p := f.post(f.server.URL+"/idp/logout", url.Values{"csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Fatalf("a forged sign-out form must be refused, got %d", p.status)
	}
	q := f.redirectQuery(f.post(f.server.URL+"/idp/logout", url.Values{"csrf": {csrf}}))
	req, err := f.sp.ValidateLogoutRequest(context.Background(), f.trusted, saml.InboundMessage{RawQuery: q})
	if err != nil {
		t.Fatalf("Lanyard refuses the LogoutRequest: %v", err)
	}
	if req.NameID != a.NameID || len(req.SessionIndexes) != 1 || req.SessionIndexes[0] != a.SessionIndex {
		t.Errorf("LogoutRequest names %+v %q; the assertion had %+v %q", req.NameID, req.SessionIndexes, a.NameID, a.SessionIndex)
	}
	resp, err := f.sp.MakeLogoutResponse(f.trusted, req, saml.StatusSuccess, "")
	if err != nil {
		t.Fatal(err)
	}
	p = f.get(resp.URL)
	if p.status != http.StatusOK || !strings.Contains(p.body, "You are signed out") || !strings.Contains(p.body, spEntityID+": signed out.") {
		t.Fatalf("expected the signed-out page, got %d:\n%s", p.status, p.body)
	}
	// The same response again is not accepted.
	if p := f.get(resp.URL); p.status != http.StatusBadRequest {
		t.Errorf("a replayed LogoutResponse: %d", p.status)
	}
	if p := f.startSSO(saml.AuthnRequestOptions{}); !strings.Contains(p.body, `<label for="username">`) {
		t.Errorf("after logout, SSO should ask for the password again")
	}
}

// second adds a second SP (its own key) to the fixture, signs the browser
// in to it silently, and returns it.
func (f *fixture) second() *saml.ServiceProvider {
	f.t.Helper()
	sp2 := &saml.ServiceProvider{
		EntityID: "https://two.example.com/sp", ACSURL: "https://two.example.com/acs", SLOURL: "https://two.example.com/slo",
		SigningKeys: []saml.KeyPair{{Signer: otherKey, Certificate: otherCert}},
		Requests:    saml.NewMemoryRequestStore(), Replay: saml.NewMemoryReplayCache(),
	}
	md, err := sp2.Metadata(saml.SPMetadataOptions{})
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.idp.TrustSPMetadata(md); err != nil {
		f.t.Fatal(err)
	}
	msg, err := sp2.MakeAuthnRequest(context.Background(), f.trusted, saml.AuthnRequestOptions{BrowserBinding: binding})
	if err != nil {
		f.t.Fatal(err)
	}
	p := f.get(msg.URL)
	if formAction(p.body) != sp2.ACSURL {
		f.t.Fatalf("expected a silent login to the second SP:\n%s", p.body)
	}
	if _, err := sp2.ValidateResponse(context.Background(), f.trusted, saml.ResponseInput{SAMLResponse: hidden(p.body, "SAMLResponse"), BrowserBinding: binding}); err != nil {
		f.t.Fatal(err)
	}
	return sp2
}

// queryAt checks p redirects to endpoint and returns the raw query.
func queryAt(t *testing.T, p page, endpoint string) string {
	t.Helper()
	u, err := url.Parse(p.location)
	if p.status != http.StatusFound || err != nil || u.Scheme+"://"+u.Host+u.Path != endpoint {
		t.Fatalf("expected a redirect to %s, got %d %q:\n%s", endpoint, p.status, p.location, p.body)
	}
	return u.RawQuery
}

// A logout started by one SP signs the browser out of the other SPs of
// the session before the IdP answers it; a failure there makes the answer
// PartialLogout.
func TestSPInitiatedLogoutPropagates(t *testing.T) {
	for _, status := range []string{saml.StatusSuccess, saml.StatusPartialLogout} {
		t.Run(status[strings.LastIndex(status, ":")+1:], func(t *testing.T) {
			f := newFixture(t, nil)
			a := f.signIn()
			sp2 := f.second()
			msg, err := f.sp.MakeLogoutRequest(context.Background(), f.trusted, saml.LogoutRequestOptions{NameID: a.NameID, SessionIndex: a.SessionIndex, BrowserBinding: binding, RelayState: "r1"})
			if err != nil {
				t.Fatal(err)
			}
			// First the other SP is asked...
			q := queryAt(t, f.get(msg.URL), sp2.SLOURL)
			req, err := sp2.ValidateLogoutRequest(context.Background(), f.trusted, saml.InboundMessage{RawQuery: q})
			if err != nil {
				t.Fatalf("the second SP refuses the LogoutRequest: %v", err)
			}
			resp, err := sp2.MakeLogoutResponse(f.trusted, req, status, "")
			if err != nil {
				t.Fatal(err)
			}
			// ...then the SP that started gets its answer.
			res, err := f.sp.ValidateLogoutResponse(context.Background(), f.trusted, saml.InboundMessage{RawQuery: queryAt(t, f.get(resp.URL), spSLO)}, binding)
			if status == saml.StatusSuccess {
				if err != nil || res.RelayState != "r1" {
					t.Fatalf("LogoutResponse: %v %+v", err, res)
				}
				return
			}
			var e *saml.Error
			if !errors.As(err, &e) || e.SubStatusCode != saml.StatusPartialLogout {
				t.Fatalf("expected PartialLogout, got %v", err)
			}
		})
	}
}

func TestIdPInitiatedLogoutChain(t *testing.T) {
	f := newFixture(t, nil)
	f.signIn()
	sp2 := f.second()
	p := f.get(f.server.URL + "/idp/logout")
	q := queryAt(t, f.post(f.server.URL+"/idp/logout", url.Values{"csrf": {hidden(p.body, "csrf")}}), spSLO)
	for _, sp := range []*saml.ServiceProvider{f.sp, sp2} {
		req, err := sp.ValidateLogoutRequest(context.Background(), f.trusted, saml.InboundMessage{RawQuery: q})
		if err != nil {
			t.Fatalf("%s refuses the LogoutRequest: %v", sp.EntityID, err)
		}
		resp, err := sp.MakeLogoutResponse(f.trusted, req, saml.StatusSuccess, "")
		if err != nil {
			t.Fatal(err)
		}
		p = f.get(resp.URL)
		if sp == f.sp {
			q = queryAt(t, p, sp2.SLOURL)
		}
	}
	if !strings.Contains(p.body, spEntityID+": signed out.") || !strings.Contains(p.body, sp2.EntityID+": signed out.") {
		t.Fatalf("the final page should list both SPs:\n%s", p.body)
	}
}
