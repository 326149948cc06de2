package saml

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// TestAssertionOutlivesItsBuffer: a validated Assertion, and the request a
// verified response answers, stay as they were while later responses,
// accepted and refused, reuse the buffer the first was decoded into (under
// the race detector the buffer is overwritten instead).
func TestAssertionOutlivesItsBuffer(t *testing.T) {
	for _, style := range []string{"okta", "adfs", "ssp"} {
		for _, mode := range []string{"assertion", "response", "both"} {
			t.Run(style+"/"+mode, func(t *testing.T) {
				e := newEnv(t)
				e.sp.AllowUnsolicited = true
				e.sp.Replay = nil
				e.pending(t)
				signed := func(f fixture) string {
					switch mode {
					case "response":
						return f.signedResponse(t)
					case "both":
						return f.signedBoth(t)
					}
					return f.signedAssertion(t)
				}
				first := defaultFixture(style)
				vr, err := e.sp.VerifyResponse(context.Background(), e.idp, ResponseInput{SAMLResponse: b64(signed(first)), RelayState: "rs", BrowserBinding: e.binding})
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("%#v", *vr.assertion)

				// Other responses, of the same size or smaller: an accepted
				// one and a refused one.
				other := defaultFixture(style)
				other.inResponseTo = "-"
				other.asID, other.respID = "_asOTHERxxxxxxxx", "_respOTHERxxxxxxx"
				other.nameID = "mallory@example.org"
				if a, err := e.validate(signed(other)); err != nil || a.NameID.Value != "mallory@example.org" {
					t.Fatalf("%v, %v", a, err)
				}
				other.audience = "https://other.example.net/"
				if _, err := e.validate(signed(other)); err == nil {
					t.Fatal("accepted a response for another audience")
				}

				if got := fmt.Sprintf("%#v", *vr.assertion); got != want {
					t.Fatalf("the assertion changed after its buffer was reused:\n got %s\nwant %s", got, want)
				}
				a, err := vr.Consume(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if a.InResponseTo != testReqID || a.ReturnTo != "/app/page?x=1" || a.NameID.Value != "alice@example.com" {
					t.Fatalf("consumed %+v", a)
				}
			})
		}
	}
}

// TestDetachCoversEveryString: eachString visits every string an
// Assertion holds, so that detach leaves none in the response's buffer. A
// field added to Assertion (or NameID, Attribute) fails here until
// eachString visits it.
func TestDetachCoversEveryString(t *testing.T) {
	var a Assertion
	n := 0
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			n++
			v.SetString(fmt.Sprintf("s%d", n))
		case reflect.Struct:
			if v.Type() == reflect.TypeOf(time.Time{}) {
				return
			}
			for i := 0; i < v.NumField(); i++ {
				fill(v.Field(i))
			}
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 3, 3))
			for i := 0; i < v.Len(); i++ {
				fill(v.Index(i))
			}
		case reflect.Bool, reflect.Int, reflect.Int64:
		default:
			t.Fatalf("Assertion holds a %s: teach eachString (and this test) about it", v.Type())
		}
	}
	fill(reflect.ValueOf(&a).Elem())
	var strs []string
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			strs = append(strs, v.String())
		case reflect.Struct:
			for i := 0; i < v.NumField(); i++ {
				walk(v.Field(i))
			}
		case reflect.Slice:
			for i := 0; i < v.Len(); i++ {
				walk(v.Index(i))
			}
		}
	}
	walk(reflect.ValueOf(a))
	visited := map[string]bool{}
	a.eachString(func(s *string) { visited[*s] = true })
	for _, s := range strs {
		if !visited[s] {
			t.Errorf("eachString misses the string field holding %q", s)
		}
	}
	if len(visited) != len(strs) {
		t.Errorf("eachString visits %d strings, the Assertion holds %d", len(visited), len(strs))
	}
	// detach keeps every value.
	before := fmt.Sprintf("%#v", a)
	extra := "irt"
	a.detach(&extra)
	if after := fmt.Sprintf("%#v", a); after != before || extra != "irt" {
		t.Errorf("detach changed the assertion:\n%s\n%s", before, after)
	}
}
