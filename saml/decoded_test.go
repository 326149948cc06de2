package saml

import (
	"context"
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
)

// TestVerifyDecodedResponseMatchesVerifyResponse: DecodeResponse followed
// by VerifyDecodedResponse refuses and accepts exactly what VerifyResponse
// does, with the same errors, for every kind of form value: valid ones
// with and without line breaks and spaces, base64 that is broken, cut
// short, of the wrong alphabet or unpadded, values at and past the size
// bounds of the base64 and of the XML, and documents that are not XML.
func TestVerifyDecodedResponseMatchesVerifyResponse(t *testing.T) {
	t.Parallel()
	const maxSize = 16 << 10
	testKeys(t)
	xml := defaultFixture("okta").signedAssertion(t)
	good := b64(xml)
	wrapped := func(s string, width int, sep string) string {
		var b strings.Builder
		for len(s) > width {
			b.WriteString(s[:width] + sep)
			s = s[width:]
		}
		return b.String() + s
	}
	// The largest value the base64 bound lets through, of spaces around
	// the good response, and one byte more.
	spaceBound := base64.StdEncoding.EncodedLen(maxSize) + maxSize/16 + 64
	padded := good + strings.Repeat(" ", spaceBound-len(good))
	// One byte of XML more than maxSize, in base64 short of its bound.
	tooLargeXML := b64(xml + "<!--" + strings.Repeat("x", maxSize+1-len(xml)-7) + "-->")
	if len(tooLargeXML) > spaceBound {
		t.Fatalf("the XML past its bound is %d bytes of base64, past that bound (%d)", len(tooLargeXML), spaceBound)
	}
	cases := map[string]string{
		"valid":                    good,
		"line breaks every 76":     wrapped(good, 76, "\r\n"),
		"newlines every 64":        wrapped(good, 64, "\n"),
		"spaces and tabs":          wrapped(good, 50, " \t"),
		"spaces up to the bound":   padded,
		"one space past the bound": padded + " ",
		"XML past its bound":       tooLargeXML,
		"base64 past the bound":    b64(strings.Repeat("x", maxSize*2)),
		"empty":                    "",
		"bad character":            "!" + good[1:],
		"url-safe alphabet":        strings.NewReplacer("+", "-", "/", "_").Replace(good),
		"no padding":               strings.TrimRight(b64(xml+"x"), "="),
		"cut short":                good[:len(good)-3],
		"trailing bits set":        b64("ab")[:2] + "B=",
		"vertical tab":             good[:10] + "\v" + good[10:],
		"non-breaking space":       good[:10] + "\u00a0" + good[10:],
		"not XML":                  b64("hello"),
		"not a Response":           b64("<a/>"),
		"a DTD":                    b64(`<!DOCTYPE x [<!ENTITY e "e">]><x/>`),
		"invalid UTF-8":            b64("<a>\xff</a>"),
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			in := ResponseInput{SAMLResponse: value, RelayState: "rs", BrowserBinding: testBinding}
			want, wantErr := verifyWith(t, maxSize, func(e *testEnv) (*VerifiedResponse, error) {
				return e.sp.VerifyResponse(context.Background(), e.idp, in)
			})
			got, gotErr := verifyWith(t, maxSize, func(e *testEnv) (*VerifiedResponse, error) {
				doc, err := e.sp.DecodeResponse(value)
				if err != nil {
					return nil, err
				}
				return e.sp.VerifyDecodedResponse(context.Background(), e.idp, doc, ResponseInput{RelayState: "rs", BrowserBinding: testBinding})
			})
			if errText(gotErr) != errText(wantErr) || ReasonOf(gotErr) != ReasonOf(wantErr) {
				t.Fatalf("decoded first: %v (%s); VerifyResponse: %v (%s)", gotErr, ReasonOf(gotErr), wantErr, ReasonOf(wantErr))
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("decoded first: %+v; VerifyResponse: %+v", got, want)
			}
		})
	}
	// Both must have been put to the test: logins, and refusals of each step.
	for name, want := range map[string]Reason{"valid": "", "spaces up to the bound": "", "one space past the bound": ReasonTooLarge,
		"XML past its bound": ReasonTooLarge, "bad character": ReasonMalformed} {
		_, err := verifyWith(t, maxSize, func(e *testEnv) (*VerifiedResponse, error) {
			return e.sp.VerifyResponse(context.Background(), e.idp, ResponseInput{SAMLResponse: cases[name], RelayState: "rs", BrowserBinding: testBinding})
		})
		if (err == nil) != (want == "") || ReasonOf(err) != want {
			t.Errorf("%s: VerifyResponse gives %v, want reason %q", name, err, want)
		}
	}
}

// verifyWith verifies and consumes with a fresh SP of the given size bound
// and a pending request.
func verifyWith(t *testing.T, maxSize int, verify func(*testEnv) (*VerifiedResponse, error)) (*Assertion, error) {
	t.Helper()
	e := newEnv(t)
	e.sp.MaxSize = maxSize
	e.sp.state.Store(nil)
	if err := e.sp.Prepare(); err != nil {
		t.Fatal(err)
	}
	e.pending(t)
	vr, err := verify(e)
	if err != nil {
		return nil, err
	}
	return vr.Consume(context.Background())
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
