package saml

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
	if !errors.As(err, &se) || se.Reason != ReasonStatusNotSuccess || se.SubStatusCode != "urn:oasis:names:tc:SAML:2.0:status:NoPassive" || se.StatusMessage != "no session" || se.InResponseTo != testReqID {
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
	if !errors.As(err, &se) || se.Reason != ReasonNotYetValid || se.OutsideWindowBy != 7*time.Minute || !strings.Contains(se.Message, "behind") {
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

// TestConcurrentValidation: one ServiceProvider and IdentityProvider shared
// by goroutines validating different responses (pooled trees must not leak
// between them).
func TestConcurrentValidation(t *testing.T) {
	e := newEnv(t)
	e.sp.AllowUnsolicited = true
	e.sp.Replay = nil
	var docs []string
	for i := 0; i < 8; i++ {
		f := defaultFixture([]string{"okta", "adfs", "entra", "ssp"}[i%4])
		f.inResponseTo = "-"
		f.nameID = fmt.Sprintf("user%d@example.com", i)
		f.attrs = 10 * i
		docs = append(docs, b64(f.signedAssertion(t)))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 20; r++ {
				i := (g + r) % len(docs)
				a, err := e.sp.ValidateResponse(context.Background(), e.idp, ResponseInput{SAMLResponse: docs[i]})
				if err != nil {
					errs <- err
					return
				}
				if a.NameID.Value != fmt.Sprintf("user%d@example.com", i) || len(a.Attribute("groups")) != 10*i {
					errs <- fmt.Errorf("doc %d: got %q with %d groups", i, a.NameID.Value, len(a.Attribute("groups")))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestStatusMessageTrust: an error response's StatusMessage counts as the
// IdP's words only when a signature of a trusted key covers the Response.
func TestStatusMessageTrust(t *testing.T) {
	const status = `<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/><samlp:StatusMessage>Call +1 555 0100 to unlock your account</samlp:StatusMessage>`
	f := defaultFixture("adfs")
	f.status = status
	signed := f.signedResponse(t)
	for _, tc := range []struct {
		name   string
		xml    string
		signed bool
	}{
		{"unsigned", stripMarkers(f.responseXML(stripMarkers(f.assertionXML()))), false},
		{"signed by the IdP", signed, true},
		{"signed by another key", stripMarkers(signXML(t, f.responseXML(stripMarkers(f.assertionXML())), f.respID, sigOpts{key: evilKey, cert: evilCert})), false},
		{"signed, message altered", strings.Replace(signed, "+1 555 0100", "+1 555 0199", 1), false},
		{"only the assertion signed", f.signedAssertion(t), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.pending(t)
			_, err := e.validate(tc.xml)
			var se *Error
			if !errors.As(err, &se) || se.Reason != ReasonStatusNotSuccess || se.StatusMessage == "" {
				t.Fatalf("%#v", err)
			}
			if se.StatusSigned != tc.signed {
				t.Errorf("StatusSigned %v, want %v", se.StatusSigned, tc.signed)
			}
		})
	}
}

// TestParseTimeSAMLAgreesWithTimeParse: the fast path reads exactly what
// time.Parse reads, to the same instant, and leaves everything else to it.
func TestParseTimeSAMLAgreesWithTimeParse(t *testing.T) {
	inputs := []string{
		"2026-03-01T12:00:00Z", "2026-12-31T23:59:59Z", "2024-02-29T00:00:00Z", "2025-02-29T00:00:00Z",
		"2026-04-31T10:00:00Z", "2026-13-01T10:00:00Z", "2026-00-01T10:00:00Z", "2026-01-00T10:00:00Z",
		"2026-01-32T10:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "1900-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
		"2026-01-01T1:00:00.5Z", "2026-01-01 10:00:00Z", "2026-01-01T10:00:00z", "+026-01-01T10:00:00Z",
		"-026-01-01T10:00:00Z", "2026-1-01T10:00:00ZZ", "2026-01-01T10:00:0aZ", "2026-01-01T10:00:00+",
		"２026-01-01T10:00:00Z", "2026-01-01T10:00:00.000Z"[:20],
	}
	// Every month's last days, in a leap and a common year.
	for _, y := range []string{"2023", "2024"} {
		for m := 1; m <= 12; m++ {
			for d := 27; d <= 32; d++ {
				inputs = append(inputs, fmt.Sprintf("%s-%02d-%02dT08:09:10Z", y, m, d))
			}
		}
	}
	for _, in := range inputs {
		want, werr := time.Parse(timeLayoutSAML, in)
		got, ok := parseTimeSAML(in)
		if ok && (werr != nil || !got.Equal(want) || got.Location() != want.Location()) {
			t.Errorf("%q: fast path %v, time.Parse %v, %v", in, got, want, werr)
		}
		if !ok && werr == nil && len(in) == 20 && in[19] == 'Z' && in[10] == 'T' {
			t.Errorf("%q: fast path declined what time.Parse reads as %v", in, want)
		}
		if got, err := parseTime(in); (err == nil) != (werr == nil) || err == nil && !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; time.Parse %v, %v", in, got, err, want, werr)
		}
	}
}
