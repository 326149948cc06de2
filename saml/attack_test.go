package saml

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// cut returns the substring of s from the first occurrence of start up to and
// including the first following end.
func cut(tb testing.TB, s, start, end string) string {
	tb.Helper()
	i := strings.Index(s, start)
	if i < 0 {
		tb.Fatalf("cut: %q not found", start)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		tb.Fatalf("cut: %q not found", end)
	}
	return s[i : i+j+len(end)]
}

// evilAssertion turns a signed okta-shaped assertion into the attacker's:
// other ID, other subject, signature removed.
func evilAssertion(tb testing.TB, signedAs string) string {
	tb.Helper()
	ev := signedAs
	if strings.Contains(ev, "<ds:Signature") {
		ev = strings.Replace(ev, cut(tb, signedAs, "<ds:Signature", "</ds:Signature>"), "", 1)
	}
	ev = strings.Replace(ev, `ID="_asokta0001"`, `ID="_evil0001"`, 1)
	return strings.Replace(ev, "alice@example.com</saml2:NameID>", "admin@example.com</saml2:NameID>", 1)
}

type attackCase struct {
	name  string
	xml   func(t *testing.T) string
	setup func(e *testEnv)
	want  []Reason // any of these
}

func TestAttacks(t *testing.T) {
	testKeys(t)
	f := defaultFixture("okta")
	signedAs := f.signedAssertion(t)  // Response unsigned, Assertion signed
	signedResp := f.signedResponse(t) // Response signed only
	asOf := func(doc string) string { return cut(t, doc, "<saml2:Assertion ", "</saml2:Assertion>") }
	respSigOf := func(doc string) string {
		i := strings.Index(doc, `URI="#_respokta0001"`)
		i = strings.LastIndex(doc[:i], "<ds:Signature ")
		return cut(t, doc[i:], "<ds:Signature", "</ds:Signature>")
	}
	origAs := asOf(signedAs)
	evil := evilAssertion(t, origAs)
	head := `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<saml2p:Response xmlns:saml2p="` + nsSAMLP + `" xmlns:xs="http://www.w3.org/2001/XMLSchema" ID="_respokta0001" Version="2.0" IssueInstant="2026-03-01T11:59:55Z" Destination="` + testACS + `" InResponseTo="` + testReqID + `"><saml2:Issuer xmlns:saml2="` + nsSAML + `">` + testIdPEntity + `</saml2:Issuer>`
	status := `<saml2p:Status><saml2p:StatusCode Value="` + statusSuccess + `"/></saml2p:Status>`
	tail := `</saml2p:Response>`
	mutate := func(doc, old, new string) func(*testing.T) string {
		return func(t *testing.T) string {
			if !strings.Contains(doc, old) {
				t.Fatalf("mutate: %q not in document", old)
			}
			return strings.Replace(doc, old, new, 1)
		}
	}
	withFixture := func(mod func(*fixture), sign func(fixture, testing.TB) string) func(*testing.T) string {
		return func(t *testing.T) string {
			g := defaultFixture("okta")
			mod(&g)
			return sign(g, t)
		}
	}
	signAs := func(g fixture, tb testing.TB) string { return g.signedAssertion(tb) }
	signBoth := func(g fixture, tb testing.TB) string { return g.signedBoth(tb) }
	signWith := func(o sigOpts) func(*testing.T) string {
		return func(t *testing.T) string {
			g := defaultFixture("okta")
			return stripMarkers(signXML(t, g.responseXML(g.assertionXML()), g.asID, o))
		}
	}

	cases := []attackCase{
		// XML Signature Wrapping, Somorovsky et al. 2012, figure numbering.
		{"XSW1 signed response moved into Object of a copied signature", func(t *testing.T) string {
			orig := signedResp
			sig := respSigOf(orig)
			inner := strings.Replace(orig[strings.Index(orig, "<saml2p:Response"):], sig, "", 1)
			wrapped := strings.Replace(sig, "</ds:Signature>", "<ds:Object>"+inner+"</ds:Object></ds:Signature>", 1)
			ev := strings.Replace(head, `ID="_respokta0001"`, `ID="_evilresp"`, 1)
			return ev + wrapped + status + evilAssertion(t, asOf(orig)) + tail
		}, nil, []Reason{ReasonMultipleAssertions, ReasonSignatureInvalid}},
		{"XSW2 signed response detached before the signature", func(t *testing.T) string {
			orig := signedResp
			sig := respSigOf(orig)
			inner := strings.Replace(orig[strings.Index(orig, "<saml2p:Response"):], sig, "", 1)
			ev := strings.Replace(head, `ID="_respokta0001"`, `ID="_evilresp"`, 1)
			return ev + inner + sig + status + evilAssertion(t, asOf(orig)) + tail
		}, nil, []Reason{ReasonMultipleAssertions, ReasonSignatureInvalid, ReasonMalformed}},
		{"XSW2b signed response's signature moved onto a forged response", func(t *testing.T) string {
			sig := respSigOf(signedResp)
			ev := strings.Replace(head, `ID="_respokta0001"`, `ID="_evilresp"`, 1)
			return ev + sig + status + evilAssertion(t, asOf(signedResp)) + tail
		}, nil, []Reason{ReasonSignatureInvalid}},
		{"XSW3 evil assertion before the signed one", func(t *testing.T) string {
			return head + status + evil + origAs + tail
		}, nil, []Reason{ReasonMultipleAssertions}},
		{"XSW4 signed assertion inside the evil one", func(t *testing.T) string {
			return head + status + strings.Replace(evil, "</saml2:Assertion>", origAs+"</saml2:Assertion>", 1) + tail
		}, nil, []Reason{ReasonMultipleAssertions}},
		{"XSW5 evil assertion carries the signature, signed one appended", func(t *testing.T) string {
			sig := cut(t, origAs, "<ds:Signature", "</ds:Signature>")
			ev := strings.Replace(evil, "</saml2:Issuer>", "</saml2:Issuer>"+sig, 1)
			return head + status + ev + tail[:0] + strings.Replace(origAs, sig, "", 1) + tail
		}, nil, []Reason{ReasonMultipleAssertions, ReasonSignatureInvalid}},
		{"XSW5b evil assertion with the copied signature alone", func(t *testing.T) string {
			sig := cut(t, origAs, "<ds:Signature", "</ds:Signature>")
			ev := strings.Replace(evil, "</saml2:Issuer>", "</saml2:Issuer>"+sig, 1)
			return head + status + ev + tail
		}, nil, []Reason{ReasonSignatureInvalid}},
		{"XSW5c evil assertion with the original ID and the copied signature", func(t *testing.T) string {
			sig := cut(t, origAs, "<ds:Signature", "</ds:Signature>")
			ev := strings.Replace(evil, "</saml2:Issuer>", "</saml2:Issuer>"+sig, 1)
			ev = strings.Replace(ev, `ID="_evil0001"`, `ID="_asokta0001"`, 1)
			return head + status + ev + tail
		}, nil, []Reason{ReasonSignatureInvalid}},
		{"XSW6 signed assertion inside Object of the evil assertion's signature", func(t *testing.T) string {
			sig := cut(t, origAs, "<ds:Signature", "</ds:Signature>")
			wrapped := strings.Replace(sig, "</ds:Signature>", "<ds:Object>"+strings.Replace(origAs, sig, "", 1)+"</ds:Object></ds:Signature>", 1)
			ev := strings.Replace(evil, "</saml2:Issuer>", "</saml2:Issuer>"+wrapped, 1)
			return head + status + ev + tail
		}, nil, []Reason{ReasonMultipleAssertions, ReasonSignatureInvalid}},
		{"XSW7 signed assertion in Extensions, evil assertion in place", func(t *testing.T) string {
			return head + `<saml2p:Extensions>` + origAs + `</saml2p:Extensions>` + status + evil + tail
		}, nil, []Reason{ReasonMultipleAssertions}},
		{"XSW8 unsigned copy inside Object of the evil assertion's signature", func(t *testing.T) string {
			sig := cut(t, origAs, "<ds:Signature", "</ds:Signature>")
			wrapped := strings.Replace(sig, "</ds:Signature>", "<ds:Object>"+strings.Replace(origAs, sig, "", 1)+"</ds:Object></ds:Signature>", 1)
			ev := strings.Replace(evil, "</saml2:Issuer>", "</saml2:Issuer>"+wrapped, 1)
			ev = strings.Replace(ev, `ID="_evil0001"`, `ID="_asokta0001"`, 1)
			return head + status + ev + tail
		}, nil, []Reason{ReasonMultipleAssertions, ReasonSignatureInvalid, ReasonDuplicateID}},
		{"signed assertion outside the Response", func(t *testing.T) string {
			return head + `<saml2p:Extensions>` + origAs + `</saml2p:Extensions>` + status + tail
		}, nil, []Reason{ReasonNoAssertion}},

		// Content injection.
		{"processing instruction inside NameID", mutate(signedAs, "alice@example.com</saml2:NameID>", "alice@example.com<?evil x?></saml2:NameID>"), nil, []Reason{ReasonMalformed}},
		{"NameID changed after signing", mutate(signedAs, "alice@example.com</saml2:NameID>", "admin@example.com</saml2:NameID>"), nil, []Reason{ReasonSignatureInvalid}},
		{"attribute value changed after signing", mutate(signedAs, "group-001-engineering", "group-001-admins"), nil, []Reason{ReasonSignatureInvalid}},
		{"CDATA changes the signed value", mutate(signedAs, "alice@example.com</saml2:NameID>", "admin<![CDATA[@example.com]]></saml2:NameID>"), nil, []Reason{ReasonSignatureInvalid}},
		{"Recipient changed after signing", mutate(signedAs, `Recipient="`+testACS, `Recipient="`+testACS+"x"), nil, []Reason{ReasonSignatureInvalid}},

		// Signatures and keys.
		{"signature stripped", func(t *testing.T) string {
			return strings.Replace(signedAs, cut(t, signedAs, "<ds:Signature", "</ds:Signature>"), "", 1)
		}, nil, []Reason{ReasonUnsigned}},
		{"signature by another key, no KeyInfo", signWith(sigOpts{key: evilKey}), nil, []Reason{ReasonSignatureInvalid}},
		{"signature by another key, trusted cert in KeyInfo", signWith(sigOpts{key: evilKey, cert: idpCert}), nil, []Reason{ReasonSignatureInvalid}},
		{"certificate only in KeyInfo", signWith(sigOpts{key: evilKey, cert: evilCert}), nil, []Reason{ReasonUntrustedKey}},
		{"reference to another ID", signWith(sigOpts{refURI: "#_respokta0001"}), nil, []Reason{ReasonSignatureInvalid}},
		{"reference to the whole document", signWith(sigOpts{refURI: "empty"}), nil, []Reason{ReasonSignatureInvalid}},
		{"RSA-SHA1 refused", signWith(sigOpts{sigAlg: algRSASHA1}), nil, []Reason{ReasonSHA1Refused}},
		{"SHA-1 digest refused", signWith(sigOpts{digestAlg: algSHA1}), nil, []Reason{ReasonSHA1Refused}},
		{"c14n with comments refused", signWith(sigOpts{c14n: algExcC14NComm}), nil, []Reason{ReasonUnsupportedAlgorithm}},
		{"ECDSA signature as DER refused", func(t *testing.T) string {
			g := defaultFixture("okta")
			doc := stripMarkers(signXML(t, g.responseXML(g.assertionXML()), g.asID, sigOpts{key: ecKey}))
			sv := cut(t, doc, "<ds:SignatureValue>", "</ds:SignatureValue>")
			return strings.Replace(doc, sv, "<ds:SignatureValue>MEQCIH"+strings.Repeat("A", 84)+"</ds:SignatureValue>", 1)
		}, nil, []Reason{ReasonSignatureInvalid}},
		{"two signatures on the assertion", func(t *testing.T) string {
			sig := cut(t, signedAs, "<ds:Signature", "</ds:Signature>")
			return strings.Replace(signedAs, sig, sig+sig, 1)
		}, nil, []Reason{ReasonSignatureInvalid}},
		{"signed response with a forged unsigned second assertion", func(t *testing.T) string {
			return strings.Replace(signedResp, "</saml2p:Response>", evil+"</saml2p:Response>", 1)
		}, nil, []Reason{ReasonMultipleAssertions}},
		{"signed response, assertion modified", mutate(signedResp, "alice@example.com</saml2:NameID>", "admin@example.com</saml2:NameID>"), nil, []Reason{ReasonSignatureInvalid}},

		// Document structure.
		{"duplicate IDs", mutate(signedAs, `<saml2p:Status>`, `<saml2p:Extensions><x:y xmlns:x="urn:x" ID="_asokta0001"/></saml2p:Extensions><saml2p:Status>`), nil, []Reason{ReasonDuplicateID}},
		{"two assertions", func(t *testing.T) string {
			return head + status + origAs + strings.Replace(origAs, "_asokta0001", "_asokta0002", 1) + tail
		}, nil, []Reason{ReasonMultipleAssertions}},
		{"no assertion", func(t *testing.T) string { return head + status + tail }, nil, []Reason{ReasonNoAssertion}},
		{"DOCTYPE", func(t *testing.T) string {
			return strings.Replace(signedAs, "\n<saml2p:Response", "\n<!DOCTYPE r [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>\n<saml2p:Response", 1)
		}, nil, []Reason{ReasonDTDForbidden}},
		{"billion laughs", func(t *testing.T) string {
			return `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><saml2p:Response xmlns:saml2p="` + nsSAMLP + `">&lol2;</saml2p:Response>`
		}, nil, []Reason{ReasonDTDForbidden}},
		{"undefined entity (XXE without DTD)", mutate(signedAs, "alice@example.com</saml2:NameID>", "&xxe;</saml2:NameID>"), nil, []Reason{ReasonDTDForbidden}},
		{"oversized", func(t *testing.T) string {
			return strings.Replace(signedAs, "<saml2p:Status>", "<!--"+strings.Repeat("x", 1<<20)+"--><saml2p:Status>", 1)
		}, nil, []Reason{ReasonTooLarge}},
		{"a million tiny elements", func(t *testing.T) string {
			return strings.Replace(signedAs, "<saml2p:Status>", "<saml2p:Extensions>"+strings.Repeat("<a/>", 200000)+"</saml2p:Extensions><saml2p:Status>", 1)
		}, nil, []Reason{ReasonTooLarge}},
		{"deeply nested", func(t *testing.T) string {
			return strings.Replace(signedAs, "<saml2p:Status>", "<saml2p:Extensions>"+strings.Repeat("<a>", 100)+strings.Repeat("</a>", 100)+"</saml2p:Extensions><saml2p:Status>", 1)
		}, nil, []Reason{ReasonTooLarge}},
		{"not XML", func(t *testing.T) string { return "hello" }, nil, []Reason{ReasonMalformed}},
		{"undeclared prefix", func(t *testing.T) string { return "<samlp:Response/>" }, nil, []Reason{ReasonMalformed}},
		{"UTF-16 declared", func(t *testing.T) string {
			return strings.Replace(signedAs, `encoding="UTF-8"`, `encoding="UTF-16"`, 1)
		}, nil, []Reason{ReasonMalformed}},
		{"wrong root", func(t *testing.T) string { return `<saml2:Assertion xmlns:saml2="` + nsSAML + `"/>` }, nil, []Reason{ReasonMalformed}},

		// Time windows.
		{"conditions expired", withFixture(func(g *fixture) { g.notOnOrAfter = testNow.Add(-4 * time.Minute) }, signAs), nil, []Reason{ReasonExpired}},
		{"conditions not yet valid", withFixture(func(g *fixture) { g.notBefore = testNow.Add(4 * time.Minute) }, signAs), nil, []Reason{ReasonNotYetValid}},
		{"bearer confirmation expired", withFixture(func(g *fixture) { g.scdNotAfter = testNow.Add(-10 * time.Minute) }, signAs), nil, []Reason{ReasonExpired}},

		// Addressing.
		{"Destination mismatch", withFixture(func(g *fixture) { g.destination = "https://other.example.com/acs" }, signAs), nil, []Reason{ReasonDestinationMismatch}},
		{"Destination missing on signed response", withFixture(func(g *fixture) { g.destination = "-" }, signBoth), nil, []Reason{ReasonDestinationMismatch}},
		{"Recipient http instead of https", withFixture(func(g *fixture) { g.recipient = strings.Replace(testACS, "https:", "http:", 1) }, signAs), nil, []Reason{ReasonRecipientMismatch}},
		{"Audience mismatch", withFixture(func(g *fixture) { g.audience = "https://other-sp.example.com" }, signAs), nil, []Reason{ReasonAudienceMismatch}},
		{"Issuer mismatch", withFixture(func(g *fixture) { g.issuer = "https://evil.example.com"; g.respIssuer = g.issuer }, signAs), nil, []Reason{ReasonIssuerMismatch}},
		{"Response Issuer mismatch", withFixture(func(g *fixture) { g.respIssuer = "https://evil.example.com" }, signAs), nil, []Reason{ReasonIssuerMismatch}},
		{"InResponseTo unknown", withFixture(func(g *fixture) { g.inResponseTo = "_unknown" }, signAs), nil, []Reason{ReasonInResponseToUnknown}},
		{"unsolicited not allowed", withFixture(func(g *fixture) { g.inResponseTo = "-" }, signAs), nil, []Reason{ReasonUnsolicitedNotAllowed}},
		{"InResponseTo differs between Response and assertion", mutate(signedAs, `Version="2.0" IssueInstant="2026-03-01T11:59:55Z" Destination="`+testACS+`" InResponseTo="`+testReqID+`"`, `Version="2.0" IssueInstant="2026-03-01T11:59:55Z" Destination="`+testACS+`" InResponseTo="_other"`), nil, []Reason{ReasonInResponseToUnknown}},
		{"unsigned Response claims an InResponseTo the signed assertion lacks", func(t *testing.T) string {
			g := defaultFixture("okta")
			g.inResponseTo = "-"
			doc := g.signedAssertion(t)
			return strings.Replace(doc, `Version="2.0" IssueInstant="2026-03-01T11:59:55Z" Destination="`+testACS+`"`, `Version="2.0" IssueInstant="2026-03-01T11:59:55Z" Destination="`+testACS+`" InResponseTo="`+testReqID+`"`, 1)
		}, nil, []Reason{ReasonInResponseToUnknown}},
		{"status Responder/AuthnFailed", withFixture(func(g *fixture) {
			g.status = `<saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><saml2p:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"/></saml2p:StatusCode>`
		}, signAs), nil, []Reason{ReasonStatusNotSuccess}},
		{"browser binding mismatch", func(t *testing.T) string { return signedAs }, func(e *testEnv) { e.binding = "other-browser" }, []Reason{ReasonBrowserMismatch}},
		{"request sent to another IdP", func(t *testing.T) string { return signedAs }, func(e *testEnv) { e.idpOfRequest = "https://other-idp.example.com" }, []Reason{ReasonIssuerMismatch}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			if c.setup != nil {
				c.setup(e)
			}
			e.pending(t)
			xml := c.xml(t)
			a, err := e.validate(xml)
			if err == nil {
				t.Fatalf("accepted: NameID %q", a.NameID.Value)
			}
			var se *Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *saml.Error", err)
			}
			for _, r := range c.want {
				if se.Reason == r {
					return
				}
			}
			t.Errorf("reason %q, want one of %v: %v", se.Reason, c.want, err)
		})
	}
}

