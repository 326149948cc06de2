package saml

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// Worst inputs for every attacker-controlled count (issue 11, class 1),
// each just under the size cap, beside a normal signed response of the
// same size. BENCHMARKS.md records the figures.

// worstSize is the size of every generated input: just under the cap.
const worstSize = DefaultMaxSize - 8<<10

type worstCase struct {
	name string
	// doc builds the input of about size bytes.
	doc func(tb testing.TB, size int) string
}

// padTo repeats unit inside the assertion until the document is about size
// bytes, then signs the assertion (with the trusted key unless o says
// otherwise): the worst an attacker can do with a replayed or legitimately
// obtained SignedInfo is to make the digest run over such content.
func padded(tb testing.TB, size int, head, unit, tail string, o *sigOpts) string {
	tb.Helper()
	f := defaultFixture("okta")
	f.inResponseTo = "-"
	base := len(f.responseXML(f.assertionXML())) + len(head) + len(tail) + 2048
	var b strings.Builder
	b.WriteString(head)
	for n := 0; b.Len()+base+len(unit) < size; n++ {
		b.WriteString(unit)
	}
	b.WriteString(tail)
	f.extra = b.String()
	so := f.sigOpts()
	if o != nil {
		so = *o
	}
	return stripMarkers(signXML(tb, f.responseXML(f.assertionXML()), f.asID, so))
}

// withSignedInfo signs a small normal response, then puts junk into its
// SignedInfo (after the marker) and pads it to size: the signature no longer
// verifies, as for any attacker without the IdP's key.
func inSignedInfo(tb testing.TB, size int, at, unit string, prefixList bool) string {
	tb.Helper()
	f := defaultFixture("okta")
	f.inResponseTo = "-"
	f.attrs = 200 // the element digested is not trivial
	doc := f.signedAssertion(tb)
	var b strings.Builder
	for b.Len() == 0 || b.Len()+len(doc)+len(unit) < size {
		b.WriteString(unit)
	}
	if prefixList {
		return strings.Replace(doc, `PrefixList="xs"`, `PrefixList="xs `+b.String()+`"`, 1)
	}
	return strings.Replace(doc, at, at+b.String(), 1)
}

