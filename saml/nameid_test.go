package saml

import (
	"context"
	"strings"
	"testing"
)

// TestNameIDExact: the NameID of an assertion and of a LogoutRequest are
// read by one rule: never trimmed, leading or trailing XML whitespace refused
// as malformed, Format and qualifiers taken as they are. The NameID an
// assertion yields, sent back in a LogoutRequest, comes out identical.
func TestNameIDExact(t *testing.T) {
	testKeys(t)
	const fmtAttr = `Format="` + NameIDFormatEmailAddress + `"`
	for _, tc := range []struct {
		name    string
		element string // attributes and content of the NameID start tag onwards
		want    NameID // zero: refused as malformed
	}{
		{"plain", fmtAttr + `>alice@example.com`, NameID{Value: "alice@example.com", Format: NameIDFormatEmailAddress}},
		{"inner spaces", fmtAttr + `>alice  smith`, NameID{Value: "alice  smith", Format: NameIDFormatEmailAddress}},
		{"comment joined", fmtAttr + `>ali<!--x-->ce`, NameID{Value: "alice", Format: NameIDFormatEmailAddress}},
		{"no-break space kept", fmtAttr + ">\u00a0alice", NameID{Value: "\u00a0alice", Format: NameIDFormatEmailAddress}},
		{"qualifiers exact", `Format=" urn:x " NameQualifier="idp " SPNameQualifier=" sp">alice`, NameID{Value: "alice", Format: " urn:x ", NameQualifier: "idp ", SPNameQualifier: " sp"}},
		{"leading space", fmtAttr + `> alice`, NameID{}},
		{"trailing space", fmtAttr + `>alice `, NameID{}},
		{"newlines around", fmtAttr + ">\n  alice\n", NameID{}},
		{"tab", fmtAttr + ">\talice", NameID{}},
		{"character reference", fmtAttr + `>alice&#xD;`, NameID{}},
		{"whitespace only", fmtAttr + `> `, NameID{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// In an assertion.
			e := newEnv(t)
			e.pending(t)
			f := defaultFixture("okta")
			doc := strings.Replace(f.responseXML(f.assertionXML()), `<saml2:NameID `+fmtAttr+`>alice@example.com`, `<saml2:NameID `+tc.element, 1)
			a, err := e.validate(stripMarkers(signXML(t, doc, f.asID, f.sigOpts())))
			refused := tc.want == NameID{}
			if refused {
				if ReasonOf(err) != ReasonMalformed {
					t.Fatalf("assertion: %v, want malformed", err)
				}
			} else if err != nil || a.NameID != tc.want {
				t.Fatalf("assertion: %+v, %v; want %+v", a, err, tc.want)
			}
			// In a LogoutRequest, both bindings.
			for _, binding := range []string{BindingHTTPRedirect, BindingHTTPPOST} {
				in := idpLogoutRequest(t, binding, func(x string) string {
					return strings.Replace(x, `<saml:NameID `+fmtAttr+`>alice@example.com`, `<saml:NameID `+tc.element, 1)
				})
				lr, err := e.sp.ValidateLogoutRequest(context.Background(), e.idp, in)
				if refused {
					if ReasonOf(err) != ReasonMalformed {
						t.Fatalf("LogoutRequest (%s): %v, want malformed", binding, err)
					}
					continue
				}
				if err != nil || lr.NameID != tc.want || lr.NameID != a.NameID {
					t.Fatalf("LogoutRequest (%s): %+v, %v; want %+v", binding, lr, err, tc.want)
				}
			}
			if refused {
				return
			}
			// The assertion's NameID as the SP writes it into a
			// LogoutRequest reads back identical.
			in := idpLogoutRequest(t, BindingHTTPPOST, func(x string) string {
				i := strings.Index(x, "<saml:NameID ")
				j := strings.Index(x, "</saml:NameID>") + len("</saml:NameID>")
				return x[:i] + nameIDXML(a.NameID) + x[j:]
			})
			lr, err := e.sp.ValidateLogoutRequest(context.Background(), e.idp, in)
			if err != nil || lr.NameID != a.NameID {
				t.Fatalf("round trip: %+v, %v; want %+v", lr, err, a.NameID)
			}
		})
	}
}

// TestSessionIndexExact: SessionIndex, matched between the assertion and a
// LogoutRequest, follows the NameID's rule.
func TestSessionIndexExact(t *testing.T) {
	testKeys(t)
	e := newEnv(t)
	e.pending(t)
	f := defaultFixture("okta")
	doc := strings.Replace(f.responseXML(f.assertionXML()), `SessionIndex="_sess`, `SessionIndex=" _sess`, 1)
	if _, err := e.validate(stripMarkers(signXML(t, doc, f.asID, f.sigOpts()))); ReasonOf(err) != ReasonMalformed {
		t.Fatalf("assertion: %v, want malformed", err)
	}
	for _, si := range []string{" _sess1", "_sess1\n", "\t_sess1"} {
		in := idpLogoutRequest(t, BindingHTTPPOST, func(x string) string {
			return strings.Replace(x, "<samlp:SessionIndex>_sess1<", "<samlp:SessionIndex>"+si+"<", 1)
		})
		if _, err := e.sp.ValidateLogoutRequest(context.Background(), e.idp, in); ReasonOf(err) != ReasonMalformed {
			t.Fatalf("LogoutRequest SessionIndex %q: %v, want malformed", si, err)
		}
	}
}
