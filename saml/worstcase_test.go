package saml

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// TestWorstCaseInputs: every attacker-controlled count (worstCases) gets
// the expected answer. What each costs beside a normal signed response of
// the same size is measured by BenchmarkWorstCase, not asserted here: a
// timed assertion fails on a busy machine and proves nothing on a quiet one.
func TestWorstCaseInputs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds inputs of 256 KB")
	}
	testKeys(t)
	const size = 256 << 10
	want := map[string][]Reason{
		"prefixlist_distinct":    {ReasonTooLarge},
		"prefixlist_duplicates":  {ReasonSignatureInvalid},
		"references":             {ReasonSignatureInvalid},
		"transforms":             {ReasonSignatureInvalid},
		"attributes_per_element": {""},
		"namespaces_in_scope":    {""},
		"nesting_depth":          {""},
		"assertions":             {ReasonMultipleAssertions},
		"attribute_elements":     {""},
		"untrusted_key":          {ReasonUntrustedKey},
	}
	e := newEnv(t)
	e.sp.Replay = nil
	e.sp.AllowUnsolicited = true
	run := func(doc string) error {
		_, err := e.sp.ValidateResponse(context.Background(), e.idp, ResponseInput{SAMLResponse: b64(doc)})
		return err
	}
	if err := run(normalOfSize(t, size)); err != nil {
		t.Fatal(err)
	}
	for _, c := range worstCases() {
		t.Run(c.name, func(t *testing.T) {
			doc := c.doc(t, size)
			if len(doc) > size+4096 {
				t.Fatalf("input of %d bytes, built for %d", len(doc), size)
			}
			err := run(doc)
			if r := ReasonOf(err); !slices.Contains(want[c.name], r) {
				t.Errorf("reason %q, want one of %q: %v", r, want[c.name], err)
			}
		})
	}
}

// TestSignatureStructureBounds: the parts of a signature an attacker sizes
// are refused with a clear reason before any digest.
func TestSignatureStructureBounds(t *testing.T) {
	testKeys(t)
	f := defaultFixture("okta")
	signed := f.signedAssertion(t)
	prefixes := func(n int, dup bool) string {
		var b strings.Builder
		b.WriteString("xs")
		for i := 1; i < n; i++ {
			if dup {
				b.WriteString(" xs #default")
				continue
			}
			fmt.Fprintf(&b, " p%d", i)
		}
		return b.String()
	}
	cases := []struct {
		name     string
		from, to string
		want     Reason
	}{
		{"PrefixList at the cap", `PrefixList="xs"`, `PrefixList="` + prefixes(xmldsig.MaxInclusivePrefixes, false) + `"`, ReasonSignatureInvalid},
		{"PrefixList beyond the cap", `PrefixList="xs"`, `PrefixList="` + prefixes(xmldsig.MaxInclusivePrefixes+1, false) + `"`, ReasonTooLarge},
		{"PrefixList of duplicates is a set", `PrefixList="xs"`, `PrefixList="` + prefixes(10000, true) + `"`, ReasonSignatureInvalid},
		{"two References", `</ds:Reference>`, `</ds:Reference><ds:Reference URI="#_asokta0001"/>`, ReasonSignatureInvalid},
		{"three Transforms", `<ds:Transforms>`, `<ds:Transforms><ds:Transform Algorithm="` + algEnveloped + `"/>`, ReasonSignatureInvalid},
		{"SignedInfo too large", `<ds:SignedInfo>`, `<ds:SignedInfo>` + strings.Repeat(`<ds:Object/>`, xmldsig.MaxSignedInfoNodes), ReasonTooLarge},
		{"SignatureValue too long", `<ds:SignatureValue>`, `<ds:SignatureValue>` + strings.Repeat("AAAA", xmldsig.MaxSignatureValue/4), ReasonSignatureInvalid},
		{"DigestValue not a digest", `<ds:DigestValue>`, `<ds:DigestValue>AAAA`, ReasonSignatureInvalid},
		{"Assertion Issuer unknown", `<saml2:Issuer>` + testIdPEntity, `<saml2:Issuer>https://evil.example.com`, ReasonIssuerMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(signed, c.from) {
				t.Fatalf("%q not in the fixture", c.from)
			}
			e := newEnv(t)
			e.pending(t)
			_, err := e.validate(strings.Replace(signed, c.from, c.to, 1))
			if ReasonOf(err) != c.want {
				t.Errorf("reason %q, want %q: %v", ReasonOf(err), c.want, err)
			}
		})
	}
	t.Run("no trusted key", func(t *testing.T) {
		e := newEnv(t)
		e.pending(t)
		e.idp.SigningCertificates = nil
		if _, err := e.validate(signed); ReasonOf(err) != ReasonSignatureInvalid {
			t.Errorf("reason %q: %v", ReasonOf(err), err)
		}
	})
}
