package web

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// testRP is a relying party written the way Go applications write them,
// on github.com/coreos/go-oidc and golang.org/x/oauth2: discovery, the code
// flow with PKCE, state and nonce, ID token verification, and a
// back-channel logout endpoint that verifies the logout tokens it gets.
type testRP struct {
	t        *testing.T
	srv      *httptest.Server
	issuer   string
	provider *gooidc.Provider
	config   oauth2.Config
	verifier *gooidc.IDTokenVerifier

	mu       sync.Mutex
	pending  map[string][2]string // state -> nonce, PKCE verifier
	token    *oauth2.Token
	idToken  *gooidc.IDToken
	claims   map[string]any
	logouts  []map[string]any // verified logout token claims
	lastErr  error
	rawQuery string // of the last callback
}

// newTestRP starts the relying party's server; its client is registered
// by register once the URL is known.
func newTestRP(t *testing.T) *testRP {
	rp := &testRP{t: t, pending: map[string][2]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", rp.login)
	mux.HandleFunc("GET /callback", rp.callback)
	mux.HandleFunc("POST /backchannel", rp.backchannel)
	mux.HandleFunc("GET /signed-out", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "signed out of the RP") })
	rp.srv = httptest.NewServer(mux)
	t.Cleanup(rp.srv.Close)
	return rp
}

// connect runs discovery against the issuer and sets up the client.
func (rp *testRP) connect(issuer, clientID, secret string) {
	rp.t.Helper()
	p, err := gooidc.NewProvider(context.Background(), issuer)
	if err != nil {
		rp.t.Fatalf("discovery at %s: %v", issuer, err)
	}
	rp.issuer, rp.provider = issuer, p
	rp.config = oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: rp.srv.URL + "/callback", Scopes: []string{gooidc.ScopeOpenID, "profile", "email", "roles", "groups"}}
	rp.verifier = p.Verifier(&gooidc.Config{ClientID: clientID})
}

func (rp *testRP) login(w http.ResponseWriter, r *http.Request) {
	state, nonce, verifier := oauth2.GenerateVerifier(), oauth2.GenerateVerifier(), oauth2.GenerateVerifier()
	rp.mu.Lock()
	rp.pending[state] = [2]string{nonce, verifier}
	rp.mu.Unlock()
	opts := []oauth2.AuthCodeOption{gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)}
	if p := r.URL.Query().Get("prompt"); p != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", p))
	}
	http.Redirect(w, r, rp.config.AuthCodeURL(state, opts...), http.StatusFound)
}

func (rp *testRP) fail(w http.ResponseWriter, err error) {
	rp.mu.Lock()
	rp.lastErr = err
	rp.mu.Unlock()
	http.Error(w, err.Error(), http.StatusBadRequest)
}

func (rp *testRP) callback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	rp.mu.Lock()
	rp.rawQuery = r.URL.RawQuery
	pend, ok := rp.pending[q.Get("state")]
	delete(rp.pending, q.Get("state"))
	rp.mu.Unlock()
	switch {
	case !ok:
		rp.fail(w, errors.New("unknown state"))
		return
	case q.Get("error") != "":
		rp.fail(w, fmt.Errorf("authorization error %s", q.Get("error")))
		return
	case q.Get("iss") != rp.issuer: // RFC 9207
		rp.fail(w, fmt.Errorf("iss %q in the authorization response, want %q", q.Get("iss"), rp.issuer))
		return
	}
	tok, err := rp.config.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pend[1]))
	if err != nil {
		rp.fail(w, fmt.Errorf("exchange: %w", err))
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := rp.verifier.Verify(ctx, raw)
	if err != nil {
		rp.fail(w, fmt.Errorf("ID token: %w", err))
		return
	}
	if idt.Nonce != pend[0] {
		rp.fail(w, fmt.Errorf("nonce %q, want %q", idt.Nonce, pend[0]))
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		rp.fail(w, err)
		return
	}
	rp.mu.Lock()
	rp.token, rp.idToken, rp.claims = tok, idt, claims
	rp.mu.Unlock()
	fmt.Fprintf(w, "signed in as %v", claims["preferred_username"])
}

// backchannel verifies a logout token (Back-Channel Logout 1.0 section
// 2.6): signature, iss, aud, the event, a sid or sub, and no nonce.
func (rp *testRP) backchannel(w http.ResponseWriter, r *http.Request) {
	raw := r.PostFormValue("logout_token")
	// Explicitly typed (Back-Channel Logout 1.0 section 2.4).
	var h struct {
		Typ string `json:"typ"`
	}
	if hb, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0]); err != nil || json.Unmarshal(hb, &h) != nil || h.Typ != "logout+jwt" {
		rp.fail(w, fmt.Errorf("logout token header typ %q, want logout+jwt", h.Typ))
		return
	}
	idt, err := rp.verifier.Verify(r.Context(), raw)
	if err != nil {
		rp.fail(w, fmt.Errorf("logout token: %w", err))
		return
	}
	var c map[string]any
	_ = idt.Claims(&c)
	events, _ := c["events"].(map[string]any)
	if _, ok := events["http://schemas.openid.net/event/backchannel-logout"]; !ok || c["nonce"] != nil || c["sid"] == nil {
		rp.fail(w, fmt.Errorf("not a logout token: %v", c))
		return
	}
	rp.mu.Lock()
	rp.logouts = append(rp.logouts, c)
	rp.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (rp *testRP) state() (tok *oauth2.Token, claims map[string]any, logouts []map[string]any, err error) {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return rp.token, rp.claims, append([]map[string]any(nil), rp.logouts...), rp.lastErr
}

