package saml

import (
	"context"
	"testing"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

func BenchmarkValidateSignedAssertion(b *testing.B) {
	e := newEnv(b)
	e.sp.Replay = nil
	e.sp.AllowUnsolicited = true
	f := defaultFixture("okta")
	f.inResponseTo = "-"
	in := ResponseInput{SAMLResponse: b64(f.signedAssertion(b))}
	b.SetBytes(int64(len(in.SAMLResponse)))
	b.ReportAllocs()
	stop := reportCPU(b)
	for b.Loop() {
		if _, err := e.sp.ValidateResponse(context.Background(), e.idp, in); err != nil {
			b.Fatal(err)
		}
	}
	stop()
}

func BenchmarkParse(b *testing.B) {
	testKeys(b)
	f := defaultFixture("okta")
	doc := []byte(f.signedAssertion(b))
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	stop := reportCPU(b)
	for b.Loop() {
		d, err := parseXML(doc, xmldsig.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		d.Release()
	}
	stop()
}
