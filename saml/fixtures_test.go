package saml

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Fixture shapes of real IdPs, signed on the fly with test keys.

var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	testSPEntity  = "https://sp.example.com/t/acme/saml/metadata"
	testACS       = "https://sp.example.com/t/acme/saml/acs"
	testIdPEntity = "https://idp.example.com/saml"
	testReqID     = "_req1234567890abcdef"
	testBinding   = "browser-binding-secret"
)

type fixture struct {
	style        string // okta, adfs, entra, ssp
	respID, asID string
	inResponseTo string // on Response and SubjectConfirmationData; "-" for none
	destination  string // "-" for none
	recipient    string
	audience     string
	issuer       string
	respIssuer   string
	issueInstant time.Time
	notBefore    time.Time
	notOnOrAfter time.Time
	scdNotAfter  time.Time
	nameID       string // raw XML content
	status       string // raw XML of the Status element content; "" success
	attrs        int    // number of group values
	extra        string // raw XML inserted after Subject in the assertion
}

func defaultFixture(style string) fixture {
	return fixture{
		style:        style,
		respID:       "_resp" + style + "0001",
		asID:         "_as" + style + "0001",
		inResponseTo: testReqID,
		destination:  testACS,
		recipient:    testACS,
		audience:     testSPEntity,
		issuer:       testIdPEntity,
		respIssuer:   testIdPEntity,
		issueInstant: testNow.Add(-5 * time.Second),
		notBefore:    testNow.Add(-5 * time.Minute),
		notOnOrAfter: testNow.Add(5 * time.Minute),
		scdNotAfter:  testNow.Add(5 * time.Minute),
		nameID:       "alice@example.com",
		attrs:        3,
	}
}

type shape struct {
	pp, ap       string // protocol and assertion prefixes with colon
	respDecl     string // namespace declarations on Response
	respIssDecl  string // on the Response's Issuer
	asDecl       string // on the Assertion
	typed        bool   // xsi:type on attribute values
	dsPrefix     string
	inclPrefixes string
}

func shapeOf(style string) shape {
	switch style {
	case "okta":
		return shape{"saml2p:", "saml2:", ` xmlns:saml2p="` + nsSAMLP + `" xmlns:xs="http://www.w3.org/2001/XMLSchema"`, ` xmlns:saml2="` + nsSAML + `"`, ` xmlns:saml2="` + nsSAML + `" xmlns:xs="http://www.w3.org/2001/XMLSchema"`, true, "ds", "xs"}
	case "adfs":
		return shape{"samlp:", "", ` xmlns:samlp="` + nsSAMLP + `"`, ` xmlns="` + nsSAML + `"`, ` xmlns="` + nsSAML + `"`, false, "ds", ""}
	case "entra":
		return shape{"samlp:", "", ` xmlns:samlp="` + nsSAMLP + `"`, ` xmlns="` + nsSAML + `"`, ` xmlns="` + nsSAML + `"`, false, "-", ""}
	case "ssp":
		return shape{"samlp:", "saml:", ` xmlns:samlp="` + nsSAMLP + `" xmlns:saml="` + nsSAML + `"`, "", ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xs="http://www.w3.org/2001/XMLSchema"`, true, "ds", ""}
	}
	panic("unknown style " + style)
}

func ts(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// assertionXML returns the assertion (with a signature marker).
func (f fixture) assertionXML() string {
	s := shapeOf(f.style)
	a := s.ap
	var b strings.Builder
	fmt.Fprintf(&b, `<%sAssertion%s ID="%s" IssueInstant="%s" Version="2.0">`, a, s.asDecl, f.asID, ts(f.issueInstant))
	fmt.Fprintf(&b, `<%sIssuer>%s</%sIssuer><!--sig:%s-->`, a, f.issuer, a, f.asID)
	irt := ""
	if f.inResponseTo != "-" {
		irt = fmt.Sprintf(` InResponseTo="%s"`, f.inResponseTo)
	}
	fmt.Fprintf(&b, `<%sSubject><%sNameID Format="%s">%s</%sNameID><%sSubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><%sSubjectConfirmationData%s NotOnOrAfter="%s" Recipient="%s"/></%sSubjectConfirmation></%sSubject>`,
		a, a, NameIDFormatEmailAddress, f.nameID, a, a, a, irt, ts(f.scdNotAfter), f.recipient, a, a)
	fmt.Fprintf(&b, `<%sConditions NotBefore="%s" NotOnOrAfter="%s"><%sAudienceRestriction><%sAudience>%s</%sAudience></%sAudienceRestriction></%sConditions>`,
		a, ts(f.notBefore), ts(f.notOnOrAfter), a, a, f.audience, a, a, a)
	b.WriteString(f.extra)
	fmt.Fprintf(&b, `<%sAuthnStatement AuthnInstant="%s" SessionIndex="_sess%s" SessionNotOnOrAfter="%s"><%sAuthnContext><%sAuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</%sAuthnContextClassRef></%sAuthnContext></%sAuthnStatement>`,
		a, ts(f.issueInstant), f.asID, ts(testNow.Add(8*time.Hour)), a, a, a, a, a)
	if f.attrs > 0 {
		typ := ""
		if s.typed {
			typ = ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string"`
			if f.style == "ssp" {
				typ = ` xsi:type="xs:string"`
			}
		}
		fmt.Fprintf(&b, `<%sAttributeStatement>`, a)
		fmt.Fprintf(&b, `<%sAttribute Name="http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:uri" FriendlyName="email"><%sAttributeValue%s>alice@example.com</%sAttributeValue></%sAttribute>`, a, a, typ, a, a)
		fmt.Fprintf(&b, `<%sAttribute Name="givenname"><%sAttributeValue%s>Alice &amp; Co</%sAttributeValue></%sAttribute>`, a, a, typ, a, a)
		fmt.Fprintf(&b, `<%sAttribute Name="groups">`, a)
		for i := 0; i < f.attrs; i++ {
			fmt.Fprintf(&b, `<%sAttributeValue%s>group-%03d-engineering</%sAttributeValue>`, a, typ, i, a)
		}
		fmt.Fprintf(&b, `</%sAttribute></%sAttributeStatement>`, a, a)
	}
	fmt.Fprintf(&b, `</%sAssertion>`, a)
	return b.String()
}