func TestCommentInjection(t *testing.T) {
	// The IdP signs the NameID admin@evil.com.attacker.com; an attacker
	// inserts a comment. The signature still verifies (C14N drops comments)
	// and the value read must be the whole signed text.
	e := newEnv(t)
	e.pending(t)
	f := defaultFixture("okta")
	f.nameID = "admin@evil.com.attacker.com"
	doc := f.signedAssertion(t)
	doc = strings.Replace(doc, "admin@evil.com.attacker.com</saml2:NameID>", "admin@evil.com<!---->.attacker.com</saml2:NameID>", 1)
	doc = strings.Replace(doc, "group-001-engineering", "group-001<!-- x -->-engineering", 1)
	a, err := e.validate(doc)
	if err != nil {
		t.Fatal(err)
	}
	if a.NameID.Value != "admin@evil.com.attacker.com" {
		t.Errorf("NameID %q", a.NameID.Value)
	}
	if g := a.Attribute("groups"); g[1] != "group-001-engineering" {
		t.Errorf("group %q", g[1])
	}
}

func TestReplay(t *testing.T) {
	e := newEnv(t)
	e.sp.AllowUnsolicited = true
	f := defaultFixture("okta")
	f.inResponseTo = "-"
	doc := f.signedAssertion(t)
	if _, err := e.validate(doc); err != nil {
		t.Fatal(err)
	}
	_, err := e.validate(doc)
	if ReasonOf(err) != ReasonReplay {
		t.Fatalf("second use: %v", err)
	}
	// A solicited response replayed: the request is gone first.
	e.pending(t)
	g := defaultFixture("okta")
	g.asID = "_second"
	doc = g.signedAssertion(t)
	if _, err := e.validate(doc); err != nil {
		t.Fatal(err)
	}
	if _, err := e.validate(doc); ReasonOf(err) != ReasonInResponseToUnknown {
		t.Fatalf("second use: %v", err)
	}
}

