package ui

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/saml"
)

// TestAutoPostFrameAncestors: the auto-posting form of a session check may
// be framed by Lanyard's pages and the validated application origin only.
func TestAutoPostFrameAncestors(t *testing.T) {
	k := New(Options{})
	msg := &saml.Message{Binding: saml.BindingHTTPPOST, URL: "https://idp.example.com/sso", Param: "SAMLRequest", Value: "request"}
	for origin, want := range map[string]string{"": "frame-ancestors 'self';", "https://app.example.com": "frame-ancestors 'self' https://app.example.com;"} {
		rec := httptest.NewRecorder()
		k.WriteAutoPost(rec, msg, origin)
		csp := rec.Header().Get("Content-Security-Policy")
		if !strings.Contains(csp, want) || !strings.Contains(csp, "form-action https://idp.example.com;") {
			t.Errorf("origin %q: CSP %q, want %q and a form-action of the IdP only", origin, csp, want)
		}
		if !strings.Contains(rec.Body.String(), `name="SAMLRequest" value="request"`) {
			t.Errorf("origin %q: the form does not carry the message:\n%s", origin, rec.Body.String())
		}
	}
}
