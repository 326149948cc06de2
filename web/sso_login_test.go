package web

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// postOnlyIdPMetadata is an IdP that offers only the HTTP-POST binding for
// AuthnRequests.
func postOnlyIdPMetadata(t testing.TB, entityID string) string {
	return idpMetadataWith(t, entityID, "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
}

// idpMetadataWith is an IdP that takes AuthnRequests through one binding.
func idpMetadataWith(t testing.TB, entityID, binding string) string {
	t.Helper()
	k, err := spkeys.Generate("idp", lanyard.KeySigning, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode([]byte(k.CertificatePEM))
	return fmt.Sprintf(`<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="%s">
<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
<md:SingleSignOnService Binding="%s" Location="https://idp.example.org/sso"/>
</md:IDPSSODescriptor></md:EntityDescriptor>`, entityID, base64.StdEncoding.EncodeToString(block.Bytes), binding)
}

// ssoTenant makes an SSO tenant with keys and a POST-only IdP on env e.
func (e *env) ssoTenant(slug string, settings ...string) lanyard.Tenant {
	e.t.Helper()
	ctx := context.Background()
	if _, err := e.admin.CreateTenant(ctx, "test", slug, "", nil); err != nil {
		e.t.Fatal(err)
	}
	t, _, err := e.admin.SetTenant(ctx, "test", slug, append([]string{"enabled=true"}, settings...))
	if err != nil {
		e.t.Fatal(err)
	}
	c := lanyard.IdPConnection{TenantID: t.ID, EntityID: "https://idp.example.org", MetadataXML: postOnlyIdPMetadata(e.t, "https://idp.example.org")}
	if err := e.store.PutIdP(ctx, &c); err != nil {
		e.t.Fatal(err)
	}
	e.server.tenants.Invalidate()
	return t
}

var (
	nonceRe       = regexp.MustCompile(`<script nonce="([^"]+)">`)
	samlRequestRe = regexp.MustCompile(`name="SAMLRequest" value="([^"]+)"`)
	requestIDRe   = regexp.MustCompile(` ID="([^"]+)"`)
)

// TestSSOLoginPostBinding: an IdP that takes AuthnRequests by POST gets an
// auto-posting page whose script the CSP allows by nonce; the return path
// is stored with the pending request when it is a path on this site, and
// dropped otherwise; the binding cookie is SameSite=None; Secure.
func TestSSOLoginPostBinding(t *testing.T) {
	e := newEnv(t, envOptions{})
	tenant := e.ssoTenant("post")
	for _, tc := range []struct {
		returnTo, stored string
	}{
		{"/app/edit?id=3&tab=a%20b", "/app/edit?id=3&tab=a%20b"},
		{"https://evil.example/x", ""},
		{"//evil.example/x", ""},
		{"javascript:alert(1)", ""},
	} {
		r := e.get(e.client(), "/t/post/saml/login?"+url.Values{"return_to": {tc.returnTo}}.Encode())
		if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `action="https://idp.example.org/sso"`) {
			t.Fatalf("status %d, want the auto-post page:\n%s", r.StatusCode, r.body)
		}
		csp := r.Header.Get("Content-Security-Policy")
		nonce := nonceRe.FindStringSubmatch(r.body)
		if nonce == nil || !strings.Contains(csp, "'nonce-"+nonce[1]+"'") || !strings.Contains(csp, "form-action https://idp.example.org") {
			t.Errorf("CSP %q does not allow the page's script and post", csp)
		}
		ck := setCookie(r, bindingCookieName)
		if ck == nil || !ck.Secure || ck.SameSite != http.SameSiteNoneMode || !ck.HttpOnly || ck.Path != "/t/post/saml/" {
			t.Fatalf("binding cookie %+v, want HttpOnly, Secure, SameSite=None, scoped to /t/post/saml/", ck)
		}
		m := samlRequestRe.FindStringSubmatch(r.body)
		if m == nil {
			t.Fatal("no SAMLRequest in the page")
		}
		xml, _ := base64.StdEncoding.DecodeString(htmlUnescape(m[1]))
		id := requestIDRe.FindStringSubmatch(string(xml))
		if id == nil || !strings.Contains(string(xml), "<ds:SignatureValue>") && !strings.Contains(string(xml), "SignatureValue") {
			t.Fatalf("AuthnRequest is not signed or has no ID:\n%s", xml)
		}
		p, err := e.store.TakePendingRequest(context.Background(), id[1], e.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if p.TenantID != tenant.ID || p.ReturnTo != tc.stored || len(p.Binding) != 32 || string(p.Binding) == ck.Value {
			t.Errorf("return_to %q: stored %q (want %q), binding of %d bytes", tc.returnTo, p.ReturnTo, tc.stored, len(p.Binding))
		}
	}
}

// TestSSOACSGet: opening the ACS address answers a page that offers to
// start the sign-in, not a bare 405.
func TestSSOACSGet(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := e.get(e.client(), "/t/default/saml/acs")
	if r.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(r.body, `href="/t/default/saml/login"`) {
		t.Errorf("GET ACS: %d\n%s", r.StatusCode, r.body)
	}
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&#43;", "+", "&#61;", "=", "&amp;", "&", "&#47;", "/").Replace(s)
}

// BenchmarkSSOLoginStart measures GET /t/{t}/saml/login with the
// HTTP-Redirect binding: a signed AuthnRequest and one pending-request
// write per login, on SQLite.
func BenchmarkSSOLoginStart(b *testing.B) {
	ctx := context.Background()
	db := testdb.SQLite(b)
	base := &url.URL{Scheme: "http", Host: "localhost:8080"}
	svc := admin.New(db, admin.Options{BaseURL: base})
	srv := New(Config{BaseURL: base, Store: db, Admin: svc})
	srv.SetReady()
	if _, err := svc.CreateTenant(ctx, "bench", "bench", "", nil); err != nil {
		b.Fatal(err)
	}
	t, _, err := svc.SetTenant(ctx, "bench", "bench", []string{"enabled=true"})
	if err != nil {
		b.Fatal(err)
	}
	c := lanyard.IdPConnection{TenantID: t.ID, EntityID: "https://idp.example.org", MetadataXML: idpMetadataWith(b, "https://idp.example.org", saml.BindingHTTPRedirect)}
	if err := db.PutIdP(ctx, &c); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/t/bench/saml/login?return_to=/x", nil))
			if w.Code != http.StatusFound {
				b.Errorf("status %d", w.Code)
				return
			}
		}
	})
}
