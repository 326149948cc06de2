package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/web/oidc"
)

// oidcEnv is a server with a signed-in browser (a password session of the
// default tenant) and a confidential client "app".
type oidcEnv struct {
	*env
	browser  *http.Client
	secret   string
	redirect string
	user     lanyard.User
}

func newOIDCEnv(t *testing.T, opts envOptions) *oidcEnv {
	t.Helper()
	e := newEnv(t, opts)
	o := &oidcEnv{env: e, browser: e.client(), redirect: "https://app.example.com/oidc/callback"}
	o.user = e.addUser("alice", "", "engineer")
	e.updateUser(o.user.ID, func(u *lanyard.User) { u.Email, u.FirstName, u.LastName = "alice@example.com", "Alice", "Liddell" })
	o.user, _ = e.store.User(t.Context(), o.user.ID)
	o.secret = registerClient(t, e.store, e.tenant, lanyard.OIDCClient{ClientID: "app", RedirectURIs: []string{o.redirect},
		PostLogoutRedirectURIs: []string{"https://app.example.com/bye"}})
	o.signIn(o.browser)
	return o
}

// signIn opens a session of alice in browser, as a login does.
func (o *oidcEnv) signIn(browser *http.Client) {
	o.t.Helper()
	id, _, err := o.server.sessions.Open(o.t.Context(), o.tenant, o.user, lanyard.SessionPassword, sessionMeta())
	if err != nil {
		o.t.Fatal(err)
	}
	u, _ := url.Parse(o.http.URL)
	browser.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
}

// authorize sends the browser to the authorization endpoint of tenant.
func (o *oidcEnv) authorize(tenant string, params url.Values) response {
	o.t.Helper()
	return o.get(o.browser, "/t/"+tenant+"/oidc/authorize?"+params.Encode())
}

func (o *oidcEnv) authParams(extra ...string) url.Values {
	v := url.Values{"client_id": {"app"}, "redirect_uri": {o.redirect}, "response_type": {"code"},
		"scope": {"openid profile email roles"}, "state": {"st-1"}, "nonce": {"n-1"}}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			v.Del(extra[i])
		} else {
			v.Set(extra[i], extra[i+1])
		}
	}
	return v
}

// code runs the authorization request and returns the code it answers.
func (o *oidcEnv) code(tenant string, params url.Values) string {
	o.t.Helper()
	resp := o.authorize(tenant, params)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
		o.t.Fatalf("authorization: %d %q, want a code\n%.500s", resp.StatusCode, resp.Header.Get("Location"), resp.body)
	}
	return loc.Query().Get("code")
}

// token posts to the token endpoint of tenant, as client (basic
// authentication) when secret is not "".
func (o *oidcEnv) token(tenant, client, secret string, form url.Values) (int, map[string]any, response) {
	o.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, o.http.URL+"/t/"+tenant+"/oidc/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(client), url.QueryEscape(secret))
	}
	resp := o.do(&http.Client{}, req)
	var m map[string]any
	_ = json.Unmarshal([]byte(resp.body), &m)
	return resp.StatusCode, m, resp
}

func (o *oidcEnv) exchange(tenant, code string) (int, map[string]any) {
	o.t.Helper()
	status, m, _ := o.token(tenant, "app", o.secret, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o.redirect}})
	return status, m
}

func (o *oidcEnv) userinfo(tenant string, access any) int {
	o.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, o.http.URL+"/t/"+tenant+"/oidc/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+access.(string))
	return o.do(&http.Client{}, req).StatusCode
}

