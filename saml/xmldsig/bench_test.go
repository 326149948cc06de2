package xmldsig

import (
	"crypto/sha256"
	"testing"
)

// Benchmarks on a golden fixture (a 3 KB Response whose Assertion xmlsec1
// signed): parsing, canonicalisation of the assertion, and the whole
// verification. saml's BenchmarkValidateSignedAssertion measures the
// pipeline around them.

func goldenBench(b *testing.B) []byte {
	return goldenDocs(b)["assertion-exc"]
}

func BenchmarkParse(b *testing.B) {
	data := goldenBench(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		d, err := Parse(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		d.Release()
	}
}

func BenchmarkCanonicalize(b *testing.B) {
	d, err := Parse(goldenBench(b), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	els, sigs := signedElements(b, d)
	h := sha256.New()
	b.ReportAllocs()
	for b.Loop() {
		h.Reset()
		Canonicalize(h, els[0], ExclusiveC14N, nil, sigs[0])
	}
}

func BenchmarkVerifyEnveloped(b *testing.B) {
	cert, _ := goldenKeys(b)
	d, err := Parse(goldenBench(b), Limits{})
	if err != nil {
		b.Fatal(err)
	}
	els, sigs := signedElements(b, d)
	opts := &VerifyOptions{Keys: []Key{NewKey(cert)}, What: "Assertion"}
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyEnveloped(els[0], sigs[0], opts); err != nil {
			b.Fatal(err)
		}
	}
}
