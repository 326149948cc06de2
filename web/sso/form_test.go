package sso

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// formFragments make the bodies of TestParseQueryMatchesNetURL: separators,
// escapes valid and not (short, non-hex, at the end), '+', semicolons,
// empty keys and values, repeated keys, and the base64 of a response.
var formFragments = []string{
	"&", "=", ";", "+", "%", "%2B", "%2b", "%2F", "%3D", "%3d", "%4", "%G0", "%0G", "%%", "%20", "%C3%A9",
	"SAMLResponse", "RelayState", "SAMLart", "a", "b", "x y", "/t/acme?x=1", "PHNhbWxwOlJlc3BvbnNl",
	"SAMLResponse=", "RelayState=", "&&", "==",
}

func TestParseQueryMatchesNetURL(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(21, 3))
	queries := []string{"", "a", "a=1&a=2", strings.Repeat("QUJD%2B%2F%3D", 2000)}
	// Counts: around this parser's own bound and the standard library's
	// limit of 10,000 parameters, which must refuse alike.
	for _, n := range []int{maxFastFormParams - 1, maxFastFormParams, maxFastFormParams + 1, 9999, 10000, 10001, 50000} {
		queries = append(queries, strings.Repeat("a=%41&", n)+"SAMLResponse=QUJD", strings.Repeat("&", n))
	}
	for range 30000 {
		var b strings.Builder
		for range r.IntN(12) {
			b.WriteString(formFragments[r.IntN(len(formFragments))])
		}
		queries = append(queries, b.String())
	}
	for _, q := range queries {
		want, wantErr := url.ParseQuery(q)
		got, gotErr := parseQuery([]byte(q))
		if !reflect.DeepEqual(got, want) || errText(gotErr) != errText(wantErr) {
			t.Fatalf("parseQuery(%s) = %d keys, %v; url.ParseQuery: %d keys, %v", short(q), len(got), gotErr, len(want), wantErr)
		}
	}
}

// TestParseQueryCopiesValues: the values outlive the body's buffer, which
// its reader may reuse; none of them may point into it.
func TestParseQueryCopiesValues(t *testing.T) {
	t.Parallel()
	body := []byte("SAMLResponse=QUJD&RelayState=%2Fapp&SAMLart=AAQ&x=y&SAMLResponse=QUJD%2B%2F")
	want, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	got, err := parseQuery(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = '#'
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after the body was overwritten, parseQuery's values are %q, want %q", got, want)
	}
}

// TestReadACSFormValuesOutliveTheBody: the buffer a body was read into
// serves the next one; the values read from it stay as they were.
func TestReadACSFormValuesOutliveTheBody(t *testing.T) {
	t.Parallel()
	read := func(body string) *http.Request {
		t.Helper()
		r := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := readACSForm(r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	const first = "SAMLResponse=QUJD&RelayState=%2Fapp&x=y&SAMLResponse=QUJD%2B%2F"
	want, err := url.ParseQuery(first)
	if err != nil {
		t.Fatal(err)
	}
	r := read(first)
	for range 100 {
		read(strings.Repeat("#", len(first)))
	}
	if !reflect.DeepEqual(r.PostForm, want) {
		t.Fatalf("after more bodies were read, the first one's values are %q, want %q", r.PostForm, want)
	}
}

// short quotes q, cut to its first 80 bytes.
func short(q string) string {
	if len(q) > 80 {
		return fmt.Sprintf("%q... (%d bytes)", q[:80], len(q))
	}
	return fmt.Sprintf("%q", q)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestReadACSFormMatchesParseForm compares the request's forms after
// readACSForm and after ParseForm, for bodies and content types of every
// kind the ACS may see.
func TestReadACSFormMatchesParseForm(t *testing.T) {
	t.Parallel()
	bodies := []string{"", "SAMLResponse=QUJD%2B%2F%3D&RelayState=%2Fapp", "SAMLResponse=%ZZ", "a;b=1", "SAMLart=AAQ%3D",
		"SAMLResponse=QUJD&RelayState=/app&SAMLart=x", "SAML%52esponse=a+b&SAMLResponse=QUJD%2", "RelayState&SAMLResponse"}
	types := []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8", "", "text/plain", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded; =bad"}
	targets := []string{"/t/acme/saml/acs", "/t/acme/saml/acs?RelayState=q&x=%zz", "/t/acme/saml/acs?a=1"}
	for _, body := range bodies {
		for _, ct := range types {
			for _, target := range targets {
				for _, limit := range []int64{1 << 20, 8} {
					req := func() *http.Request {
						r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
						if ct != "" {
							r.Header.Set("Content-Type", ct)
						}
						r.Body = http.MaxBytesReader(httptest.NewRecorder(), r.Body, limit)
						return r
					}
					want, got := req(), req()
					wantErr := want.ParseForm()
					gotErr := readACSForm(got)
					if !reflect.DeepEqual(got.PostForm, want.PostForm) || !reflect.DeepEqual(got.Form, want.Form) || errText(gotErr) != errText(wantErr) {
						t.Errorf("body %q, type %q, %s, limit %d: readACSForm gives %v %v, %v; ParseForm %v %v, %v",
							body, ct, target, limit, got.PostForm, got.Form, gotErr, want.PostForm, want.Form, wantErr)
					}
				}
			}
		}
	}
}

func BenchmarkParseSAMLResponseForm(b *testing.B) {
	body := url.Values{"SAMLResponse": {samlResponseBase64}, "RelayState": {"/app"}}.Encode()
	b.SetBytes(int64(len(body)))
	query := []byte(body)
	for b.Loop() {
		_, _ = parseQuery(query)
	}
}

// BenchmarkReadACSForm reads a login's form as the ACS does.
func BenchmarkReadACSForm(b *testing.B) {
	body := url.Values{"SAMLResponse": {samlResponseBase64}, "RelayState": {"/app"}}.Encode()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if err := readACSForm(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodedSAMLResponse is the decode a login no longer does twice
// (the refusal paths still decode with it).
func BenchmarkDecodedSAMLResponse(b *testing.B) {
	r := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", nil)
	r.PostForm = url.Values{"SAMLResponse": {samlResponseBase64}}
	b.ReportAllocs()
	for b.Loop() {
		_ = decodedSAMLResponse(r)
	}
}

func BenchmarkParseSAMLResponseFormNetURL(b *testing.B) {
	body := url.Values{"SAMLResponse": {samlResponseBase64}, "RelayState": {"/app"}}.Encode()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		_, _ = url.ParseQuery(body)
	}
}

// samlResponseBase64 is the base64 of a 7 KB response-sized random text.
var samlResponseBase64 = func() string {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 7000)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}()
