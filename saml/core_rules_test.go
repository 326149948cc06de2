package saml

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// signedMutated signs an adfs-shaped assertion after edit changed its XML
// (each edit replaces old by new once).
func signedMutated(tb testing.TB, f fixture, edits ...string) string {
	tb.Helper()
	as := f.assertionXML()
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(as, edits[i]) {
			tb.Fatalf("fixture has no %q", edits[i])
		}
		as = strings.Replace(as, edits[i], edits[i+1], 1)
	}
	return stripMarkers(signXML(tb, f.responseXML(as), f.asID, f.sigOpts()))
}

const endConditions = `</AudienceRestriction></Conditions>`

// TestCoreRules: rules of SAML Core an assertion must satisfy, several
// variants per rule; "" wants acceptance.
func TestCoreRules(t *testing.T) {
	const xsi = ` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"`
	cond := func(extra string) []string {
		return []string{endConditions, `</AudienceRestriction>` + extra + `</Conditions>`}
	}
	subject := `<Subject><NameID Format="` + NameIDFormatEmailAddress + `">alice@example.com</NameID>`
	for _, c := range []struct {
		name  string
		mod   func(*fixture)
		edits []string
		want  Reason
	}{
		// Conditions this SP does not understand (SAML Core 2.5.1).
		{"Condition with xsi:type", nil, cond(`<Condition` + xsi + ` xmlns:x="urn:x" xsi:type="x:Delegation"/>`), ReasonUnknownCondition},
		{"Condition without type", nil, cond(`<Condition/>`), ReasonUnknownCondition},
		{"foreign element in Conditions", nil, cond(`<x:Whatever xmlns:x="urn:x"/>`), ReasonUnknownCondition},
		{"unknown SAML element in Conditions", nil, cond(`<ProxyRestrictions/>`), ReasonUnknownCondition},
		{"OneTimeUse understood", nil, cond(`<OneTimeUse/>`), ""},
		{"ProxyRestriction understood", nil, cond(`<ProxyRestriction Count="0"/>`), ""},
		{"two OneTimeUse", nil, cond(`<OneTimeUse/><OneTimeUse/>`), ReasonMalformed},
		{"two ProxyRestriction", nil, cond(`<ProxyRestriction/><ProxyRestriction Count="1"/>`), ReasonMalformed},
		// Schema cardinalities.
		{"two NameIDs", nil, []string{subject, subject + `<NameID>mallory@example.com</NameID>`}, ReasonMalformed},
		{"NameID and BaseID", nil, []string{subject, subject + `<BaseID` + xsi + ` xmlns:x="urn:x" xsi:type="x:Id"/>`}, ReasonMalformed},
		{"NameID and EncryptedID", nil, []string{subject, subject + `<EncryptedID/>`}, ReasonMalformed},
		{"two Conditions", func(f *fixture) {
			f.extra = `<Conditions NotBefore="` + ts(testNow.Add(-time.Hour)) + `" NotOnOrAfter="` + ts(testNow.Add(time.Hour)) + `"><AudienceRestriction><Audience>` + testSPEntity + `</Audience></AudienceRestriction></Conditions>`
		}, nil, ReasonMalformed},
		{"two Subjects", nil, []string{`<Conditions `, `<Subject><NameID>bob</NameID></Subject><Conditions `}, ReasonMalformed},
		{"two Advice", func(f *fixture) { f.extra = `<Advice/><Advice/>` }, nil, ReasonMalformed},
		{"two Issuers", nil, []string{`<Subject>`, `<Issuer>` + testIdPEntity + `</Issuer><Subject>`}, ReasonMalformed},
		{"two SubjectConfirmationData", nil, []string{`Recipient="` + testACS + `"/>`, `Recipient="` + testACS + `"/><SubjectConfirmationData NotOnOrAfter="` + ts(testNow.Add(time.Hour)) + `" Recipient="https://evil.example.com/acs"/>`}, ReasonMalformed},
		// Empty or inverted windows, whatever the skew.
		{"Conditions inverted within skew", func(f *fixture) { f.notBefore, f.notOnOrAfter = testNow.Add(time.Minute), testNow.Add(-time.Minute) }, nil, ReasonMalformed},
		{"Conditions empty", func(f *fixture) { f.notBefore, f.notOnOrAfter = testNow, testNow }, nil, ReasonMalformed},
		{"Conditions one second", func(f *fixture) { f.notBefore, f.notOnOrAfter = testNow, testNow.Add(time.Second) }, nil, ""},
		{"SubjectConfirmationData inverted", nil, []string{` NotOnOrAfter="` + ts(testNow.Add(5*time.Minute)) + `" Recipient`, ` NotBefore="` + ts(testNow.Add(6*time.Minute)) + `" NotOnOrAfter="` + ts(testNow.Add(5*time.Minute)) + `" Recipient`}, ReasonMalformed},
		// Message lifetime: 60 s plus the 3 min skew by default.
		{"issued 4m ago", func(f *fixture) { f.issueInstant = testNow.Add(-4 * time.Minute) }, nil, ReasonExpired},
		{"issued 3m59s ago", func(f *fixture) { f.issueInstant = testNow.Add(-4*time.Minute + time.Second) }, nil, ""},
		{"issued an hour ago, window still open", func(f *fixture) { f.issueInstant = testNow.Add(-time.Hour) }, nil, ReasonExpired},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.pending(t)
			f := defaultFixture("adfs")
			if c.mod != nil {
				c.mod(&f)
			}
			_, err := e.validate(signedMutated(t, f, c.edits...))
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *Error
			if !errors.As(err, &se) || se.Reason != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
			if se.Reason != ReasonExpired && (se.Expected == "" && !strings.Contains(se.Message, "expected")) {
				t.Errorf("the message does not say what was expected: %s", se.Message)
			}
		})
	}
}

