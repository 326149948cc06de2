package web

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/idpsync"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// trustTenant makes the IdP trust the tenant's SP as addTenant does, with
// change applied: the IdP configured to show a problem.
func (e *ssoEnv) trustTenant(t *testing.T, tenant lanyard.Tenant, change func(*simplesamlphp.SP)) {
	t.Helper()
	keys, err := e.store.SPKeys(context.Background(), tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	slug := tenant.Slug
	sp := simplesamlphp.SP{
		EntityID: e.base + "/t/" + slug + "/saml/metadata", ACSURL: e.base + "/t/" + slug + "/saml/acs", SLOURL: e.base + "/t/" + slug + "/saml/slo",
		ValidateAuthnRequest: true, NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", NameIDAttribute: "uid",
	}
	for _, k := range keys {
		if !k.Active || k.Next {
			continue
		}
		if _, _, err := spkeys.Parse(k); err != nil {
			t.Fatal(err)
		}
		if k.Use == lanyard.KeySigning && sp.SigningCertificatePEM == "" {
			sp.SigningCertificatePEM = k.CertificatePEM
		}
		if k.Use == lanyard.KeyEncryption && sp.CertificatePEM == "" {
			sp.CertificatePEM = k.CertificatePEM
		}
	}
	change(&sp)
	e.idp.TrustSP(t, sp)
}

// TestDoctorWithSimpleSAMLphp configures SimpleSAMLphp to show each problem
// it can show, logs in (or tries to), and checks that the doctor names the
// problem and its fix; a tenant without problems is reported healthy.
func TestDoctorWithSimpleSAMLphp(t *testing.T) {
	const (
		guid1 = "7d2b6f0e-2c41-4a55-9a0e-6c5d3e1f2a4b"
		guid2 = "1a2b3c4d-5e6f-4711-8899-aabbccddeeff"
	)
	entraUser := idpUser("erin", "erin@example.com", "Erin", "Entra", nil,
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", guid1,
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups", guid2,
		"http://schemas.microsoft.com/claims/groups.link", "https://graph.windows.net/tenant/users/erin/getMemberObjects",
		"http://schemas.microsoft.com/identity/claims/displayname", "Erin Entra")
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{idpUser("dora", "dora@example.com", "Dora", "Doc", []string{"staff"}), entraUser})
	ctx := context.Background()
	no := false

	// login runs an SP-initiated login of user to the tenant and posts the
	// answer; ok says whether it must be accepted.
	login := func(t *testing.T, slug, user string, ok bool) {
		t.Helper()
		b := newBrowser()
		a := b.post(t, e.spLogin(b, slug, "/doc", user))
		if accepted := a.session != ""; accepted != ok {
			t.Fatalf("login of %s to %s: accepted %v, want %v: %d\n%s", user, slug, accepted, ok, a.status, a.body)
		}
	}
	diagnose := func(t *testing.T, slug string) admin.Diagnosis {
		t.Helper()
		d, err := e.admin.Diagnose(ctx, slug)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	wantFinding := func(t *testing.T, d admin.Diagnosis, check string, want ...string) {
		t.Helper()
		for _, f := range d.Findings {
			if f.Check != check {
				continue
			}
			text := f.Summary + "\n" + f.Evidence + "\n" + f.Fix
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("%s finding lacks %q:\n%s", check, w, text)
				}
			}
			return
		}
		t.Errorf("no %s finding in %s: %+v", check, d.Summary(), d.Findings)
	}

	t.Run("healthy", func(t *testing.T) {
		e.addTenant("fine", tenantOptions{settings: []string{"jit=true"}})
		login(t, "fine", "dora", true)
		if d := diagnose(t, "fine"); !d.Healthy() || d.Logins != 1 {
			t.Fatalf("healthy tenant: %s %+v", d.Summary(), d.Findings)
		}
	})
	t.Run("unsigned assertion", func(t *testing.T) {
		tn := e.addTenant("unsigned", tenantOptions{settings: []string{"jit=true"}})
		e.trustTenant(t, tn, func(sp *simplesamlphp.SP) { sp.SignAssertion = &no })
		login(t, "unsigned", "dora", true)
		wantFinding(t, diagnose(t, "unsigned"), admin.CheckUnsignedAssertion, "'saml20.sign.assertion' => true")
	})
	t.Run("SHA-1", func(t *testing.T) {
		tn := e.addTenant("sha1", tenantOptions{settings: []string{"jit=true"}})
		e.trustTenant(t, tn, func(sp *simplesamlphp.SP) { sp.SignatureAlgorithm = "http://www.w3.org/2000/09/xmldsig#rsa-sha1" })
		login(t, "sha1", "dora", false)
		wantFinding(t, diagnose(t, "sha1"), admin.CheckSHA1, "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
	})
	t.Run("transient NameID", func(t *testing.T) {
		tn := e.addTenant("transient", tenantOptions{settings: []string{"jit=true"}})
		e.trustTenant(t, tn, func(sp *simplesamlphp.SP) {
			sp.NameIDFormat, sp.NameIDAttribute = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient", ""
		})
		login(t, "transient", "dora", true)
		wantFinding(t, diagnose(t, "transient"), admin.CheckTransientNameID, "name_id_format=persistent")
	})
	t.Run("attribute under another name", func(t *testing.T) {
		e.addTenant("attrs", tenantOptions{settings: []string{"jit=true", "attr.email=email_address"}})
		login(t, "attrs", "dora", true)
		wantFinding(t, diagnose(t, "attrs"), admin.CheckAttributeMissing, "lanyard tenant set attrs 'attr.email=mail'")
	})
	t.Run("Entra ID-shaped claims", func(t *testing.T) {
		e.addTenant("entra", tenantOptions{settings: []string{"jit=true"}})
		login(t, "entra", "erin", true)
		d := diagnose(t, "entra")
		wantFinding(t, d, admin.CheckEntraGroupGUIDs, "Cloud-only group display names")
		wantFinding(t, d, admin.CheckEntraOverage, "Groups assigned to the application")
		wantFinding(t, d, admin.CheckMicrosoftClaims, "http://schemas.microsoft.com/identity/claims/displayname")
	})
	t.Run("clock difference", func(t *testing.T) {
		e.addTenant("clock", tenantOptions{settings: []string{"jit=true"}})
		e.clock.Set(-2 * time.Minute) // Lanyard's clock behind: the IdP's ahead
		defer e.clock.Set(0)
		login(t, "clock", "dora", true)
		wantFinding(t, diagnose(t, "clock"), admin.CheckClock, "ahead of Lanyard's", "NTP")
	})
	t.Run("ACS at another URL (TLS proxy)", func(t *testing.T) {
		tn := e.addTenant("proxy", tenantOptions{settings: []string{"jit=true"}})
		other := strings.Replace(e.base, "localhost", "127.0.0.1", 1) + "/t/proxy/saml/acs"
		e.trustTenant(t, tn, func(sp *simplesamlphp.SP) { sp.ACSURL = other })
		login(t, "proxy", "dora", false)
		wantFinding(t, diagnose(t, "proxy"), admin.CheckDestination, other, "set the ACS (Reply) URL to "+e.base+"/t/proxy/saml/acs")
	})
	t.Run("certificate expiring", func(t *testing.T) {
		e.addTenant("expiring", tenantOptions{})
		if _, err := e.admin.AddNextSPKey(ctx, "test", "expiring", lanyard.KeyEncryption, testKeyMaterial(t, time.Now().Add(5*24*time.Hour))); err != nil {
			t.Fatal(err)
		}
		wantFinding(t, diagnose(t, "expiring"), admin.CheckCertExpiry, "expires in 5 days", "Lanyard side")
	})
}