// registerClient registers a confidential client (client_secret_basic) of
// the tenant and returns its secret.
func registerClient(t *testing.T, store lanyard.Store, tenant lanyard.Tenant, c lanyard.OIDCClient) string {
	t.Helper()
	secret := "secret-of-" + c.ClientID + "-" + oauth2.GenerateVerifier()
	c.TenantID = tenant.ID
	if c.AuthMethod == "" {
		c.AuthMethod = lanyard.ClientSecretBasic
	}
	if c.AuthMethod == lanyard.ClientSecretBasic || c.AuthMethod == lanyard.ClientSecretPost {
		h := sha256.Sum256([]byte(secret))
		c.SecretHash = h[:]
	}
	if c.Scopes == nil {
		c.Scopes = lanyard.OIDCScopes
	}
	if c.IDTokenAlg == "" {
		c.IDTokenAlg = "RS256"
	}
	if err := store.(lanyard.OIDCStore).CreateOIDCClient(context.Background(), &c); err != nil {
		t.Fatalf("register client %s: %v", c.ClientID, err)
	}
	return secret
}

// TestOIDCGoRelyingParty signs in to a go-oidc relying party through
// Lanyard and SimpleSAMLphp on each engine: discovery, code flow with PKCE,
// ID token verification (RS256, then ES256), userinfo, refresh with
// rotation and reuse detection, and RP-initiated logout that delivers a
// back-channel logout token and goes on to the IdP's Single Logout.
func TestOIDCGoRelyingParty(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newSSOEnv(t, opts.engine, []simplesamlphp.User{idpUser("alice", "alice@acme.example", "Alice", "Liddell", []string{"eng"})})
		acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer"}})
		ctx := context.Background()
		issuer := e.base + "/t/acme"

		for _, alg := range []string{"RS256", "ES256"} {
			t.Run(alg, func(t *testing.T) {
				rp := newTestRP(t)
				clientID := "grafana-" + alg
				secret := registerClient(t, e.store, acme, lanyard.OIDCClient{ClientID: clientID, IDTokenAlg: alg,
					RedirectURIs: []string{rp.srv.URL + "/callback"}, PostLogoutRedirectURIs: []string{rp.srv.URL + "/signed-out"},
					BackChannelLogoutURI: rp.srv.URL + "/backchannel"})
				rp.connect(issuer, clientID, secret)

				// Sign-in: RP -> authorization endpoint -> SAML login at the IdP.
				b := newBrowser()
				a := b.post(t, e.spLogin(b, "acme", "", "alice"))
				_ = a // a first SAML login, so the account exists; the OIDC flow reuses the IdP session below
				b = newBrowser()
				f, err := e.idp.Login(b.follow, rp.srv.URL+"/login", "alice", "alice-pass")
				if err != nil {
					t.Fatalf("login through the RP: %v", err)
				}
				ans := b.post(t, f)
				if ans.status != http.StatusSeeOther || !strings.HasPrefix(ans.location, "/t/acme/oidc/authorize?") {
					t.Fatalf("ACS answer: %d %q, want a redirect back to the authorization endpoint", ans.status, ans.location)
				}
				resp, err := b.follow.Get(e.base + ans.location)
				if err != nil {
					t.Fatal(err)
				}
				body := readAll(resp)
				tok, claims, _, rpErr := rp.state()
				if rpErr != nil || tok == nil {
					t.Fatalf("RP: %v (page %d: %s)", rpErr, resp.StatusCode, body)
				}
				if claims["email"] != "alice@acme.example" || claims["preferred_username"] != "alice" || claims["given_name"] != "Alice" ||
					claims["family_name"] != "Liddell" || claims["name"] != "Alice Liddell" || claims["email_verified"] != true {
					t.Errorf("ID token claims: %v", claims)
				}
				if roles, _ := claims["roles"].([]any); len(roles) != 1 || roles[0] != "engineer" {
					t.Errorf("roles: %v", claims["roles"])
				}
				if groups, _ := claims["groups"].([]any); len(groups) != 1 || groups[0] != "engineer" {
					t.Errorf("groups: %v", claims["groups"])
				}
				// acr: SimpleSAMLphp's AuthnContextClassRef for a password login.
				if acr, _ := claims["acr"].(string); !strings.HasPrefix(acr, "urn:oasis:names:tc:SAML:2.0:ac:classes:") {
					t.Errorf("acr %v, want the SAML AuthnContextClassRef", claims["acr"])
				}
				if claims["auth_time"] == nil || claims["sid"] == nil || claims["azp"] != clientID {
					t.Errorf("auth_time, sid, azp: %v", claims)
				}
				if h := strings.SplitN(tok.Extra("id_token").(string), ".", 2)[0]; !strings.Contains(string(mustB64(t, h)), `"alg":"`+alg+`"`) {
					t.Errorf("ID token header %s, want alg %s", mustB64(t, h), alg)
				}

				// Userinfo with the access token.
				ui, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
				if err != nil || ui.Email != "alice@acme.example" || ui.Subject != claims["sub"] {
					t.Fatalf("userinfo: %+v, %v", ui, err)
				}

				// Refresh: a new refresh token each time; the old one
				// presented again revokes the family, the new one with it.
				old := *tok
				old.Expiry = time.Now().Add(-time.Minute)
				fresh, err := rp.config.TokenSource(ctx, &old).Token()
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
					t.Fatalf("refresh did not rotate: %+v", fresh)
				}
				if raw, _ := fresh.Extra("id_token").(string); raw == "" {
					t.Error("no ID token on refresh")
				} else if _, err := rp.verifier.Verify(ctx, raw); err != nil {
					t.Errorf("ID token on refresh: %v", err)
				}
				if _, err := rp.config.TokenSource(ctx, &old).Token(); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
					t.Fatalf("reused refresh token: %v, want invalid_grant", err)
				}
				stale := *fresh
				stale.Expiry = time.Now().Add(-time.Minute)
				if _, err := rp.config.TokenSource(ctx, &stale).Token(); err == nil {
					t.Fatal("the rotated refresh token still works after its family was revoked")
				}
				if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
					t.Fatal("an access token of the revoked family still reads userinfo")
				}

				// A second sign-in (the IdP and Lanyard sessions are live: no
				// login form), then RP-initiated logout.
				resp, err = b.follow.Get(rp.srv.URL + "/login")
				if err != nil {
					t.Fatal(err)
				}
				readAll(resp)
				tok, claims, _, rpErr = rp.state()
				if rpErr != nil {
					t.Fatal(rpErr)
				}
				end := e.base + "/t/acme/oidc/logout?" + url.Values{"id_token_hint": {tok.Extra("id_token").(string)},
					"post_logout_redirect_uri": {rp.srv.URL + "/signed-out"}, "state": {"bye"}}.Encode()
				code, page := b.get(t, end)
				if code != http.StatusOK || !strings.Contains(page, e.idp.BaseURL) {
					t.Errorf("end-session: %d, want the way on to the IdP's Single Logout:\n%.800s", code, page)
				}
				// On to SimpleSAMLphp's Single Logout, whose LogoutResponse
				// comes back to Lanyard, which sends the browser to the
				// client's registered post_logout_redirect_uri, with state.
				next := regexp.MustCompile(`http-equiv="refresh" content="0; url=([^"]+)"`).FindStringSubmatch(page)
				if next == nil {
					t.Fatalf("the end-session answer does not go on to the IdP:\n%.800s", page)
				}
				var hops []string
				b.follow.CheckRedirect = func(r *http.Request, via []*http.Request) error {
					hops = append(hops, r.URL.String())
					return nil
				}
				resp, err = b.follow.Get(html.UnescapeString(next[1]))
				b.follow.CheckRedirect = nil
				if err != nil {
					t.Fatal(err)
				}
				if body := readAll(resp); resp.Request.URL.String() != rp.srv.URL+"/signed-out?state=bye" || body != "signed out of the RP" {
					t.Errorf("the sign-out ended at %s (%q), want %s", resp.Request.URL, body, rp.srv.URL+"/signed-out?state=bye")
				}
				if !slices.ContainsFunc(hops, func(h string) bool { return strings.HasPrefix(h, e.base+"/t/acme/saml/slo?SAMLResponse=") }) {
					t.Errorf("the way back did not pass the IdP's LogoutResponse at Lanyard: %v", hops)
				}
				_, _, logouts, rpErr := rp.state()
				if rpErr != nil || len(logouts) != 1 || logouts[0]["sid"] != claims["sid"] || logouts[0]["sub"] != claims["sub"] {
					t.Fatalf("back-channel logouts %v (err %v), want one for sid %v", logouts, rpErr, claims["sid"])
				}
				if _, err := rp.provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
					t.Error("userinfo still answers after the session ended")
				}
				tok.Expiry = time.Now().Add(-time.Minute)
				if _, err := rp.config.TokenSource(ctx, tok).Token(); err == nil {
					t.Error("refresh still works after the session ended")
				}
			})
		}
	})
}

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
