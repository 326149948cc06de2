package web

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestUnsignedErrorResponseText posts unsigned SAML error responses whose
// StatusMessage says what an attacker would like Lanyard's refusal page to
// say: the page shows its own fixed text and none of theirs.
func TestUnsignedErrorResponseText(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.ssoTenant("acme")
	for _, msg := range []string{
		"Your account is suspended. Call +1 555 0100 now",
		"<a href=\"https://evil.example\">Re-enter your password here</a>",
		"line one\r\nSet-Cookie: x=1",
		"&lt;b&gt;escaped&lt;/b&gt; Visit evil.example",
		strings.Repeat("Visit evil.example ", 200),
		"\u202eelpmaxe.live tisiV",
	} {
		doc := fmt.Sprintf(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_e1" Version="2.0" IssueInstant="%s"><saml:Issuer>https://idp.example.org</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder"/><samlp:StatusMessage>%s</samlp:StatusMessage></samlp:Status></samlp:Response>`,
			e.clock.Now().UTC().Format(time.RFC3339), xmlText(msg))
		resp := e.post(e.client(), "/t/acme/saml/acs", url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte(doc))}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.body, "Your identity provider did not sign you in.") {
			t.Errorf("%.30q: %d\n%s", msg, resp.StatusCode, resp.body)
		}
		for _, leak := range []string{"evil", "555", "It said", "Set-Cookie", "escaped"} {
			if strings.Contains(resp.body, leak) {
				t.Errorf("%.30q: the refusal page carries %q from the unsigned message", msg, leak)
			}
		}
	}
}

// xmlText escapes s as XML character data.
func xmlText(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;").Replace(s)
}