// TestDoctorUnsignedLogoutResponse: SimpleSAMLphp at its default answers
// the sign-out with an unsigned LogoutResponse; the doctor names it.
func TestDoctorUnsignedLogoutResponse(t *testing.T) {
	e := newSSOEnvWith(t, "sqlite", []simplesamlphp.User{idpUser("olga", "olga@example.com", "Olga", "Out", nil)}, simplesamlphp.Options{UnsignedLogout: true})
	e.addTenant("slo", tenantOptions{settings: []string{"jit=true"}})
	b := newBrowser()
	if a := b.post(t, e.spLogin(b, "slo", "/", "olga")); a.session == "" {
		t.Fatalf("login: %d %s", a.status, a.body)
	}
	_, page := b.get(t, e.base+"/logout")
	token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
	if token == nil {
		t.Fatalf("no sign-out form: %s", page)
	}
	resp, err := b.follow.PostForm(e.base+"/logout", url.Values{csrfField: {token[1]}})
	if err != nil {
		t.Fatal(err)
	}
	next := regexp.MustCompile(`http-equiv="refresh" content="0; url=([^"]+)"`).FindStringSubmatch(readAll(resp))
	if next == nil {
		t.Fatal("the sign-out answer does not go on to the IdP")
	}
	if resp, err = b.follow.Get(html.UnescapeString(next[1])); err != nil {
		t.Fatal(err)
	}
	readAll(resp)
	d, err := e.admin.Diagnose(context.Background(), "slo")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.Findings {
		if f.Check == admin.CheckUnsignedLogout && strings.Contains(f.Fix, "'sign.logout' => true") {
			return
		}
	}
	t.Fatalf("no unsigned_logout finding: %s %+v", d.Summary(), d.Findings)
}

// TestDoctorMetadataURLFailing imports SimpleSAMLphp's metadata from its
// URL (through a front that can fail, as an IdP's web server does), logs
// in, then lets the refresh fail: the doctor names the URL and the fix,
// and logins go on with the last good copy.
func TestDoctorMetadataURLFailing(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{idpUser("mona", "mona@example.com", "Mona", "Meta", nil)})
	ctx := context.Background()
	var failing atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		resp, err := http.Get(e.idp.MetadataURL)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.Header().Set("Content-Type", "application/samlmetadata+xml")
		_, _ = io.Copy(w, resp.Body)
	}))
	defer front.Close()
	e.addTenant("meta", tenantOptions{settings: []string{"jit=true"}})
	svc := admin.New(e.store, admin.Options{Fetcher: &idpsync.HTTPFetcher{AllowPrivate: true}})
	if err := e.admin.DeleteIdP(ctx, "test", "meta", e.idp.EntityID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.ImportIdP(ctx, "test", "meta", admin.IdPSource{URL: front.URL}); err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	conn, err := svc.IdP(ctx, "meta", e.idp.EntityID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.RefreshIdP(ctx, "test", conn); err == nil {
		t.Fatal("refresh from a failing URL succeeded")
	}
	var a acsAnswer
	for range 50 { // the server picks the re-imported connection up within a second
		b := newBrowser()
		if a = b.post(t, e.spLogin(b, "meta", "/", "mona")); a.session != "" {
			break
		}
	}
	if a.session == "" {
		t.Fatalf("login with the last good copy of the metadata: %d\n%s", a.status, a.body)
	}
	d, err := e.admin.Diagnose(ctx, "meta")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.Findings {
		if f.Check == admin.CheckMetadataFailing && strings.Contains(f.Summary, front.URL) && strings.Contains(f.Evidence, "503") &&
			strings.Contains(f.Fix, "lanyard idp refresh --tenant meta "+e.idp.EntityID) {
			return
		}
	}
	t.Fatalf("no metadata_url_failing finding naming %s and the 503: %+v", front.URL, d.Findings)
}