// idTokenClaims decodes (without verifying) the payload of an ID token.
func idTokenClaims(t *testing.T, raw any) map[string]any {
	t.Helper()
	parts := strings.Split(raw.(string), ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestOIDCRedirectURIExactMatch: a redirect URI that is not one the client
// registered, character for character, is refused on a page of Lanyard's
// own, never redirected to, whatever the spelling; so is an unknown client.
func TestOIDCRedirectURIExactMatch(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	for _, uri := range []string{
		"https://app.example.com/oidc/callback/",
		"https://app.example.com/oidc/callback/../evil",
		"https://app.example.com/oidc/callbackx",
		"https://app.example.com/oidc/callback?x=1",
		"https://app.example.com/oidc/callback#frag",
		"https://APP.example.com/oidc/callback",
		"https://app.example.com:443/oidc/callback",
		"http://app.example.com/oidc/callback",
		"https://app.example.com/oidc/Callback",
		"https://app.example.com/oidc/%63allback",
		"https://app.example.com.evil.example/oidc/callback",
		"https://evil.example/?https://app.example.com/oidc/callback",
		"//evil.example/oidc/callback",
		"https://app.example.com/oidc/callback\x00",
		"",
	} {
		resp := o.authorize("default", o.authParams("redirect_uri", uri))
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("redirect_uri %q: %d, Location %q; want 400 and no redirect", uri, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// Errors after the redirect URI is known to be the client's go back
	// to it, with state and iss.
	resp := o.authorize("default", o.authParams("client_id", "nobody"))
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("unknown client: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = o.authorize("default", o.authParams("scope", "openid admin"))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), o.redirect+"?") || loc.Query().Get("error") != "invalid_scope" ||
		loc.Query().Get("state") != "st-1" || loc.Query().Get("iss") != o.http.URL+"/t/default" {
		t.Errorf("invalid scope: %d %q", resp.StatusCode, loc)
	}
	for _, rt := range []string{"token", "id_token", "code id_token", "code token", ""} {
		resp := o.authorize("default", o.authParams("response_type", rt))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "unsupported_response_type" || loc.Query().Get("code") != "" {
			t.Errorf("response_type %q: %d %q, want unsupported_response_type", rt, resp.StatusCode, loc)
		}
	}
}

// TestOIDCCodeOnce: a code is good once; presented again it is refused and
// the tokens the first exchange issued are revoked (RFC 6749 section 4.1.2).
// Two nodes on one PostgreSQL share the codes.
func TestOIDCCodeOnce(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		o := newOIDCEnv(t, opts)
		code := o.code("default", o.authParams())
		status, first := o.exchange("default", code)
		if status != http.StatusOK || first["access_token"] == nil {
			t.Fatalf("first exchange: %d %v", status, first)
		}
		if got := o.userinfo("default", first["access_token"]); got != http.StatusOK {
			t.Fatalf("userinfo with the first access token: %d", got)
		}
		status, second := o.exchange("default", code)
		if status != http.StatusBadRequest || second["error"] != "invalid_grant" {
			t.Fatalf("second exchange: %d %v, want invalid_grant", status, second)
		}
		if got := o.userinfo("default", first["access_token"]); got != http.StatusUnauthorized {
			t.Errorf("userinfo after the code's reuse: %d, want 401 (revoked)", got)
		}
		status, refreshed, _ := o.token("default", "app", o.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {first["refresh_token"].(string)}})
		if status != http.StatusBadRequest || refreshed["error"] != "invalid_grant" {
			t.Errorf("refresh after the code's reuse: %d %v, want invalid_grant", status, refreshed)
		}
	})
}

// TestOIDCCodeExpires: a code lives less than a minute.
func TestOIDCCodeExpires(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	if oidc.CodeTTL >= time.Minute {
		t.Fatalf("CodeTTL %v, want under a minute", oidc.CodeTTL)
	}
	code := o.code("default", o.authParams())
	o.clock.Advance(oidc.CodeTTL - time.Second)
	if status, m := o.exchange("default", code); status != http.StatusOK {
		t.Fatalf("exchange just before expiry: %d %v", status, m)
	}
	code = o.code("default", o.authParams())
	o.clock.Advance(oidc.CodeTTL)
	if status, m := o.exchange("default", code); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Fatalf("exchange after expiry: %d %v, want invalid_grant", status, m)
	}
}

// TestOIDCNonceAndClaims: the nonce of the request is in the ID token, and
// only the claims of the scopes asked for are.
func TestOIDCNonceAndClaims(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	for _, tc := range []struct {
		nonce, scope string
		want, absent []string
	}{
		{"abc-123", "openid", []string{"sub"}, []string{"email", "name", "roles"}},
		{"", "openid email", []string{"email", "email_verified"}, []string{"nonce", "name", "roles"}},
		{"ñ ünïcode & spaces", "openid profile roles", []string{"name", "given_name", "family_name", "preferred_username", "roles"}, []string{"email"}},
	} {
		status, m := o.exchange("default", o.code("default", o.authParams("nonce", tc.nonce, "scope", tc.scope)))
		if status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, m)
		}
		c := idTokenClaims(t, m["id_token"])
		if tc.nonce != "" && c["nonce"] != tc.nonce {
			t.Errorf("nonce %q: token has %v", tc.nonce, c["nonce"])
		}
		for _, k := range tc.want {
			if c[k] == nil {
				t.Errorf("scope %q: no %s in %v", tc.scope, k, c)
			}
		}
		for _, k := range tc.absent {
			if c[k] != nil {
				t.Errorf("scope %q: %s present in %v", tc.scope, k, c)
			}
		}
		if c["iss"] != o.http.URL+"/t/default" || c["aud"] != "app" {
			t.Errorf("iss, aud: %v %v", c["iss"], c["aud"])
		}
	}
}

