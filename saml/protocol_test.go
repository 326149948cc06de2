package saml

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

func TestAuthnRequestRedirect(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.idp.WantAuthnRequestsSigned = true
	m, err := e.sp.MakeAuthnRequest(ctx, e.idp, AuthnRequestOptions{ReturnTo: "/x", BrowserBinding: "b", RelayState: "rs", IsPassive: true, ForceAuthn: true,
		NameIDFormat: NameIDFormatPersistent, AuthnContextClassRefs: []string{"urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(m.URL)
	if u.Host != "idp.example.com" || u.Query().Get("SigAlg") != algRSASHA256 || u.Query().Get("RelayState") != "rs" {
		t.Fatalf("URL %s", m.URL)
	}
	rm, err := decodeRedirect(u.RawQuery, DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyRedirect(rm, []xmldsig.Key{xmldsig.NewKey(spCert)}, false, "AuthnRequest"); err != nil {
		t.Fatal(err)
	}
	doc, err := parseXML(rm.xml, xmldsig.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r := doc.Root()
	if !r.Is(nsSAMLP, "AuthnRequest") || r.AttrValue("ID") != m.ID || r.AttrValue("IsPassive") != "true" || r.AttrValue("ForceAuthn") != "true" ||
		r.AttrValue("AssertionConsumerServiceURL") != testACS || r.AttrValue("Destination") != "https://idp.example.com/sso" {
		t.Errorf("request %s", rm.xml)
	}
	if r.Child(nsSAMLP, "NameIDPolicy").AttrValue("Format") != NameIDFormatPersistent || r.Child(nsSAMLP, "RequestedAuthnContext") == nil {
		t.Errorf("request %s", rm.xml)
	}
	if r.Child(nsDSig, "Signature") != nil {
		t.Error("Redirect binding must not carry an XML signature")
	}
	// The pending request is stored with return path and binding.
	pr, err := e.sp.Requests.Take(ctx, m.ID)
	if err != nil || pr.ReturnTo != "/x" || pr.BrowserBinding != "b" || pr.IdPEntityID != testIdPEntity {
		t.Fatalf("pending %+v %v", pr, err)
	}
	// Tampering with the query breaks the signature.
	rm.signed = strings.Replace(rm.signed, "RelayState=rs", "RelayState=rx", 1)
	if err := verifyRedirect(rm, []xmldsig.Key{xmldsig.NewKey(spCert)}, false, "AuthnRequest"); ReasonOf(err) != ReasonSignatureInvalid {
		t.Fatalf("tampered: %v", err)
	}
}

func TestAuthnRequestPOST(t *testing.T) {
	e := newEnv(t)
	e.idp.SSO = append(e.idp.SSO, Endpoint{Binding: BindingHTTPPOST, Location: "https://idp.example.com/sso-post"})
	m, err := e.sp.MakeAuthnRequest(context.Background(), e.idp, AuthnRequestOptions{Binding: BindingHTTPPOST})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(m.Value)
	doc, err := parseXML(raw, xmldsig.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if sig, _ := signatureOf(doc.Root()); sig == nil {
		t.Fatal("unsigned")
	}
	// Our signer's output, checked by xmlsec1, not by our verifier.
	xmlsecVerify(t, raw, spCert)
	form := string(m.PostForm("n0nce"))
	if !strings.Contains(form, `action="https://idp.example.com/sso-post"`) || !strings.Contains(form, `name="SAMLRequest"`) ||
		!strings.Contains(form, `<script nonce="n0nce">`) {
		t.Errorf("form %s", form)
	}
}

func TestAuthnRequestUnsignedWhenIdPWantsSigned(t *testing.T) {
	e := newEnv(t)
	sp := &ServiceProvider{EntityID: testSPEntity, ACSURL: testACS, Requests: NewMemoryRequestStore()}
	e.idp.WantAuthnRequestsSigned = true
	if _, err := sp.MakeAuthnRequest(context.Background(), e.idp, AuthnRequestOptions{}); err == nil {
		t.Fatal("expected an error")
	}
}

// idpLogoutRequest builds a LogoutRequest as the IdP would send it.
func idpLogoutRequest(t *testing.T, binding string, mod func(string) string) InboundMessage {
	t.Helper()
	id := newID()
	xml := `<samlp:LogoutRequest xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `" ID="` + id + `" Version="2.0" IssueInstant="` + ts(testNow.Add(-10*time.Second)) + `" Destination="https://sp.example.com/t/acme/saml/slo"><saml:Issuer>` + testIdPEntity + `</saml:Issuer>` + sigMarkerFor(binding) + `<saml:NameID Format="` + NameIDFormatEmailAddress + `">alice@example.com</saml:NameID><samlp:SessionIndex>_sess1</samlp:SessionIndex></samlp:LogoutRequest>`
	if mod != nil {
		xml = mod(xml)
	}
	kp := KeyPair{Signer: idpKey, Certificate: idpCert}
	if binding == BindingHTTPRedirect {
		u, err := redirectURL("https://sp.example.com/t/acme/saml/slo", "SAMLRequest", []byte(xml), "rs", &kp)
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		return InboundMessage{RawQuery: pu.RawQuery}
	}
	// Signed by the test signer, over goxmldsig's canonical bytes.
	signed := signXML(t, strings.Replace(xml, xmldsig.SignatureMarker, "<!--sig:"+id+"-->", 1), id, sigOpts{key: idpKey, cert: idpCert})
	return InboundMessage{SAMLRequest: base64.StdEncoding.EncodeToString([]byte(signed)), RelayState: "rs"}
}

func sigMarkerFor(binding string) string {
	if binding == BindingHTTPPOST {
		return xmldsig.SignatureMarker
	}
	return ""
}

func TestIdPInitiatedLogout(t *testing.T) {
	for _, binding := range []string{BindingHTTPRedirect, BindingHTTPPOST} {
		t.Run(binding[strings.LastIndex(binding, ":")+1:], func(t *testing.T) {
			e := newEnv(t)
			e.idp.SLO = append(e.idp.SLO, Endpoint{Binding: BindingHTTPPOST, Location: "https://idp.example.com/slo-post"})
			ctx := context.Background()
			in := idpLogoutRequest(t, binding, nil)
			lr, err := e.sp.ValidateLogoutRequest(ctx, e.idp, in)
			if err != nil {
				t.Fatal(err)
			}
			if lr.NameID.Value != "alice@example.com" || len(lr.SessionIndexes) != 1 || lr.RelayState != "rs" || lr.Binding != binding {
				t.Errorf("%+v", lr)
			}
			if _, err := e.sp.ValidateLogoutRequest(ctx, e.idp, in); ReasonOf(err) != ReasonReplay {
				t.Errorf("replay: %v", err)
			}
			m, err := e.sp.MakeLogoutResponse(e.idp, lr, StatusSuccess, "")
			if err != nil {
				t.Fatal(err)
			}
			if m.Binding != binding {
				t.Errorf("binding %s", m.Binding)
			}
			if !strings.Contains(string(m.XML), `InResponseTo="`+lr.ID+`"`) {
				t.Errorf("response %s", m.XML)
			}
			if binding == BindingHTTPPOST {
				// Our signer's output, checked by xmlsec1.
				raw, _ := base64.StdEncoding.DecodeString(m.Value)
				xmlsecVerify(t, raw, spCert)
			}
		})
	}
}

func TestLogoutRequestRefusals(t *testing.T) {
	cases := []struct {
		name    string
		binding string
		mod     func(string) string
		in      func(InboundMessage) InboundMessage
		want    Reason
	}{
		{"wrong issuer", BindingHTTPRedirect, func(s string) string { return strings.Replace(s, testIdPEntity, "https://evil.example.com", 1) }, nil, ReasonIssuerMismatch},
		{"wrong destination", BindingHTTPPOST, func(s string) string { return strings.Replace(s, "/saml/slo", "/saml/other", 1) }, nil, ReasonDestinationMismatch},
		{"too old", BindingHTTPRedirect, func(s string) string {
			return strings.Replace(s, ts(testNow.Add(-10*time.Second)), ts(testNow.Add(-time.Hour)), 1)
		}, nil, ReasonExpired},
		{"from the future", BindingHTTPPOST, func(s string) string {
			return strings.Replace(s, ts(testNow.Add(-10*time.Second)), ts(testNow.Add(time.Hour)), 1)
		}, nil, ReasonNotYetValid},
		{"redirect unsigned", BindingHTTPRedirect, nil, func(m InboundMessage) InboundMessage {
			m.RawQuery = m.RawQuery[:strings.Index(m.RawQuery, "&SigAlg")]
			return m
		}, ReasonUnsigned},
		{"redirect RelayState changed", BindingHTTPRedirect, nil, func(m InboundMessage) InboundMessage {
			m.RawQuery = strings.Replace(m.RawQuery, "RelayState=rs", "RelayState=evil", 1)
			return m
		}, ReasonSignatureInvalid},
		{"redirect duplicated parameter", BindingHTTPRedirect, nil, func(m InboundMessage) InboundMessage {
			m.RawQuery += "&RelayState=x"
			return m
		}, ReasonMalformed},
		{"POST unsigned", BindingHTTPPOST, nil, func(m InboundMessage) InboundMessage {
			raw, _ := base64.StdEncoding.DecodeString(m.SAMLRequest)
			s := string(raw)
			s = s[:strings.Index(s, "<ds:Signature")] + s[strings.Index(s, "</ds:Signature>")+len("</ds:Signature>"):]
			m.SAMLRequest = base64.StdEncoding.EncodeToString([]byte(s))
			return m
		}, ReasonUnsigned},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			in := idpLogoutRequest(t, c.binding, c.mod)
			if c.in != nil {
				in = c.in(in)
			}
			_, err := e.sp.ValidateLogoutRequest(context.Background(), e.idp, in)
			if ReasonOf(err) != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
		})
	}
}

func TestSPInitiatedLogout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	m, err := e.sp.MakeLogoutRequest(ctx, e.idp, LogoutRequestOptions{NameID: NameID{Value: "alice@example.com", Format: NameIDFormatEmailAddress}, SessionIndex: "_s1", ReturnTo: "/bye", BrowserBinding: "b"})
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(m.URL)
	rm, err := decodeRedirect(u.RawQuery, DefaultMaxSize)
	if err != nil {
		t.Fatal(err)
	}
	if err := verifyRedirect(rm, []xmldsig.Key{xmldsig.NewKey(spCert)}, false, "LogoutRequest"); err != nil {
		t.Fatal(err)
	}
	// The IdP answers through the Redirect binding.
	answer := func(irt, status string) InboundMessage {
		xml := `<samlp:LogoutResponse xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `" ID="` + newID() + `" Version="2.0" IssueInstant="` + ts(testNow) + `" Destination="https://sp.example.com/t/acme/saml/slo" InResponseTo="` + irt + `"><saml:Issuer>` + testIdPEntity + `</saml:Issuer><samlp:Status><samlp:StatusCode Value="` + status + `"/></samlp:Status></samlp:LogoutResponse>`
		ru, _ := redirectURL("https://sp.example.com/t/acme/saml/slo", "SAMLResponse", []byte(xml), "", &KeyPair{Signer: idpKey, Certificate: idpCert})
		pu, _ := url.Parse(ru)
		return InboundMessage{RawQuery: pu.RawQuery}
	}
	if _, err := e.sp.ValidateLogoutResponse(ctx, e.idp, answer(m.ID, statusSuccess), "other"); ReasonOf(err) != ReasonBrowserMismatch {
		t.Fatalf("browser mismatch: %v", err)
	}
	m, _ = e.sp.MakeLogoutRequest(ctx, e.idp, LogoutRequestOptions{NameID: NameID{Value: "alice@example.com"}, ReturnTo: "/bye", BrowserBinding: "b"})
	res, err := e.sp.ValidateLogoutResponse(ctx, e.idp, answer(m.ID, statusSuccess), "b")
	if err != nil || res.ReturnTo != "/bye" {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := e.sp.ValidateLogoutResponse(ctx, e.idp, answer(m.ID, statusSuccess), "b"); ReasonOf(err) != ReasonInResponseToUnknown {
		t.Fatalf("second: %v", err)
	}
	m, _ = e.sp.MakeLogoutRequest(ctx, e.idp, LogoutRequestOptions{NameID: NameID{Value: "alice@example.com"}})
	if _, err := e.sp.ValidateLogoutResponse(ctx, e.idp, answer(m.ID, statusResponder), ""); ReasonOf(err) != ReasonStatusNotSuccess {
		t.Fatalf("status: %v", err)
	}
}
