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