// responseXML wraps body (an assertion, signed or not, or encrypted) in a
// Response with a signature marker.
func (f fixture) responseXML(body string) string {
	s := shapeOf(f.style)
	p := s.pp
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	dest := ""
	if f.destination != "-" {
		dest = fmt.Sprintf(` Destination="%s"`, f.destination)
	}
	irt := ""
	if f.inResponseTo != "-" {
		irt = fmt.Sprintf(` InResponseTo="%s"`, f.inResponseTo)
	}
	fmt.Fprintf(&b, `<%sResponse%s ID="%s" Version="2.0" IssueInstant="%s"%s%s>`, p, s.respDecl, f.respID, ts(f.issueInstant), dest, irt)
	fmt.Fprintf(&b, `<%sIssuer%s>%s</%sIssuer><!--sig:%s-->`, s.ap, s.respIssDecl, f.respIssuer, s.ap, f.respID)
	if f.status != "" {
		fmt.Fprintf(&b, `<%sStatus>%s</%sStatus>`, p, f.status, p)
	} else {
		fmt.Fprintf(&b, `<%sStatus><%sStatusCode Value="%s"/></%sStatus>`, p, p, statusSuccess, p)
	}
	b.WriteString(body)
	fmt.Fprintf(&b, `</%sResponse>`, p)
	return b.String()
}

func (f fixture) sigOpts() sigOpts {
	s := shapeOf(f.style)
	return sigOpts{dsPrefix: s.dsPrefix, prefixes: s.inclPrefixes, cert: idpCert}
}

// signedAssertion returns a Response (unsigned) holding a signed assertion.
func (f fixture) signedAssertion(tb testing.TB) string {
	tb.Helper()
	return stripMarkers(signXML(tb, f.responseXML(f.assertionXML()), f.asID, f.sigOpts()))
}

// signedBoth signs the assertion, then the response.
func (f fixture) signedBoth(tb testing.TB) string {
	tb.Helper()
	doc := signXML(tb, f.responseXML(f.assertionXML()), f.asID, f.sigOpts())
	return stripMarkers(signXML(tb, doc, f.respID, f.sigOpts()))
}

// signedResponse signs only the response.
func (f fixture) signedResponse(tb testing.TB) string {
	tb.Helper()
	return stripMarkers(signXML(tb, f.responseXML(stripMarkers(f.assertionXML())), f.respID, f.sigOpts()))
}

func stripMarkers(s string) string {
	for {
		i := strings.Index(s, "<!--sig:")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "-->")
		s = s[:i] + s[i+j+3:]
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// memStore is a RequestStore and ReplayCache for tests.
type testEnv struct {
	sp           *ServiceProvider
	idp          *IdentityProvider
	binding      string
	idpOfRequest string
}

func newEnv(tb testing.TB) *testEnv {
	tb.Helper()
	testKeys(tb)
	reqs := NewMemoryRequestStore()
	reqs.Now = func() time.Time { return testNow }
	sp := &ServiceProvider{
		EntityID:    testSPEntity,
		ACSURL:      testACS,
		SLOURL:      "https://sp.example.com/t/acme/saml/slo",
		SigningKeys: []KeyPair{{Signer: spKey, Certificate: spCert}},
		Now:         func() time.Time { return testNow },
		Requests:    reqs,
		Replay:      &MemoryReplayCache{used: map[string]time.Time{}, Now: func() time.Time { return testNow }},
	}
	if err := sp.Prepare(); err != nil {
		tb.Fatal(err)
	}
	idp := &IdentityProvider{
		EntityID:            testIdPEntity,
		SSO:                 []Endpoint{{Binding: BindingHTTPRedirect, Location: "https://idp.example.com/sso"}},
		SLO:                 []Endpoint{{Binding: BindingHTTPRedirect, Location: "https://idp.example.com/slo"}},
		SigningCertificates: []*x509.Certificate{idpCert2, idpCert, ecCert},
	}
	return &testEnv{sp: sp, idp: idp, binding: testBinding, idpOfRequest: testIdPEntity}
}

func (e *testEnv) pending(tb testing.TB) {
	tb.Helper()
	err := e.sp.Requests.Save(context.Background(), PendingRequest{ID: testReqID, ReturnTo: "/app/page?x=1", BrowserBinding: testBinding, IdPEntityID: e.idpOfRequest, Expires: testNow.Add(time.Minute)})
	if err != nil {
		tb.Fatal(err)
	}
}

func (e *testEnv) validate(xml string) (*Assertion, error) {
	return e.sp.ValidateResponse(context.Background(), e.idp, ResponseInput{SAMLResponse: b64(xml), RelayState: "rs", BrowserBinding: e.binding})
}