// TestMessageLifetime: only the Response's IssueInstant is old; a longer
// lifetime accepts it, the message names both figures.
func TestMessageLifetime(t *testing.T) {
	f := defaultFixture("adfs")
	xml := strings.Replace(signedMutated(t, f), `Version="2.0" IssueInstant="`+ts(f.issueInstant)+`" Destination`, `Version="2.0" IssueInstant="`+ts(testNow.Add(-10*time.Minute))+`" Destination`, 1)
	e := newEnv(t)
	e.pending(t)
	_, err := e.validate(xml)
	var se *Error
	if !errors.As(err, &se) || se.Reason != ReasonExpired || se.OutsideWindowBy != 6*time.Minute || !strings.Contains(se.Message, "Response is too old") || !strings.Contains(se.Message, "lifetime of 1m0s") {
		t.Fatalf("%v (diff %v)", err, se)
	}
	e = newEnv(t)
	e.sp = &ServiceProvider{EntityID: e.sp.EntityID, ACSURL: e.sp.ACSURL, Now: e.sp.Now, Requests: e.sp.Requests, MessageLifetime: 8 * time.Minute}
	e.pending(t)
	if _, err := e.validate(xml); err != nil {
		t.Fatal(err)
	}
}

// TestZeroSkew: a negative ClockSkew means none (the tenant's explicit 0).
func TestZeroSkew(t *testing.T) {
	f := defaultFixture("adfs")
	f.notOnOrAfter = testNow
	xml := signedMutated(t, f)
	for _, c := range []struct {
		skew time.Duration
		want Reason
	}{{0, ""}, {-1, ReasonExpired}, {time.Second, ""}} {
		e := newEnv(t)
		e.sp = &ServiceProvider{EntityID: e.sp.EntityID, ACSURL: e.sp.ACSURL, Now: e.sp.Now, Requests: e.sp.Requests, ClockSkew: c.skew}
		e.pending(t)
		if _, err := e.validate(xml); ReasonOf(err) != c.want {
			t.Errorf("skew %v: got %v, want %q", c.skew, err, c.want)
		}
	}
}