func worstCases() []worstCase {
	advice := func(decl string) string { return `<saml2:Advice` + decl + `>` }
	_ = advice
	const adviceEnd = `</saml2:Advice>`
	return []worstCase{
		{"prefixlist_distinct", func(tb testing.TB, size int) string {
			var b strings.Builder
			for i := 0; b.Len() < size-40<<10; i++ {
				fmt.Fprintf(&b, "p%d ", i)
			}
			return inSignedInfo(tb, size, "", b.String(), true)
		}},
		{"prefixlist_duplicates", func(tb testing.TB, size int) string {
			return inSignedInfo(tb, size, "", "xs ", true)
		}},
		{"references", func(tb testing.TB, size int) string {
			ref := `<ds:Reference URI="#_asokta0001"><ds:DigestMethod Algorithm="` + algSHA256 + `"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference>`
			return inSignedInfo(tb, size, `</ds:Reference>`, ref, false)
		}},
		{"transforms", func(tb testing.TB, size int) string {
			return inSignedInfo(tb, size, `<ds:Transforms>`, `<ds:Transform Algorithm="`+algEnveloped+`"/>`, false)
		}},
		{"attributes_per_element", func(tb testing.TB, size int) string {
			// 62 attributes, each in its own namespace, on every element.
			var decl, attrs strings.Builder
			for i := 0; i < 62; i++ {
				fmt.Fprintf(&decl, ` xmlns:q%d="urn:q:%d"`, i, i)
				fmt.Fprintf(&attrs, ` q%d:a="1"`, i)
			}
			return padded(tb, size, advice(decl.String()), `<x`+attrs.String()+`/>`, adviceEnd, nil)
		}},
		{"namespaces_in_scope", func(tb testing.TB, size int) string {
			// 496 declarations in scope (8 levels of 62); every element
			// uses the first one declared, the farthest from the end of a
			// backward scan.
			var open, close strings.Builder
			for l := 0; l < 8; l++ {
				open.WriteString(`<saml2:Advice`)
				for i := 0; i < 62; i++ {
					fmt.Fprintf(&open, ` xmlns:n%d="urn:n:%d"`, l*62+i, l*62+i)
				}
				open.WriteString(`>`)
				close.WriteString(adviceEnd)
			}
			return padded(tb, size, open.String(), `<n0:x n1:a="1" n2:b="22222222"/>`, close.String(), nil)
		}},
		{"nesting_depth", func(tb testing.TB, size int) string {
			// Chains 56 deep, each level declaring prefixes, the leaves
			// using the outermost one.
			var open, close strings.Builder
			for i := 0; i < 56; i++ {
				fmt.Fprintf(&open, `<n%d:e xmlns:n%d="urn:n:%d" xmlns:m%d="urn:m:%d">`, i, i, i, i, i)
			}
			for i := 55; i >= 0; i-- {
				fmt.Fprintf(&close, `</n%d:e>`, i)
			}
			return padded(tb, size, advice(""), open.String()+`<n0:x n1:a="1"/>`+close.String(), adviceEnd, nil)
		}},
		{"assertions", func(tb testing.TB, size int) string {
			return padded(tb, size, advice(""), `<saml2:Assertion Version="2.0" IssueInstant="2026-03-01T11:59:55Z"/>`, adviceEnd, nil)
		}},
		{"attribute_elements", func(tb testing.TB, size int) string {
			return padded(tb, size, `<saml2:AttributeStatement>`, `<saml2:Attribute Name="a"><saml2:AttributeValue>v</saml2:AttributeValue></saml2:Attribute>`, `</saml2:AttributeStatement>`, nil)
		}},
		{"untrusted_key", func(tb testing.TB, size int) string {
			// A large normal response signed by a key the IdP does not
			// have: it must cost one signature verification, no digest.
			o := defaultFixture("okta").sigOpts()
			o.key, o.cert = evilKey, evilCert
			return padded(tb, size, `<saml2:AttributeStatement><saml2:Attribute Name="groups">`, `<saml2:AttributeValue>group-engineering-000</saml2:AttributeValue>`, `</saml2:Attribute></saml2:AttributeStatement>`, &o)
		}},
	}
}

// normalOfSize is a valid signed response of about size bytes: group
// values, as a large directory sends them.
func normalOfSize(tb testing.TB, size int) string {
	f := defaultFixture("okta")
	f.inResponseTo = "-"
	f.attrs = 0
	base := len(f.signedAssertion(tb))
	f.attrs = 1
	per := len(f.signedAssertion(tb)) - base - 500
	f.attrs = max(1, (size-base-600)/max(per, 1))
	doc := f.signedAssertion(tb)
	for len(doc) > size && f.attrs > 1 {
		f.attrs -= f.attrs/50 + 1
		doc = f.signedAssertion(tb)
	}
	return doc
}

func benchValidate(b *testing.B, doc string, mustPass bool) {
	e := newEnv(b)
	e.sp.Replay = nil
	e.sp.AllowUnsolicited = true
	in := ResponseInput{SAMLResponse: b64(doc)}
	if _, err := e.sp.ValidateResponse(context.Background(), e.idp, in); err != nil && mustPass {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	b.ResetTimer()
	stop := reportCPU(b)
	for b.Loop() {
		e.sp.ValidateResponse(context.Background(), e.idp, in)
	}
	stop()
}

// BenchmarkWorstCase runs every worst input beside the normal response
// of the same size: go test ./saml -run '^$' -bench WorstCase -benchtime 20x
func BenchmarkWorstCase(b *testing.B) {
	testKeys(b)
	size := worstSize
	if v, err := strconv.Atoi(os.Getenv("LANYARD_WORST_SIZE")); err == nil && v > 0 {
		size = v // smaller inputs, to measure slow code
	}
	b.Run("normal", func(b *testing.B) { benchValidate(b, normalOfSize(b, size), true) })
	for _, c := range worstCases() {
		b.Run(c.name, func(b *testing.B) { benchValidate(b, c.doc(b, size), false) })
	}
}