// TestOIDCTenantIsolation: what one tenant's provider issued is refused by
// another's, even for a client of the same ID and secret.
func TestOIDCTenantIsolation(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	other := lanyard.Tenant{Slug: "globex", DisplayName: "Globex"}
	if err := o.store.CreateTenant(t.Context(), &other); err != nil {
		t.Fatal(err)
	}
	// The same client ID, redirect URI and secret hash in the other tenant.
	c, err := o.store.OIDCClient(t.Context(), o.tenant.ID, "app")
	if err != nil {
		t.Fatal(err)
	}
	c.TenantID = other.ID
	if err := o.store.CreateOIDCClient(t.Context(), &c); err != nil {
		t.Fatal(err)
	}
	code := o.code("default", o.authParams())
	if status, m := o.exchange("globex", code); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("default's code at globex: %d %v, want invalid_grant", status, m)
	}
	status, m := o.exchange("default", o.code("default", o.authParams()))
	if status != http.StatusOK {
		t.Fatal(status, m)
	}
	if got := o.userinfo("globex", m["access_token"]); got != http.StatusUnauthorized {
		t.Errorf("default's access token at globex: %d, want 401", got)
	}
	status, r, _ := o.token("globex", "app", o.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {m["refresh_token"].(string)}})
	if status != http.StatusBadRequest || r["error"] != "invalid_grant" {
		t.Errorf("default's refresh token at globex: %d %v", status, r)
	}
	end := o.get(o.browser, "/t/globex/oidc/logout?"+url.Values{"id_token_hint": {m["id_token"].(string)}}.Encode())
	if end.StatusCode != http.StatusBadRequest {
		t.Errorf("default's ID token as a hint at globex: %d, want 400", end.StatusCode)
	}
	// The browser's session of default opens nothing at globex: to the login.
	resp := o.authorize("globex", o.authParams())
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/t/globex/saml/login?") {
		t.Errorf("authorization at globex with default's session: %d %q, want the sign-in", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestOIDCClientAuthFailures: every way client authentication can fail is
// answered 401 invalid_client with the same body, which does not say what
// was wrong.
func TestOIDCClientAuthFailures(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	registerClient(t, o.store, o.tenant, lanyard.OIDCClient{ClientID: "post", AuthMethod: lanyard.ClientSecretPost, RedirectURIs: []string{o.redirect}})
	registerClient(t, o.store, o.tenant, lanyard.OIDCClient{ClientID: "spa", AuthMethod: lanyard.ClientAuthNone, RedirectURIs: []string{o.redirect}})
	code := o.code("default", o.authParams())
	grant := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o.redirect}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range grant {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	var bodies []string
	for _, tc := range []struct {
		name           string
		client, secret string // basic authentication when secret != ""
		form           url.Values
	}{
		{"wrong secret", "app", o.secret + "x", grant},
		{"secret of a prefix", "app", o.secret[:len(o.secret)-1], grant},
		{"unknown client", "nobody", o.secret, grant},
		{"client ID in another case", "APP", o.secret, grant},
		{"no credentials at all", "", "", grant},
		{"client_id only, for a confidential client", "", "", with("client_id", "app")},
		{"post for a basic client", "", "", with("client_id", "app", "client_secret", o.secret)},
		{"basic and post at once", "app", o.secret, with("client_id", "app", "client_secret", o.secret)},
		{"basic, and another client_id in the body", "app", o.secret, with("client_id", "post")},
		{"basic for a post client", "post", o.secret, grant},
		{"empty secret for a post client", "", "", with("client_id", "post", "client_secret", "")},
		{"secret for a public client", "spa", "anything", grant},
		{"assertion of the wrong type", "", "", with("client_assertion_type", "urn:x", "client_assertion", "a.b.c")},
		{"malformed assertion", "", "", with("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer", "client_assertion", "not-a-jwt")},
	} {
		status, m, resp := o.token("default", tc.client, tc.secret, tc.form)
		if status != http.StatusUnauthorized || m["error"] != "invalid_client" {
			t.Errorf("%s: %d %v, want 401 invalid_client", tc.name, status, m)
		}
		bodies = append(bodies, resp.body)
	}
	for i, b := range bodies {
		if b != bodies[0] {
			t.Errorf("answer %d differs from the first: %q vs %q", i, b, bodies[0])
		}
	}
	// The code was never redeemed by any of them.
	if status, m := o.exchange("default", code); status != http.StatusOK {
		t.Errorf("the code after failed client authentications: %d %v", status, m)
	}
}

// TestOIDCPKCE: public clients must use PKCE with S256; a verifier must
// match its challenge; a verifier without a challenge is refused (no PKCE
// downgrade, RFC 9700 section 2.1.1).
func TestOIDCPKCE(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	registerClient(t, o.store, o.tenant, lanyard.OIDCClient{ClientID: "spa", AuthMethod: lanyard.ClientAuthNone, RedirectURIs: []string{o.redirect}})
	verifier := strings.Repeat("v", 43) + "-._~0123456789"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	spa := func(extra ...string) url.Values {
		return o.authParams(append([]string{"client_id", "spa"}, extra...)...)
	}
	for name, params := range map[string]url.Values{
		"public client without PKCE": spa(),
		"plain method":               spa("code_challenge", challenge, "code_challenge_method", "plain"),
		"no method":                  spa("code_challenge", challenge),
		"short challenge":            spa("code_challenge", "abc", "code_challenge_method", "S256"),
		"method without challenge":   o.authParams("code_challenge_method", "S256"),
	} {
		resp := o.authorize("default", params)
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "invalid_request" || loc.Query().Get("code") != "" {
			t.Errorf("%s: %d %q, want invalid_request", name, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	redeem := func(client string, code string, v string) (int, map[string]any) {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o.redirect}, "client_id": {client}}
		if v != "" {
			form.Set("code_verifier", v)
		}
		secret := ""
		if client == "app" {
			form.Del("client_id")
			secret = o.secret
		}
		status, m, _ := o.token("default", client, secret, form)
		return status, m
	}
	withPKCE := spa("code_challenge", challenge, "code_challenge_method", "S256")
	for name, v := range map[string]string{
		"no verifier":      "",
		"wrong verifier":   strings.Repeat("w", 43),
		"the challenge":    challenge,
		"verifier + space": verifier + " ",
	} {
		if status, m := redeem("spa", o.code("default", withPKCE), v); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
			t.Errorf("%s: %d %v, want invalid_grant", name, status, m)
		}
	}
	if status, m := redeem("spa", o.code("default", withPKCE), verifier); status != http.StatusOK || m["id_token"] == nil {
		t.Errorf("public client with the right verifier: %d %v", status, m)
	}
	if status, m := redeem("app", o.code("default", o.authParams()), verifier); status != http.StatusBadRequest || m["error"] != "invalid_grant" {
		t.Errorf("verifier without a challenge: %d %v, want invalid_grant", status, m)
	}
	if status, m := redeem("app", o.code("default", o.authParams("code_challenge", challenge, "code_challenge_method", "S256")), verifier); status != http.StatusOK {
		t.Errorf("confidential client with PKCE: %d %v", status, m)
	}
}

// TestOIDCPrompt: prompt=none without a session answers login_required to
// the client; prompt=login and an exceeded max_age send the browser to a
// forced IdP login that comes back to the authorization endpoint.
func TestOIDCPrompt(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	anon := o.client()
	resp := o.get(anon, "/t/default/oidc/authorize?"+o.authParams("prompt", "none").Encode())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if loc == nil || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "st-1" || loc.Query().Get("iss") == "" {
		t.Errorf("prompt=none without a session: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code := o.code("default", o.authParams("prompt", "none")); code == "" {
		t.Error("prompt=none with a session gave no code")
	}
	resp = o.get(anon, "/t/default/oidc/authorize?"+o.authParams().Encode())
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/t/default/saml/login?") || strings.Contains(loc, "prompt=login") {
		t.Errorf("no session: %q, want the SAML sign-in", loc)
	}
	for name, params := range map[string]url.Values{
		"prompt=login":       o.authParams("prompt", "login"),
		"max_age exceeded":   o.authParams("max_age", "0"),
		"prompt=login other": o.authParams("prompt", "login consent"),
	} {
		if name == "max_age exceeded" {
			o.clock.Advance(2 * time.Second)
		}
		resp := o.authorize("default", params)
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || loc.Path != "/t/default/saml/login" || loc.Query().Get("prompt") != "login" {
			t.Errorf("%s: %q, want a forced SAML login", name, resp.Header.Get("Location"))
			continue
		}
		back, _ := url.Parse(loc.Query().Get("return_to"))
		if back.Path != "/t/default/oidc/authorize" || back.Query().Get("prompt") != "" || back.Query().Get("lanyard_auth_after") == "" || back.Query().Get("state") != "st-1" {
			t.Errorf("%s: return_to %q", name, back)
		}
		// The same return with the session older than the forced login is
		// sent to the IdP again, not given a code.
		resp = o.get(o.browser, back.String())
		if !strings.HasPrefix(resp.Header.Get("Location"), "/t/default/saml/login?") {
			t.Errorf("%s: return with a stale session: %q", name, resp.Header.Get("Location"))
		}
	}
	resp = o.authorize("default", o.authParams("prompt", "none login"))
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("error") != "invalid_request" {
		t.Errorf("prompt=none login: %q", resp.Header.Get("Location"))
	}
}

// TestOIDCPrivateKeyJWT: a client authenticating with a signed assertion
// (RFC 7523) is accepted once per assertion; a replayed, foreign-audience,
// expired or wrongly-signed assertion is invalid_client.
func TestOIDCPrivateKeyJWT(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub, _ := key.PublicKey.Bytes()
	jwks := `{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","x":"` + base64.RawURLEncoding.EncodeToString(pub[1:33]) +
		`","y":"` + base64.RawURLEncoding.EncodeToString(pub[33:]) + `"}]}`
	registerClient(t, o.store, o.tenant, lanyard.OIDCClient{ClientID: "svc", AuthMethod: lanyard.PrivateKeyJWT, JWKS: jwks, RedirectURIs: []string{o.redirect}})
	tokenURL := o.http.URL + "/t/default/oidc/token"
	assertion := func(k *ecdsa.PrivateKey, claims map[string]any) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256","kid":"k1","typ":"JWT"}`))
		p, _ := json.Marshal(claims)
		in := h + "." + base64.RawURLEncoding.EncodeToString(p)
		d := sha256.Sum256([]byte(in))
		r, s, _ := ecdsa.Sign(rand.Reader, k, d[:])
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return in + "." + base64.RawURLEncoding.EncodeToString(sig)
	}
	now := o.clock.Now()
	good := func(jti string) map[string]any {
		return map[string]any{"iss": "svc", "sub": "svc", "aud": tokenURL, "jti": jti, "exp": now.Add(time.Minute).Unix(), "iat": now.Unix()}
	}
	send := func(a string) (int, map[string]any) {
		code := o.code("default", o.authParams("client_id", "svc"))
		status, m, _ := o.token("default", "", "", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {o.redirect},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}})
		return status, m
	}
	first := assertion(key, good("j1"))
	if status, m := send(first); status != http.StatusOK {
		t.Fatalf("private_key_jwt: %d %v", status, m)
	}
	bad := map[string]string{"replayed": first, "signed by another key": assertion(other, good("j2"))}
	for name, mutate := range map[string]func(map[string]any){
		"audience of another tenant": func(c map[string]any) { c["aud"] = o.http.URL + "/t/globex/oidc/token" },
		"expired":                    func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() },
		"lives a day":                func(c map[string]any) { c["exp"] = now.Add(24 * time.Hour).Unix() },
		"no jti":                     func(c map[string]any) { delete(c, "jti") },
		"iss another client":         func(c map[string]any) { c["iss"] = "app" },
	} {
		c := good("j-" + name)
		mutate(c)
		bad[name] = assertion(key, c)
	}
	for name, a := range bad {
		if status, m := send(a); status != http.StatusUnauthorized || m["error"] != "invalid_client" {
			t.Errorf("%s: %d %v, want invalid_client", name, status, m)
		}
	}
	_ = big.NewInt
}

