package web

import (
	"context"
	"encoding/base64"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// idpMetadataAt is the metadata of an IdP whose SSO service (HTTP-Redirect)
// is at ssoURL, named displayName ("": no name) in an mdui:UIInfo.
func idpMetadataAt(t testing.TB, entityID, ssoURL, displayName string) string {
	t.Helper()
	md := idpMetadataWith(t, entityID, "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect")
	md = strings.Replace(md, `Location="https://idp.example.org/sso"`, `Location="`+ssoURL+`"`, 1)
	if displayName != "" {
		md = strings.Replace(md, `protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">`,
			`protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:Extensions><mdui:UIInfo xmlns:mdui="urn:oasis:names:tc:SAML:metadata:ui"><mdui:DisplayName xml:lang="en">`+
				html.EscapeString(displayName)+`</mdui:DisplayName></mdui:UIInfo></md:Extensions>`, 1)
	}
	return md
}

// chooserIdP is an IdP of the chooser tests.
type chooserIdP struct {
	entityID, sso, name string
}

// ssoTenantWithIdPs makes an SSO tenant whose IdPs are idps.
func (e *env) ssoTenantWithIdPs(slug string, idps ...chooserIdP) lanyard.Tenant {
	e.t.Helper()
	t := e.ssoTenant(slug)
	existing, err := e.store.IdPs(context.Background(), t.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, c := range existing {
		if err := e.store.DeleteIdP(context.Background(), c.ID); err != nil {
			e.t.Fatal(err)
		}
	}
	e.addIdPs(t, idps...)
	return t
}

// addIdPs connects IdPs to tenant t and returns their connections.
func (e *env) addIdPs(t lanyard.Tenant, idps ...chooserIdP) []lanyard.IdPConnection {
	e.t.Helper()
	var out []lanyard.IdPConnection
	for _, idp := range idps {
		c := lanyard.IdPConnection{TenantID: t.ID, EntityID: idp.entityID, MetadataXML: idpMetadataAt(e.t, idp.entityID, idp.sso, idp.name)}
		if err := e.store.PutIdP(context.Background(), &c); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, c)
	}
	e.server.tenants.Invalidate()
	return out
}

var choicePattern = regexp.MustCompile(`<button type="submit" name="idp" value="([^"]*)"`)

// chooserChoices are the entity IDs the chooser page offers, nil when the
// page is no chooser.
func chooserChoices(body string) []string {
	if !strings.Contains(body, `id="idp-choice"`) {
		return nil
	}
	var out []string
	for _, m := range choicePattern.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// TestIdPChooser: a tenant with several IdPs asks which one, remembers the
// choice per browser and tenant, checks the remembered one on each use,
// and offers a way to change it; a tenant with one IdP asks nothing.
func TestIdPChooser(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	staff := chooserIdP{"https://staff.example.org/idp", "https://staff.example.org/sso", "Acme Staff Login"}
	partners := chooserIdP{"urn:partners:idp", "https://partners.example.net/sso", ""}
	acme := e.ssoTenantWithIdPs("acme", staff, partners)
	conns, err := e.store.IdPs(ctx, acme.ID)
	if err != nil || len(conns) != 2 || conns[0].EntityID != staff.entityID && conns[1].EntityID != staff.entityID {
		t.Fatalf("acme's IdPs: %v %+v", err, conns)
	}
	staffConn := conns[0]
	if staffConn.EntityID != staff.entityID {
		staffConn = conns[1]
	}
	beta := chooserIdP{"https://beta.example.org/idp", "https://beta.example.org/sso", "Beta"}
	e.ssoTenantWithIdPs("beta", beta)
	e.ssoTenant("solo") // one POST-only IdP

	loginPath := "/t/acme/saml/login?" + url.Values{"return_to": {"/apps/wiki?page=1"}}.Encode()
	wentTo := func(r response, idp chooserIdP) bool {
		return r.StatusCode == http.StatusFound && strings.HasPrefix(r.Header.Get("Location"), idp.sso+"?")
	}

	c := e.client()
	page := e.get(c, loginPath)
	choices := chooserChoices(page.body)
	if page.StatusCode != http.StatusOK || strings.Join(choices, " ") != staff.entityID+" "+partners.entityID {
		t.Fatalf("several IdPs: %d offering %q, want the chooser of both\n%s", page.StatusCode, choices, page.body)
	}
	// Named by the metadata's display name, else by entity ID; the return
	// path goes along.
	for _, want := range []string{">Acme Staff Login<", ">urn:partners:idp<", `name="return_to" value="/apps/wiki?page=1"`} {
		if !strings.Contains(html.UnescapeString(page.body), want) {
			t.Errorf("the chooser lacks %s", want)
		}
	}
	if setCookie(page, "lanyard_idp") != nil {
		t.Error("showing the chooser set the remembered IdP")
	}

	// The choice: to that IdP, remembered for the tenant's SAML endpoints.
	choose := "/t/acme/saml/login?" + url.Values{"return_to": {"/apps/wiki?page=1"}, "idp": {partners.entityID}, "chosen": {"1"}}.Encode()
	r := e.get(c, choose)
	if !wentTo(r, partners) {
		t.Fatalf("choosing %s: %d to %q", partners.entityID, r.StatusCode, r.Header.Get("Location"))
	}
	ck := setCookie(r, "lanyard_idp")
	if ck == nil || ck.Path != "/t/acme/saml/" || !ck.HttpOnly || ck.MaxAge < 86400 {
		t.Fatalf("the choice is not remembered for the tenant: %+v", ck)
	}
	// Next time: straight to the remembered IdP.
	if r := e.get(c, loginPath); !wentTo(r, partners) {
		t.Errorf("remembered IdP: %d to %q, want %s", r.StatusCode, r.Header.Get("Location"), partners.sso)
	}
	// The way to change it: the chooser again, the remembered one marked.
	page = e.get(c, "/t/acme/saml/login?choose_idp=1")
	if len(chooserChoices(page.body)) != 2 || !strings.Contains(page.body, `id="idp-remembered"`) {
		t.Errorf("choose_idp=1 with a remembered IdP: %d\n%s", page.StatusCode, page.body)
	}
	if r := e.get(c, "/t/acme/saml/login?"+url.Values{"idp": {staff.entityID}, "chosen": {"1"}}.Encode()); !wentTo(r, staff) {
		t.Fatalf("changing to %s: %d to %q", staff.entityID, r.StatusCode, r.Header.Get("Location"))
	}
	if r := e.get(c, loginPath); !wentTo(r, staff) {
		t.Errorf("after the change: %d to %q, want %s", r.StatusCode, r.Header.Get("Location"), staff.sso)
	}
	// A named IdP without "chosen" (a link) is followed, not remembered.
	if r := e.get(c, "/t/acme/saml/login?"+url.Values{"idp": {partners.entityID}}.Encode()); !wentTo(r, partners) || setCookie(r, "lanyard_idp") != nil {
		t.Errorf("?idp= alone: %d to %q, cookie %v", r.StatusCode, r.Header.Get("Location"), setCookie(r, "lanyard_idp"))
	}

	// The remembered IdP is removed: the chooser again.
	if err := e.store.DeleteIdP(ctx, staffConn.ID); err != nil {
		t.Fatal(err)
	}
	third := chooserIdP{"https://third.example.org/idp", "https://third.example.org/sso", "Third"}
	e.addIdPs(acme, third)
	page = e.get(c, loginPath)
	if got := chooserChoices(page.body); strings.Join(got, " ") != partners.entityID+" "+third.entityID && strings.Join(got, " ") != third.entityID+" "+partners.entityID {
		t.Errorf("remembered IdP removed: %d offering %q, want the chooser of the two left", page.StatusCode, got)
	}

	// Forged or stale cookie values are ignored: the chooser.
	base, _ := url.Parse(e.http.URL + "/t/acme/saml/")
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, forged := range []struct{ name, value string }{
		{"garbage", "!!not base64!!"},
		{"empty", ""},
		{"unknown entity ID", enc("https://evil.example.com/idp")},
		{"another tenant's IdP", enc(beta.entityID)},
		{"entity ID not encoded", partners.entityID},
		{"standard base64", base64.StdEncoding.EncodeToString([]byte(partners.entityID + "??"))},
		{"entity ID with a suffix", enc(partners.entityID + "\x00")},
		{"entity ID in another case", enc(strings.ToUpper(partners.entityID))},
		{"very long", enc(strings.Repeat("x", 3000))},
	} {
		fc := e.client()
		fc.Jar.SetCookies(base, []*http.Cookie{{Name: "lanyard_idp", Value: forged.value, Path: "/t/acme/saml/"}})
		page := e.get(fc, loginPath)
		if got := chooserChoices(page.body); len(got) != 2 {
			t.Errorf("forged cookie (%s): %d to %q, want the chooser", forged.name, page.StatusCode, page.Header.Get("Location"))
		}
	}
	// A valid value is honoured whoever set it: it names one of the
	// tenant's own IdPs, as the user's choice would.
	vc := e.client()
	vc.Jar.SetCookies(base, []*http.Cookie{{Name: "lanyard_idp", Value: enc(third.entityID), Path: "/t/acme/saml/"}})
	if r := e.get(vc, loginPath); !wentTo(r, third) {
		t.Errorf("valid cookie: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}

	// The username-first login lands on the tenant's login: the chooser.
	if _, err := e.store.UpdateTenant(ctx, acme.ID, func(t *lanyard.Tenant) error { t.EmailDomains = []string{"acme.test"}; return nil }); err != nil {
		t.Fatal(err)
	}
	uc := e.client()
	start := e.get(uc, "/login")
	cont := e.post(uc, "/login", url.Values{"username": {"newcomer@acme.test"}, csrfField: {e.csrfToken(start)}})
	m := regexp.MustCompile(`content="0; url=(/t/acme/saml/login[^"]*)"`).FindStringSubmatch(cont.body)
	if m == nil {
		t.Fatalf("username-first login: %d, not sent to acme's login\n%s", cont.StatusCode, cont.body)
	}
	if got := chooserChoices(e.get(uc, html.UnescapeString(m[1])).body); len(got) != 2 {
		t.Errorf("username-first login on a tenant with two IdPs: chooser %q", got)
	}

	// A refused login offers another IdP.
	refused := e.post(e.client(), "/t/acme/saml/acs", url.Values{"SAMLResponse": {base64.StdEncoding.EncodeToString([]byte("<not-a-response/>"))}})
	if refused.StatusCode < 400 || !strings.Contains(refused.body, `id="other-idp" href="/t/acme/saml/login?choose_idp=1"`) {
		t.Errorf("refusal page of a tenant with several IdPs: %d, no link to the chooser\n%s", refused.StatusCode, refused.body)
	}

	// One IdP: no chooser, and nothing remembered.
	if r := e.get(e.client(), "/t/solo/saml/login"); r.StatusCode != http.StatusOK && r.StatusCode != http.StatusFound || chooserChoices(r.body) != nil || setCookie(r, "lanyard_idp") != nil {
		t.Errorf("one IdP: %d, chooser %v", r.StatusCode, chooserChoices(r.body))
	}
	if r := e.get(e.client(), "/t/beta/saml/login"); !wentTo(r, beta) {
		t.Errorf("one IdP (redirect binding): %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
}
