package web

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// testKeyMaterial makes a PEM key pair (a test key made now) whose
// certificate expires at notAfter.
func testKeyMaterial(t *testing.T, notAfter time.Time) *admin.SPKeyMaterial {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "own.example"}, NotBefore: notAfter.Add(-365 * 24 * time.Hour), NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(key)
	return &admin.SPKeyMaterial{
		KeyPEM:         pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
		CertificatePEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}
}

// TestCertificateExpiryEverywhere brings a key pair whose certificate
// expires in 5 days: the admin home page warns (urgent), /metrics has its
// gauge, the keys page lists it and its buttons run the rollover.
func TestCertificateExpiryEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	if _, err := e.admin.CreateTenant(ctx, "test", "acme", "Acme", nil); err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	material := testKeyMaterial(t, now.Add(5*24*time.Hour-time.Hour))
	k, err := e.admin.AddNextSPKey(ctx, "test", "acme", lanyard.KeySigning, material)
	if err != nil {
		t.Fatal(err)
	}

	e.addUser("root", "correct horse battery", lanyard.RoleOperator)
	c := e.client()
	e.mustLogin(c, "root", "correct horse battery")
	dash := e.get(c, "/admin/")
	if !strings.Contains(dash.body, `id="cert-warnings"`) || !strings.Contains(dash.body, "Urgent:") ||
		!strings.Contains(dash.body, "expires in 5 days") || !strings.Contains(dash.body, htmlEscape(k.Fingerprint)) {
		t.Fatalf("home page lacks the 5-day warning:\n%s", dash.body)
	}

	metrics := e.get(c, "/metrics")
	cert, _ := spkeys.ParseCertificate(string(material.CertificatePEM))
	gauge := fmt.Sprintf(`lanyard_certificate_expiry_seconds{idp="",sha256="%s",tenant="acme",use="sp-signing"} %g`,
		strings.ToLower(strings.ReplaceAll(spkeys.Fingerprint(cert), ":", ""))[:16], cert.NotAfter.Sub(now).Seconds())
	if !strings.Contains(metrics.body, gauge) {
		t.Fatalf("/metrics lacks %s:\n%s", gauge, metrics.body)
	}

	keys := e.get(c, "/admin/tenants/acme/keys")
	csrf := e.csrfToken(keys)
	if keys.StatusCode != http.StatusOK || !strings.Contains(keys.body, `id="switch-signing"`) || !strings.Contains(keys.body, `id="next-encryption"`) || !strings.Contains(keys.body, "CN=own.example") {
		t.Fatalf("keys page: %d\n%s", keys.StatusCode, keys.body)
	}
	r := e.postMultipart(c, "/admin/tenants/acme/keys/next", map[string]string{csrfField: csrf, "use": "encryption", "pkcs12_password": "x"}, "pkcs12_file", "sp.p12", "not a keystore")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "not a PKCS#12 file") {
		t.Errorf("bad keystore: %d\n%s", r.StatusCode, r.body)
	}
	for _, step := range []string{"switch", "retire"} {
		r := e.post(c, "/admin/tenants/acme/keys/"+step, url.Values{csrfField: {csrf}, "use": {"signing"}})
		if r.StatusCode != http.StatusSeeOther {
			t.Fatalf("%s: %d\n%s", step, r.StatusCode, r.body)
		}
		if ev := e.auditEvents("sp_key." + step); len(ev) != 1 || ev[0].Actor != "root" {
			t.Errorf("%s audit: %+v", step, ev)
		}
	}
	r = e.post(c, "/admin/tenants/acme/keys/retire", url.Values{csrfField: {csrf}, "use": {"signing"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "no previous signing key to retire") {
		t.Errorf("retire twice: %d\n%s", r.StatusCode, r.body)
	}
}

// TestDoctorAndManualIdPPages: the doctor's page says a tenant is
// healthy; the form for an IdP by hand refuses bad values with every
// problem, and connects a good one, which the doctor then examines.
func TestDoctorAndManualIdPPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	e.addUser("root", "correct horse battery", lanyard.RoleOperator)
	c := e.client()
	e.mustLogin(c, "root", "correct horse battery")
	r := e.get(c, "/admin/tenants/default/doctor")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "tenant default is healthy") {
		t.Fatalf("doctor page: %d\n%s", r.StatusCode, r.body)
	}
	csrf := e.csrfToken(r)
	r = e.post(c, "/admin/tenants/default/idps/manual", url.Values{csrfField: {csrf}, "sso_url": {"ftp://x"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "entity_id: give") || !strings.Contains(r.body, "signing_certs: give at least one PEM") {
		t.Fatalf("bad IdP by hand: %d\n%s", r.StatusCode, r.body)
	}
	cert := testKeyMaterial(t, e.clock.Now().Add(3*24*time.Hour)).CertificatePEM
	r = e.post(c, "/admin/tenants/default/idps/manual", url.Values{csrfField: {csrf}, "entity_id": {"https://idp.example.org/"},
		"sso_url": {"https://idp.example.org/sso"}, "sso_binding": {"post"}, "signing_certs": {string(cert)}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("IdP by hand: %d\n%s", r.StatusCode, r.body)
	}
	r = e.get(c, "/admin/tenants/default/doctor")
	if !strings.Contains(r.body, `data-check="certificate_expiry"`) || !strings.Contains(r.body, "expires in 3 days") {
		t.Fatalf("doctor page after an IdP with a certificate expiring in 3 days:\n%s", r.body)
	}
}
