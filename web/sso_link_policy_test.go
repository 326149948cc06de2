package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testidp"
)

// TestSecondIdPCannotTakeOverAccount: in a tenant with two IdPs, the
// second asserting the login of an account that came from the first is
// refused at the ACS: the page tells the user what to do, the audit trail
// tells the administrator which IdP owns the account and how to allow the
// link; the account keeps its email. Allowed by link_idps, it links.
func TestSecondIdPCannotTakeOverAccount(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, opts)
		ctx := t.Context()
		if _, err := e.admin.CreateTenant(ctx, "test", "acme", "Acme", nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := e.admin.SetTenant(ctx, "test", "acme", []string{"enabled=true", "jit=true", "idp_initiated=true"}); err != nil {
			t.Fatal(err)
		}
		var idps []*testidp.IdP
		for _, id := range []string{"https://idp-a.test", "https://idp-b.test"} {
			idp, err := testidp.New(id, testidp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			md, err := idp.Metadata(testidp.MetadataOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := e.admin.ImportIdP(ctx, "test", "acme", admin.IdPSource{Metadata: md}); err != nil {
				t.Fatal(err)
			}
			idps = append(idps, idp)
		}
		e.server.tenants.Invalidate()
		spMD := e.get(e.client(), "/t/acme/saml/metadata")
		m := regexp.MustCompile(`entityID="([^"]+)"`).FindStringSubmatch(spMD.body)
		if m == nil {
			t.Fatalf("SP metadata: %s", spMD.body)
		}
		login := func(idp *testidp.IdP, nameID, mail string) response {
			t.Helper()
			resp, err := idp.Response(testidp.Login{
				Destination: e.http.URL + "/t/acme/saml/acs", Audience: html.UnescapeString(m[1]), NameID: nameID,
				Attributes: [][2]string{{"uid", "alice"}, {"mail", mail}},
				Now:        e.clock.Now(), Validity: time.Hour,
			})
			if err != nil {
				t.Fatal(err)
			}
			return e.post(e.client(), "/t/acme/saml/acs", url.Values{"SAMLResponse": {resp}})
		}
		if r := login(idps[0], "a-alice", "alice@a.test"); r.StatusCode != http.StatusSeeOther {
			t.Fatalf("first login through IdP A: %d\n%s", r.StatusCode, r.body)
		}
		r := login(idps[1], "b-alice", "mallory@b.test")
		if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "signs in through another identity provider") || setCookie(r, sessionCookieName) != nil {
			t.Fatalf("takeover through IdP B: %d\n%s", r.StatusCode, r.body)
		}
		alice, err := e.admin.User(ctx, "acme", "alice")
		if err != nil || alice.Email != "alice@a.test" {
			t.Errorf("alice after the refusal: %+v, %v", alice, err)
		}
		var refused *lanyard.AuditEvent
		for _, ev := range e.auditEvents("sso.login") {
			if ev.Reason == "link_not_allowed" {
				refused = &ev
			}
		}
		if refused == nil || !strings.Contains(refused.Message, `belongs to identity provider "https://idp-a.test"`) || !strings.Contains(refused.Message, "link_idps=login@https://idp-b.test") {
			t.Errorf("audit of the refusal: %+v", refused)
		}

		if _, _, err := e.admin.SetTenant(ctx, "test", "acme", []string{"link_idps=login@https://idp-b.test"}); err != nil {
			t.Fatal(err)
		}
		e.server.tenants.Invalidate()
		if r := login(idps[1], "b-alice", "alice@b.test"); r.StatusCode != http.StatusSeeOther {
			t.Errorf("link allowed by policy: %d\n%s", r.StatusCode, r.body)
		}
	})
}
