package saml

import (
	"testing"
)

func TestValidateRealShapes(t *testing.T) {
	for _, style := range []string{"okta", "adfs", "entra", "ssp"} {
		for _, mode := range []string{"assertion", "both", "response"} {
			t.Run(style+"/"+mode, func(t *testing.T) {
				e := newEnv(t)
				e.pending(t)
				f := defaultFixture(style)
				var xml string
				switch mode {
				case "assertion":
					xml = f.signedAssertion(t)
				case "both":
					xml = f.signedBoth(t)
				case "response":
					xml = f.signedResponse(t)
				}
				a, err := e.validate(xml)
				if err != nil {
					t.Fatalf("validate: %v", err)
				}
				if a.NameID.Value != "alice@example.com" || a.ReturnTo != "/app/page?x=1" || a.InResponseTo != testReqID {
					t.Errorf("got %+v", a)
				}
				if g := a.Attribute("groups"); len(g) != 3 || g[2] != "group-002-engineering" {
					t.Errorf("groups %v", g)
				}
				if g := a.Attribute("givenname"); len(g) != 1 || g[0] != "Alice & Co" {
					t.Errorf("givenname %q", g)
				}
				if a.SessionIndex == "" || a.AuthnInstant.IsZero() || a.Issuer != testIdPEntity {
					t.Errorf("got %+v", a)
				}
			})
		}
	}
}