func TestClockSkewMessages(t *testing.T) {
	for _, c := range []struct {
		name string
		mod  func(*fixture)
		want Reason
		diff time.Duration
	}{
		{"expired 4m, skew 3m", func(g *fixture) { g.notOnOrAfter = testNow.Add(-4 * time.Minute) }, ReasonExpired, time.Minute},
		{"not yet valid by 10m", func(g *fixture) {
			g.notBefore = testNow.Add(10 * time.Minute)
			g.notOnOrAfter = testNow.Add(15 * time.Minute)
		}, ReasonNotYetValid, 7 * time.Minute},
		{"within skew", func(g *fixture) { g.notOnOrAfter = testNow.Add(-2 * time.Minute); g.scdNotAfter = g.notOnOrAfter }, "", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.pending(t)
			g := defaultFixture("okta")
			c.mod(&g)
			_, err := e.validate(g.signedAssertion(t))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) || se.Reason != c.want || se.OutsideWindowBy != c.diff {
				t.Fatalf("got %v (diff %v), want %s diff %v", err, se.OutsideWindowBy, c.want, c.diff)
			}
			if !strings.Contains(se.Message, "clock") || !IsClockSkew(se.Reason) {
				t.Errorf("message does not mention clocks: %s", se.Message)
			}
		})
	}
}

