package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/saml"
)

// TestManualIdPWithSimpleSAMLphp connects SimpleSAMLphp by hand (entity
// ID, SSO and SLO URLs, signing certificate: what an IdP without metadata
// hands out) and logs in through it, as through an imported one.
func TestManualIdPWithSimpleSAMLphp(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{idpUser("hana", "hana@example.com", "Hana", "Hand", nil)})
	ctx := context.Background()
	tenant := e.addTenant("hand", tenantOptions{settings: []string{"jit=true"}})
	imported, err := saml.ParseIdPMetadata(e.idp.Metadata(t), saml.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.admin.DeleteIdP(ctx, "test", "hand", e.idp.EntityID); err != nil {
		t.Fatal(err)
	}
	var redirect string
	for _, ep := range imported.SSO {
		if ep.Binding == saml.BindingHTTPRedirect {
			redirect = ep.Location
		}
	}
	conn, _, err := e.admin.AddManualIdP(ctx, "test", "hand", admin.ManualIdP{
		EntityID: e.idp.EntityID, SSOURL: redirect, SSOBinding: "redirect", SLOURL: imported.SLO[0].Location, SigningCertsPEM: []byte(e.idp.CertPEM),
	})
	if err != nil {
		t.Fatal(err)
	}
	d := admin.DescribeIdP(conn)
	if d.Problem != "" || len(d.Certificates) != 1 || d.SSO[0].Location != redirect || d.SLO[0].Location != imported.SLO[0].Location {
		t.Fatalf("the connection configured by hand: %+v", d)
	}
	// The server picks the new connection up at its next version check.
	var a acsAnswer
	for range 50 {
		b := newBrowser()
		a = b.post(t, e.spLogin(b, "hand", "/by-hand", "hana"))
		if a.status == http.StatusSeeOther {
			break
		}
	}
	if a.status != http.StatusSeeOther || a.location != "/by-hand" || a.session == "" {
		t.Fatalf("login through the IdP configured by hand: %d to %q\n%s", a.status, a.location, a.body)
	}
	if u := e.user(tenant, "hana"); u.Email != "hana@example.com" {
		t.Errorf("account: %+v", u)
	}
}

// TestManualIdPRefusals reports every problem of the values at once.
func TestManualIdPRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	_, _, err := e.admin.AddManualIdP(context.Background(), "test", "default", admin.ManualIdP{SSOURL: "ftp://idp", SSOBinding: "artifact", SLOURL: "not a url", SigningCertsPEM: []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"entity_id: give", "sso_url: ftp://idp is not an http(s) URL", "slo_url: not a url", "sso_binding: artifact is not a binding", "signing_certs: a certificate cannot be read"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
