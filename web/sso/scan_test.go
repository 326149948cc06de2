package sso

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The regular expressions the scans of scan.go replace: the scans must
// find exactly what these find.
var (
	oracleGUID            = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	oracleSignatureMethod = regexp.MustCompile(`SignatureMethod\s+Algorithm="([^"]{1,200})"`)
	oracleAssertionBody   = regexp.MustCompile(`(?s)<(?:[A-Za-z_][\w.-]*:)?Assertion\b.*?</(?:[A-Za-z_][\w.-]*:)?Assertion>`)
	oracleSignatureStart  = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?Signature\b`)
	oracleIssueInstant    = regexp.MustCompile(`<(?:[A-Za-z_][\w.-]*:)?(Assertion|Response)\b[^>]*?\sIssueInstant="([^"]+)"`)
)

// scanFragments are the pieces the documents of TestScansMatchTheirPatterns
// are made of: the names the scans look for, in every spelling that
// matters (prefixes valid and not, word and non-word followers, end tags
// with and without '>', white space of each kind, quotes, long values).
var scanFragments = []string{
	"<", "</", ">", "/>", ":", `"`, " ", "\t", "\n", "\r", "\f", "x", "1", "_", ".", "-", "é",
	"Assertion", "Response", "Signature", "SignatureMethod", "IssueInstant", "Algorithm=", `Algorithm="`,
	`IssueInstant="`, "saml:", "saml2:", "_p:", "1p:", ".p:", "-p:", "p.q-r:", "samlp:", "ds:",
	"<Assertion", "</Assertion>", "<saml:Assertion", "</saml:Assertion>", "<1x:Assertion", "</:Assertion>",
	"<:Assertion", "<AssertionIDRef", "<Assertion.x", "<Assertion-y", "<Assertion>", "<Assertion ",
	"<samlp:Response ", "<Response", "<ResponseX", "<ds:Signature", "<Signature>", "<SignatureValue>",
	`SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"`,
	"SignatureMethod\n\t Algorithm=\"a\"", `SignatureMethod Algorithm=""`, "SignatureMethodAlgorithm=\"b\"",
	`SignatureMethod Algorithm="` + strings.Repeat("v", 200) + `"`, `SignatureMethod Algorithm="` + strings.Repeat("w", 201) + `"`,
	` IssueInstant="2026-12-01T12:00:42Z"`, `	IssueInstant="2026-12-01T11:58:00Z"`, `IssueInstant="2026-12-01T12:00:00Z"`,
	` IssueInstant=""`, ` IssueInstant="a>b"`, ` ID="_a1" `, "7d2b6f0e-2c41-4a55-9a0e-6c5d3e1f2a4b",
}

func randomDocument(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(24) {
		b.WriteString(scanFragments[r.IntN(len(scanFragments))])
	}
	return b.String()
}

func TestScansMatchTheirPatterns(t *testing.T) {
	t.Parallel()
	docs := []string{"", entraShaped, adfsShaped, strings.ReplaceAll(entraShaped, "<Signature ", "<ds:Sig ")}
	r := rand.New(rand.NewPCG(21, 2))
	for range 12000 {
		docs = append(docs, randomDocument(r))
	}
	for _, doc := range docs {
		wantBody := oracleAssertionBody.FindString(doc)
		if got := firstAssertion(doc); got != wantBody {
			t.Fatalf("firstAssertion(%q) = %q, want %q", doc, got, wantBody)
		}
		if got, want := hasSignatureStart(doc), oracleSignatureStart.MatchString(doc); got != want {
			t.Fatalf("hasSignatureStart(%q) = %v, want %v", doc, got, want)
		}
		wantMethod := ""
		if m := oracleSignatureMethod.FindStringSubmatch(doc); m != nil {
			wantMethod = m[1]
		}
		if got := firstSignatureMethod(doc); got != wantMethod {
			t.Fatalf("firstSignatureMethod(%q) = %q, want %q", doc, got, wantMethod)
		}
		var want, got []string
		for _, m := range oracleIssueInstant.FindAllStringSubmatch(doc, -1) {
			want = append(want, m[1]+"="+m[2])
		}
		issueInstants(doc, func(element, value string) { got = append(got, element+"="+value) })
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("issueInstants(%q) = %q, want %q", doc, got, want)
		}
	}
}

func TestIsGUIDMatchesItsPattern(t *testing.T) {
	t.Parallel()
	base := "7d2b6f0e-2c41-4a55-9a0e-6c5d3e1f2a4B"
	cases := []string{"", base, base + "0", base[1:], strings.ToUpper(base), strings.ReplaceAll(base, "-", "_"), "g" + base[1:]}
	for i := range len(base) {
		for _, c := range []byte{'-', '0', 'f', 'F', 'g', ' ', 'x'} {
			cases = append(cases, base[:i]+string(c)+base[i+1:])
		}
	}
	for _, s := range cases {
		if got, want := isGUID(s), oracleGUID.MatchString(s); got != want {
			t.Errorf("isGUID(%q) = %v, want %v", s, got, want)
		}
	}
}

// BenchmarkLoginObservations is the cost a successful login pays for its
// observations, on a response of the shape the load tool posts.
func BenchmarkLoginObservations(b *testing.B) {
	doc := strings.Repeat(" ", 4000) + entraShaped
	for b.Loop() {
		_ = observeDocument(doc, time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))
	}
}
