package saml

import (
	"context"
	"testing"
)

// BenchmarkArtifactAnswer is the SP's work on an ArtifactResponse (SOAP
// envelope, its signature, the Response taken out and validated as a
// posted one), without the network; compare with
// BenchmarkValidateArtifactInner, the same Response posted.
func BenchmarkArtifactAnswer(b *testing.B) {
	e := newEnv(b)
	e.sp.Replay = nil
	e.sp.AllowUnsolicited = true
	st, _ := e.sp.prepared()
	o := defaultAR()
	f := defaultFixture("ssp")
	f.inResponseTo = "-"
	o.message = innerResponse(b, f)
	body := []byte(o.build(b, "_req"))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.sp.artifactAnswer(context.Background(), st, e.idp, body, 200, "https://idp.example.com/ars", "_req", ArtifactInput{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateArtifactInner validates the Response of
// BenchmarkArtifactAnswer posted through the HTTP-POST binding.
func BenchmarkValidateArtifactInner(b *testing.B) {
	e := newEnv(b)
	e.sp.Replay = nil
	e.sp.AllowUnsolicited = true
	f := defaultFixture("ssp")
	f.inResponseTo = "-"
	in := ResponseInput{SAMLResponse: b64(f.signedAssertion(b))}
	b.SetBytes(int64(len(in.SAMLResponse)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e.sp.ValidateResponse(context.Background(), e.idp, in); err != nil {
			b.Fatal(err)
		}
	}
}
