package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/saml"
)

// TestSSOArtifactBindingWithSimpleSAMLphp: a full login through the
// HTTP-Artifact binding with a real IdP: the AuthnRequest asks for it, the
// IdP answers with a SAMLart, Lanyard resolves it over SOAP at the IdP's
// ArtifactResolutionService and opens the session; the same artifact is
// refused the second time, and a tenant without the setting refuses
// artifacts.
// Both engines: the artifacts' replay cache is the store's.
func TestSSOArtifactBindingWithSimpleSAMLphp(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) { testSSOArtifactBinding(t, engine) })
	}
}

func testSSOArtifactBinding(t *testing.T, engine string) {
	users := []simplesamlphp.User{
		idpUser("alice", "alice@example.com", "Alice", "Liddell", []string{"eng"}),
	}
	e := newSSOEnvWith(t, engine, users, simplesamlphp.Options{Artifact: true})
	art := e.addTenant("art", tenantOptions{settings: []string{"jit=true", "artifact_binding=true"}, artifactACS: true})

	t.Run("metadata advertises the artifact ACS", func(t *testing.T) {
		_, body := newBrowser().get(t, e.base+"/t/art/saml/metadata")
		for _, want := range []string{
			`<md:AssertionConsumerService Binding="` + saml.BindingHTTPPOST + `" Location="` + e.base + `/t/art/saml/acs" index="0" isDefault="true"/>`,
			`<md:AssertionConsumerService Binding="` + saml.BindingHTTPArtifact + `" Location="` + e.base + `/t/art/saml/acs" index="1"/>`,
		} {
			if !strings.Contains(body, want) {
				t.Fatalf("metadata lacks %s:\n%s", want, body)
			}
		}
	})

	b := newBrowser()
	deep := "/app/report?id=7&action=edit"
	start := e.base + "/t/art/saml/login?" + url.Values{"return_to": {deep}}.Encode()
	answer, err := e.idp.LoginArtifact(b.follow, start, "alice", "alice-pass")
	if err != nil {
		t.Fatalf("login at the IdP: %v", err)
	}
	if answer.Path != "/t/art/saml/acs" || answer.Query().Get("SAMLart") == "" || answer.Query().Has("SAMLResponse") {
		t.Fatalf("the IdP answered %s, want the ACS with a SAMLart", answer)
	}

	t.Run("login through the artifact", func(t *testing.T) {
		a := b.getACS(t, answer.String())
		if a.status != http.StatusSeeOther || a.location != deep || a.session == "" {
			t.Fatalf("ACS answered %d to %q (session cookie %t), want 303 to %q with a session\n%s", a.status, a.location, a.session != "", deep, a.body)
		}
		u := e.user(art, "alice")
		if u.Email != "alice@example.com" || !u.IdPSourced {
			t.Errorf("JIT account %+v", u)
		}
		ev := e.lastAudit(art)
		if ev.Outcome != lanyard.OutcomeSuccess || ev.Detail["idp"] != e.idp.EntityID {
			t.Errorf("audit event %+v", ev)
		}
	})

	t.Run("the same artifact again", func(t *testing.T) {
		a := b.getACS(t, answer.String())
		if a.status != http.StatusBadRequest || a.session != "" {
			t.Fatalf("ACS answered %d (session %t), want 400 without a session\n%s", a.status, a.session != "", a.body)
		}
		if ev := e.lastAudit(art); ev.Reason != string(saml.ReasonReplay) {
			t.Fatalf("refusal reason %q, want %s", ev.Reason, saml.ReasonReplay)
		}
	})

	t.Run("POSTed artifact, IdP session reused", func(t *testing.T) {
		answer, err := e.idp.LoginArtifact(b.follow, e.base+"/t/art/saml/login?return_to=/app/two", "alice", "alice-pass")
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{"SAMLart": {answer.Query().Get("SAMLart")}}
		if rs := answer.Query().Get("RelayState"); rs != "" {
			form.Set("RelayState", rs)
		}
		resp, err := b.noFollow.PostForm(e.base+"/t/art/saml/acs", form)
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/app/two" {
			t.Fatalf("ACS answered %d to %q\n%s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
	})

	t.Run("tenant with the binding off", func(t *testing.T) {
		answer, err := e.idp.LoginArtifact(b.follow, e.base+"/t/art/saml/login", "alice", "alice-pass")
		if err != nil {
			t.Fatal(err)
		}
		e.setTenant("art", "artifact_binding=false")
		e.waitForSetting(t, "art", func(s lanyard.SSOSettings) bool { return !s.ArtifactBinding })
		a := b.getACS(t, answer.String())
		if a.status != http.StatusForbidden || a.session != "" || !strings.Contains(a.body, "has not enabled") {
			t.Fatalf("ACS answered %d (session %t)\n%s", a.status, a.session != "", a.body)
		}
		if ev := e.lastAudit(art); ev.Reason != "artifact_binding_off" || !strings.Contains(ev.Message, "artifact_binding=true") {
			t.Fatalf("refusal %q: %s", ev.Reason, ev.Message)
		}
		// Off, the login asks for HTTP-POST again and the IdP posts.
		f := e.spLogin(b, "art", "/app/three", "alice")
		if a := b.post(t, f); a.status != http.StatusSeeOther || a.location != "/app/three" {
			t.Fatalf("POST binding after turning the artifact binding off: %d %q\n%s", a.status, a.location, a.body)
		}
	})
}

// getACS fetches an ACS URL (the artifact binding's redirect) as the
// browser does, without following the answer's redirect.
func (b *browser) getACS(t *testing.T, u string) acsAnswer {
	t.Helper()
	resp, err := b.noFollow.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	a := acsAnswer{status: resp.StatusCode, location: resp.Header.Get("Location"), body: readAll(resp)}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookieName && c.Value != "" {
			a.session = c.Value
		}
	}
	return a
}

