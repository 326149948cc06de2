package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// TestAdminOIDCClients: a tenant administrator registers a client in the
// admin UI and sees its secret once (it works at the token endpoint's
// client authentication); another tenant's administrator is refused.
func TestAdminOIDCClients(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := t.Context()
	const pw = "administrator password 1"
	if _, err := e.admin.CreateTenant(ctx, "test", "acme", "Acme", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.admin.CreateAdmin(ctx, "test", "default", "root", pw); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	e.mustLogin(c, "root", pw)
	page := e.get(c, "/admin/tenants/acme/oidc")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "No client yet") {
		t.Fatalf("clients page: %d\n%.500s", page.StatusCode, page.body)
	}
	form := url.Values{"csrf_token": {e.csrfToken(page)}, "client_id": {"wiki"}, "redirect_uris": {"https://wiki.example.com/cb"}, "auth": {"client_secret_post"}, "id_token_alg": {"ES256"}}
	resp := e.post(c, "/admin/tenants/acme/oidc", form)
	m := regexp.MustCompile(`id="new-secret" readonly rows="2">(lyc_[^<]+)<`).FindStringSubmatch(resp.body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("register: %d, no secret shown\n%.800s", resp.StatusCode, resp.body)
	}
	if again := e.get(c, "/admin/tenants/acme/oidc"); strings.Contains(again.body, m[1]) || !strings.Contains(again.body, "wiki") {
		t.Error("the secret is shown again, or the client is not listed")
	}
	// The secret authenticates the client (the code is unknown: invalid_grant, not invalid_client).
	tok := e.post(&http.Client{}, "/t/acme/oidc/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {"https://wiki.example.com/cb"},
		"client_id": {"wiki"}, "client_secret": {m[1]}})
	if tok.StatusCode != http.StatusBadRequest || !strings.Contains(tok.body, "invalid_grant") {
		t.Errorf("token endpoint with the shown secret: %d %s", tok.StatusCode, tok.body)
	}
	// acme's tenant administrator reaches acme's clients, not default's.
	if _, _, err := e.admin.CreateAdministrator(ctx, "test", "acme", "ta", pw, lanyard.RoleTenantAdmin); err != nil {
		t.Fatal(err)
	}
	ta := e.client()
	e.mustLogin(ta, "ta", pw, "tenant", "acme")
	if got := e.get(ta, "/admin/tenants/acme/oidc"); got.StatusCode != http.StatusOK || !strings.Contains(got.body, "wiki") {
		t.Errorf("acme's administrator on acme's clients: %d", got.StatusCode)
	}
	if got := e.get(ta, "/admin/tenants/default/oidc"); got.StatusCode != http.StatusForbidden {
		t.Errorf("acme's administrator on default's clients: %d, want 403", got.StatusCode)
	}
	bad := e.post(c, "/admin/tenants/acme/oidc", url.Values{"csrf_token": {e.csrfToken(page)}, "client_id": {"evil"}, "redirect_uris": {"http://evil.example/cb"}})
	if !strings.Contains(bad.body, "http is allowed only on loopback") {
		t.Errorf("an http redirect URI: %d\n%.500s", bad.StatusCode, bad.body)
	}
}
