package saml

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
)

// FuzzParseArtifact: a SAMLart value is accepted only as the exact base64
// of a 44-byte type 0x0004 artifact, and every refusal has a reason.
func FuzzParseArtifact(f *testing.F) {
	testKeys(f)
	for _, s := range []string{
		makeArtifact(f, 4, 0, testIdPEntity), makeArtifact(f, 4, 65535, testIdPEntity), makeArtifact(f, 1, 0, testIdPEntity),
		"", "AAQAAA==", strings.Repeat("A", 60), strings.Repeat("A", 59) + "=", "AAQ" + strings.Repeat("/", 57),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseArtifact(s)
		if err != nil {
			if ReasonOf(err) != ReasonArtifactInvalid {
				t.Fatalf("refusal without the artifact reason: %v", err)
			}
			return
		}
		b, derr := base64.StdEncoding.DecodeString(s)
		if derr != nil || len(b) != 44 || b[0] != 0 || b[1] != 4 || base64.StdEncoding.EncodeToString(b) != s || a.String() != s {
			t.Fatalf("accepted %q (%d bytes, %v)", s, len(b), derr)
		}
		if a.EndpointIndex != int(b[2])<<8|int(b[3]) || string(a.SourceID[:]) != string(b[4:24]) || string(a.MessageHandle[:]) != string(b[24:]) {
			t.Fatalf("parsed %+v from %x", a, b)
		}
	})
}

// FuzzArtifactResponse feeds arbitrary back-channel answers to the
// ArtifactResponse checks and the Response pipeline behind them: never a
// panic, never an error without a reason, never an acceptance of a
// document that does not carry the NameID accepted (no fuzzer forges an
// RSA signature).
func FuzzArtifactResponse(f *testing.F) {
	testKeys(f)
	const reqID = "_fuzzArtifactResolve"
	seeds := []string{defaultAR().build(f, reqID)}
	unsigned := defaultAR()
	unsigned.sign = false
	seeds = append(seeds, unsigned.build(f, reqID))
	empty := defaultAR()
	empty.message = "-"
	seeds = append(seeds, empty.build(f, reqID),
		`<SOAP-ENV:Envelope xmlns:SOAP-ENV="`+nsSOAP11+`"><SOAP-ENV:Body><SOAP-ENV:Fault><faultcode>SOAP-ENV:Server</faultcode><faultstring>x</faultstring></SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>`,
		`<SOAP-ENV:Envelope xmlns:SOAP-ENV="`+nsSOAP11+`" xml:lang="en"><SOAP-ENV:Header><h SOAP-ENV:mustUnderstand="1"/></SOAP-ENV:Header><SOAP-ENV:Body/></SOAP-ENV:Envelope>`)
	for _, s := range seeds {
		f.Add([]byte(s), 200)
	}
	e := newEnv(f)
	st, err := e.sp.prepared()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		e.pending(t)
		var a *Assertion
		vr, err := e.sp.artifactAnswer(context.Background(), st, e.idp, body, status, "https://idp.example.com/ars", reqID, ArtifactInput{BrowserBinding: testBinding})
		if err == nil {
			a, err = vr.Consume(context.Background())
		}
		if err == nil {
			if !strings.Contains(string(body), a.NameID.Value) {
				t.Fatalf("accepted an answer whose NameID %q is not in it", a.NameID.Value)
			}
			return
		}
		if ReasonOf(err) == "" {
			t.Fatalf("error without a reason: %v", err)
		}
	})
}