// TestOIDCEndSession: with a hint of the browser's session, the session
// ends and the browser goes back to the registered post-logout URI with
// state; without a hint, to Lanyard's sign-out page that asks, the session
// intact; an unregistered post-logout URI is never redirected to.
func TestOIDCEndSession(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	_, m := o.exchange("default", o.code("default", o.authParams()))
	hint := m["id_token"].(string)
	for _, back := range []string{"https://app.example.com/bye/", "https://evil.example/bye", "https://app.example.com/bye?x=1"} {
		resp := o.get(o.browser, "/t/default/oidc/logout?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {back}}.Encode())
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
			t.Errorf("post_logout_redirect_uri %q: %d %q", back, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp := o.get(o.browser, "/t/default/oidc/logout?"+url.Values{"post_logout_redirect_uri": {"https://app.example.com/bye"}, "client_id": {"app"}}.Encode())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/logout" {
		t.Errorf("without a hint: %d %q, want Lanyard's sign-out page", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := o.userinfo("default", m["access_token"]); got != http.StatusOK {
		t.Fatalf("the session ended without a hint: userinfo %d", got)
	}
	resp = o.get(o.browser, "/t/default/oidc/logout?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"z"}}.Encode())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://app.example.com/bye?state=z" {
		t.Errorf("with the hint: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := o.userinfo("default", m["access_token"]); got != http.StatusUnauthorized {
		t.Errorf("after the end-session request: userinfo %d, want 401", got)
	}
}

// TestOIDCEndSessionSSOWithoutSLO: a session from an IdP that publishes no
// Single Logout service ends at the end-session endpoint and the browser
// goes straight back to the registered post_logout_redirect_uri, with
// state; an unregistered one is still refused.
func TestOIDCEndSessionSSOWithoutSLO(t *testing.T) {
	o := newOIDCEnv(t, envOptions{})
	ctx := t.Context()
	idp, err := testidp.New("https://idp.default.test", testidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := o.admin.ImportIdP(ctx, "test", "default", admin.IdPSource{Metadata: md}); err != nil {
		t.Fatal(err)
	}
	meta := sessionMeta()
	meta.IdPEntityID, meta.NameID, meta.SessionIndex = "https://idp.default.test", "alice@example.com", "_s1"
	id, _, err := o.server.sessions.Open(ctx, o.tenant, o.user, lanyard.SessionSSO, meta)
	if err != nil {
		t.Fatal(err)
	}
	o.browser = o.client()
	base, _ := url.Parse(o.http.URL)
	o.browser.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
	_, m := o.exchange("default", o.code("default", o.authParams()))
	hint := m["id_token"].(string)
	resp := o.get(o.browser, "/t/default/oidc/logout?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://evil.example/bye"}, "state": {"z"}}.Encode())
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
		t.Errorf("unregistered post_logout_redirect_uri: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp = o.get(o.browser, "/t/default/oidc/logout?"+url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"https://app.example.com/bye"}, "state": {"z"}}.Encode())
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "https://app.example.com/bye?state=z" {
		t.Errorf("SSO session, IdP without Single Logout: %d %q, want the registered address with state", resp.StatusCode, resp.Header.Get("Location"))
	}
	if _, err := o.store.Session(ctx, lanyard.HashSessionID(id), o.clock.Now()); err == nil {
		t.Error("the Lanyard session is still alive")
	}
}
