package simplesamlphp

import (
	"encoding/base64"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// TestLoginProducesSignedResponse checks the harness itself: the IdP starts,
// trusts an SP, shows its login form, refuses a wrong password and answers a
// right one with a signed response carrying the user's attributes.
func TestLoginProducesSignedResponse(t *testing.T) {
	idp := Start(t, []User{{Username: "alice", Password: "alice-pass", Attributes: map[string][]string{
		"uid": {"alice"}, "mail": {"alice@example.com"}, "groups": {"staff", "eng"},
	}}})
	sp := SP{EntityID: "http://127.0.0.1:1/sp", ACSURL: "http://127.0.0.1:1/acs", NameIDAttribute: "uid",
		NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"}
	idp.TrustSP(t, sp)
	if md := idp.Metadata(t); !strings.Contains(string(md), idp.EntityID) {
		t.Fatalf("metadata lacks the entity ID %s", idp.EntityID)
	}
	start := idp.BaseURL + "/saml2/idp/SSOService.php?spentityid=" + url.QueryEscape(sp.EntityID)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar}
	if _, err := idp.Login(client, start, "alice", "wrong"); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("wrong password: got %v, want a refusal", err)
	}

	jar, _ = cookiejar.New(nil)
	client = &http.Client{Jar: jar}
	form, err := idp.Login(client, start, "alice", "alice-pass")
	if err != nil {
		t.Fatal(err)
	}
	if form.Action != sp.ACSURL {
		t.Fatalf("form posts to %q, want %q", form.Action, sp.ACSURL)
	}
	xml, err := base64.StdEncoding.DecodeString(form.Fields.Get("SAMLResponse"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"alice@example.com", "SignatureValue", `Destination="http://127.0.0.1:1/acs"`, ">eng<"} {
		if !strings.Contains(string(xml), want) {
			t.Errorf("response lacks %q", want)
		}
	}
	// A second login in the same browser reuses the IdP session: no form.
	form2, err := idp.Login(client, start, "", "")
	if err != nil || form2.Fields.Get("SAMLResponse") == "" {
		t.Fatalf("second login with a live IdP session: %v", err)
	}
}
