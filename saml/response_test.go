package saml

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateRealShapes(t *testing.T) {
	for _, style := range []string{"okta", "adfs", "entra", "ssp"} {
		for _, mode := range []string{"assertion", "both", "response"} {
			t.Run(style+"/"+mode, func(t *testing.T) {
				e := newEnv(t)
				e.pending(t)
				f := defaultFixture(style)
				var xml string
				switch mode {
				case "assertion":
					xml = f.signedAssertion(t)
				case "both":
					xml = f.signedBoth(t)
				case "response":
					xml = f.signedResponse(t)
				}
				a, err := e.validate(xml)
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				if a.NameID.Value != "alice@example.com" || a.ReturnTo != "/app/page?x=1" || a.InResponseTo != testReqID {
					t.Errorf("got %+v", a)
				}
				if g := a.Attribute("groups"); len(g) != 3 || g[2] != "group-002-engineering" {
					t.Errorf("groups %v", g)
				}
				if g := a.Attribute("givenname"); len(g) != 1 || g[0] != "Alice & Co" {
					t.Errorf("givenname %q", g)
				}
				if a.SessionIndex == "" || a.AuthnInstant.IsZero() || a.Issuer != testIdPEntity {
					t.Errorf("got %+v", a)
				}
			})
		}
	}
}

func TestStatusSubCode(t *testing.T) {
	e := newEnv(t)
	e.pending(t)
	f := defaultFixture("adfs")
	f.status = `<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:NoPassive"/></samlp:StatusCode><samlp:StatusMessage>no session</samlp:StatusMessage>`
	_, err := e.validate(stripMarkers(f.responseXML("")))
	var se *Error
	if !errors.As(err, &se) || se.Reason != ReasonStatusNotSuccess || se.SubStatusCode != "urn:oasis:names:tc:SAML:2.0:status:NoPassive" || se.StatusMessage != "no session" {
		t.Fatalf("%#v", err)
	}
	if !strings.Contains(se.Message, "NoPassive") || !strings.Contains(se.Message, "passive") {
		t.Errorf("message %q", se.Message)
	}
}

func TestIssuedInTheFuture(t *testing.T) {
	e := newEnv(t)
	e.pending(t)
	f := defaultFixture("okta")
	f.issueInstant = testNow.Add(10 * time.Minute)
	f.notBefore = f.issueInstant
	_, err := e.validate(f.signedAssertion(t))
	var se *Error
	if !errors.As(err, &se) || se.Reason != ReasonNotYetValid || se.ClockDiff != 7*time.Minute || !strings.Contains(se.Message, "behind") {
		t.Fatalf("%v", err)
	}
}

func TestResponseIssuer(t *testing.T) {
	testKeys(t)
	f := defaultFixture("entra")
	got, err := ResponseIssuer(b64(f.signedAssertion(t)))
	if err != nil || got != testIdPEntity {
		t.Fatalf("%q %v", got, err)
	}
}
