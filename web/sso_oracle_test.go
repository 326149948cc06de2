package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/saml"
)

// TestSSOEncryptedAssertionOracle alters the ciphertext of encrypted
// assertions as an attacker probing for a decryption oracle would: every
// variant gives one reason, one page, one metrics label and one audit
// message; only the administrator's log line tells them apart.
func TestSSOEncryptedAssertionOracle(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{idpUser("judy", "judy@example.com", "Judy", "Crypt", nil)})
	tenant := e.addTenant("crypt", tenantOptions{encrypt: true, settings: []string{"jit=true"}})
	reference := regexp.MustCompile(`<p class="help">Reference for your administrator: .*</p>`)
	cipherValues := regexp.MustCompile(`<xenc:CipherValue>([^<]*)</xenc:CipherValue>`)
	// alter changes the i-th CipherValue of the response (0: the wrapped
	// key, 1: the content) with f.
	alter := func(raw string, i int, f func([]byte) []byte) string {
		m := cipherValues.FindAllStringSubmatchIndex(raw, -1)
		if len(m) != 2 {
			t.Fatalf("%d CipherValues in %s", len(m), raw)
		}
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(raw[m[i][2]:m[i][3]]), ""))
		if err != nil {
			t.Fatal(err)
		}
		return raw[:m[i][2]] + base64.StdEncoding.EncodeToString(f(b)) + raw[m[i][3]:]
	}
	variants := []struct{ name, logSays string }{
		{"wrong key", "(saml: "},
		{"bad padding", "padding"},
		{"unparseable plaintext", "in the decrypted assertion"},
	}
	var page, auditMessage string
	for _, v := range variants {
		b := newBrowser()
		form := e.spLogin(b, "crypt", "/enc", "judy")
		raw := decodeForm(t, form)
		// The IdP signs the Response too: an attacker drops that signature
		// (the assertion's own is inside the ciphertext).
		i, j := strings.Index(raw, "<ds:Signature"), strings.Index(raw, "</ds:Signature>")
		if i < 0 || j < i || strings.Index(raw, "EncryptedAssertion") < j {
			t.Fatalf("no Response signature before the EncryptedAssertion: %s", raw)
		}
		raw = raw[:i] + raw[j+len("</ds:Signature>"):]
		switch v.name {
		case "wrong key": // a key wrapped for no SP key
			raw = alter(raw, 0, func(k []byte) []byte { k[len(k)/2] ^= 0xff; return k })
		case "bad padding": // the last plaintext byte becomes > 16
			raw = alter(raw, 1, func(c []byte) []byte { c[len(c)-17] ^= 0xff; return c })
		case "unparseable plaintext": // the IV garbles the first characters
			raw = alter(raw, 1, func(c []byte) []byte { c[0] ^= 0xff; return c })
		}
		form.Fields.Set("SAMLResponse", base64.StdEncoding.EncodeToString([]byte(raw)))
		a := b.post(t, form)
		e.checkRefusal(t, tenant, a, http.StatusBadRequest, string(saml.ReasonEncryptedAssertionInvalid), "could not be accepted", "", v.logSays)
		ev := e.lastAudit(tenant)
		body := reference.ReplaceAllString(a.body, "") // its ID and time
		if page == "" {
			page, auditMessage = body, ev.Message
			continue
		}
		if body != page {
			t.Errorf("%s: the page differs from the first variant's:\n%s\n---\n%s", v.name, body, page)
		}
		if ev.Message != auditMessage {
			t.Errorf("%s: audit message %q differs from %q", v.name, ev.Message, auditMessage)
		}
	}
	traces, err := e.admin.LoginTraces(context.Background(), "crypt", "", 10, 0)
	if err != nil || len(traces) != len(variants) {
		t.Fatalf("%d traces, %v", len(traces), err)
	}
	for _, tr := range traces {
		if tr.Reason != string(saml.ReasonEncryptedAssertionInvalid) || tr.Message != auditMessage {
			t.Errorf("trace %s: %q", tr.Reason, tr.Message)
		}
	}
	_, metrics := newBrowser().get(t, e.base+"/metrics")
	want := fmt.Sprintf(`lanyard_login_attempts_total{method="sso",outcome="failure",reason="encrypted_assertion_invalid"} %d`, len(variants))
	if !strings.Contains(metrics, want) {
		t.Errorf("metrics lack %s", want)
	}
	for _, line := range strings.Split(metrics, "\n") {
		if strings.Contains(line, `outcome="failure"`) && !strings.Contains(line, "encrypted_assertion_invalid") && strings.Contains(line, `method="sso"`) {
			t.Errorf("another SSO failure label: %s", line)
		}
	}
}