// waitForSetting waits until the server's snapshot of the tenant satisfies ok.
func (e *ssoEnv) waitForSetting(t *testing.T, slug string, ok func(lanyard.SSOSettings) bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		snap, err := e.server.tenants.Snapshot(context.Background(), slug)
		if err != nil {
			t.Fatal(err)
		}
		if ok(snap.Tenant.SSO) {
			return
		}
		e.server.tenants.Invalidate()
	}
	t.Fatalf("the server does not see the new settings of %s", slug)
}

// TestArtifactBindingSetting: the tenant setting artifact_binding is shown
// on the admin page, saved by its form, and read by the SSO face: the SP
// metadata advertises the artifact ACS exactly while it is on.
func TestArtifactBindingSetting(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.ssoTenant("acme")
	c := e.client()
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	e.mustLogin(c, "root", adminPassword)
	page := e.get(c, "/admin/tenants/acme")
	if !strings.Contains(page.body, `name="artifact_binding"`) {
		t.Fatalf("the tenant page has no artifact_binding field:\n%s", page.body)
	}
	metadata := func() string { return e.get(e.client(), "/t/acme/saml/metadata").body }
	if strings.Contains(metadata(), saml.BindingHTTPArtifact) {
		t.Fatal("the artifact ACS is advertised by default")
	}
	for _, on := range []string{"true", "false"} {
		r := e.post(c, "/admin/tenants/acme/settings", url.Values{csrfField: {e.csrfToken(page)}, "artifact_binding": {on}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("saving artifact_binding=%s: %d\n%s", on, r.StatusCode, r.body)
		}
		tn, err := e.admin.Tenant(context.Background(), "acme")
		if err != nil || fmt.Sprint(tn.SSO.ArtifactBinding) != on {
			t.Fatalf("stored %v (%v), want %s", tn.SSO.ArtifactBinding, err, on)
		}
		e.server.tenants.Invalidate()
		if got := strings.Contains(metadata(), `Binding="`+saml.BindingHTTPArtifact+`"`); fmt.Sprint(got) != on {
			t.Fatalf("artifact_binding=%s: metadata advertises the artifact ACS: %v", on, got)
		}
	}
}