func TestRecipientMessageMentionsProxy(t *testing.T) {
	e := newEnv(t)
	e.pending(t)
	g := defaultFixture("okta")
	g.recipient = strings.Replace(testACS, "https:", "http:", 1)
	_, err := e.validate(g.signedAssertion(t))
	var se *Error
	if !errors.As(err, &se) || se.Expected != testACS || se.Got != g.recipient || !strings.Contains(se.Message, "proxy") {
		t.Fatalf("got %#v", err)
	}
}

func TestUntrustedKeyMessage(t *testing.T) {
	e := newEnv(t)
	e.pending(t)
	g := defaultFixture("okta")
	doc := stripMarkers(signXML(t, g.responseXML(g.assertionXML()), g.asID, sigOpts{key: evilKey, cert: evilCert}))
	_, err := e.validate(doc)
	var se *Error
	if !errors.As(err, &se) || !strings.Contains(se.Message, Fingerprint(evilCert)) || !strings.Contains(se.Message, Fingerprint(idpCert)) {
		t.Fatalf("got %v", err)
	}
	if !errors.Is(err, &Error{Reason: ReasonUntrustedKey}) {
		t.Error("errors.Is by reason")
	}
}

// TestParserBounds: inputs built to make a parser work quadratically are
// refused or parsed quickly.
func TestParserBounds(t *testing.T) {
	var ids strings.Builder
	ids.WriteString(`<r>`)
	for i := 0; i < 40000; i++ {
		fmt.Fprintf(&ids, `<a ID="i%d"/>`, i)
	}
	ids.WriteString(`</r>`)
	var attrs strings.Builder
	attrs.WriteString(`<r`)
	for i := 0; i < 10000; i++ {
		fmt.Fprintf(&attrs, ` a%d="x"`, i)
	}
	attrs.WriteString(`/>`)
	var ns strings.Builder
	for i := 0; i < 60; i++ {
		ns.WriteString(`<e`)
		for j := 0; j < 60; j++ {
			fmt.Fprintf(&ns, ` xmlns:p%d="urn:%d"`, j, i)
		}
		ns.WriteString(`>`)
	}
	for _, c := range []struct {
		name string
		doc  string
		want Reason
	}{
		{"40000 distinct IDs", ids.String(), ""},
		{"10000 attributes", attrs.String(), ReasonTooLarge},
		{"3600 namespace declarations in scope", ns.String(), ReasonTooLarge},
	} {
		start := time.Now()
		_, err := parseXML([]byte(c.doc), xmldsig.Limits{MaxSize: 1 << 20})
		if ReasonOf(err) != c.want {
			t.Errorf("%s: %v", c.name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %v", c.name, d)
		}
	}
}
