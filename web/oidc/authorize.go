package oidc

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// authAfterParam carries, through the IdP login, the instant (Unix
// milliseconds) after which the session must have been opened: set when the client asked for a fresh
// login (prompt=login, max_age), so that the request that comes back is
// not sent to the IdP again.
const authAfterParam = "lanyard_auth_after"

// authorize is the authorization endpoint (OpenID Connect Core 1.0 section
// 3.1.2). Its checks, in order:
//
//  1. the tenant exists; client_id names one of its clients, and
//     redirect_uri is one of the client's, character for character. Until
//     both hold, errors are shown here and never sent anywhere (no open
//     redirect);
//  2. response_type is "code"; scope holds "openid" and only scopes the
//     client may ask for; no request objects;
//  3. PKCE: a code_challenge must use S256; public clients must send one;
//  4. the Lanyard session of the tenant: none, or too old for max_age, or
//     not fresh after prompt=login, sends the browser to the IdP (with
//     ForceAuthn for a fresh login), or answers login_required to
//     prompt=none; an account that may no longer sign in is access_denied;
//  5. a code, good once and for CodeTTL, goes back with state and iss.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid, Message: "The sign-in request could not be read.", Err: err})
		return
	}
	q := r.Form
	badRequest := func(msg string) {
		p.kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid, Message: msg})
	}
	// 1. Client and redirect URI.
	for name, vs := range q {
		if len(vs) > 1 || len(vs[0]) > maxParam {
			badRequest("The sign-in request repeats the parameter " + strconv.Quote(name) + " or is too long.")
			return
		}
	}
	tenant, err := p.store.Tenant(ctx, r.PathValue("tenant"))
	if err != nil {
		p.kit.RenderError(w, r, err)
		return
	}
	client, err := p.store.OIDCClient(ctx, tenant.ID, q.Get("client_id"))
	if errors.Is(err, lanyard.ErrNotFound) {
		p.logger.Warn("OpenID Connect authorization for an unknown client", "tenant", tenant.Slug, "client_id", q.Get("client_id"))
		badRequest("The application that sent you here is not registered with this organisation's sign-in service.")
		return
	}
	if err != nil {
		p.kit.RenderError(w, r, err)
		return
	}
	redirectURI := q.Get("redirect_uri")
	if !slices.Contains(client.RedirectURIs, redirectURI) {
		p.logger.Warn("OpenID Connect authorization with a redirect URI the client did not register", "tenant", tenant.Slug, "client_id", client.ClientID, "redirect_uri", redirectURI)
		badRequest("The application that sent you here asked to return to an address it did not register. Tell its administrator.")
		return
	}
	iss := p.Issuer(tenant.Slug)
	state := q.Get("state")
	fail := func(code, desc string) {
		v := url.Values{"error": {code}, "iss": {iss}}
		if desc != "" {
			v.Set("error_description", desc)
		}
		if state != "" {
			v.Set("state", state)
		}
		redirectTo(w, r, redirectURI, v)
	}
	// 2. What is asked for.
	if rt := q.Get("response_type"); rt != "code" {
		fail("unsupported_response_type", "only the authorization code flow (response_type=code) is supported")
		return
	}
	if q.Has("request") {
		fail("request_not_supported", "")
		return
	}
	if q.Has("request_uri") {
		fail("request_uri_not_supported", "")
		return
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		fail("invalid_request", "only response_mode=query is supported")
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if !slices.Contains(scopes, "openid") {
		fail("invalid_scope", `the scope must include "openid"`)
		return
	}
	for _, s := range scopes {
		if !slices.Contains(client.Scopes, s) {
			fail("invalid_scope", "the client may not ask for the scope "+strconv.Quote(s))
			return
		}
	}
	scopes = slices.Compact(slices.Sorted(slices.Values(scopes)))
	// 3. PKCE (RFC 7636).
	challenge := q.Get("code_challenge")
	switch {
	case challenge == "" && client.Public():
		fail("invalid_request", "a public client must use PKCE (code_challenge with code_challenge_method=S256)")
		return
	case challenge == "" && q.Has("code_challenge_method"):
		fail("invalid_request", "code_challenge_method without code_challenge")
		return
	case challenge != "" && q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "code_challenge_method must be S256")
		return
	case challenge != "" && !validVerifierShape(challenge, 43, 43):
		fail("invalid_request", "code_challenge must be a base64url SHA-256 (43 characters)")
		return
	}
	// 4. The session.
	prompts := strings.Fields(q.Get("prompt"))
	promptNone, promptLogin := slices.Contains(prompts, "none"), slices.Contains(prompts, "login")
	if promptNone && len(prompts) > 1 {
		fail("invalid_request", "prompt=none cannot be combined with other values")
		return
	}
	maxAge := -1
	if v := q.Get("max_age"); v != "" {
		if maxAge, err = strconv.Atoi(v); err != nil || maxAge < 0 {
			fail("invalid_request", "max_age must be a number of seconds")
			return
		}
	}
	var authAfter int64
	if v := q.Get(authAfterParam); v != "" {
		authAfter, _ = strconv.ParseInt(v, 10, 64)
	}
	now := p.now()
	_, sess, err := p.kit.CurrentSession(r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		p.kit.RenderError(w, r, err)
		return
	}
	signedIn := err == nil && sess.TenantID == tenant.ID
	fresh := authAfter == 0 && promptLogin ||
		signedIn && maxAge >= 0 && now.Sub(sess.CreatedAt) > time.Duration(maxAge)*time.Second ||
		signedIn && authAfter > 0 && sess.CreatedAt.UnixMilli() <= authAfter
	if !signedIn || fresh {
		if promptNone {
			fail("login_required", "")
			return
		}
		back := url.Values{}
		for k, v := range q {
			if k != "prompt" && k != authAfterParam {
				back[k] = v
			}
		}
		login := url.Values{}
		if fresh {
			back.Set(authAfterParam, strconv.FormatInt(now.UnixMilli(), 10))
			login.Set("prompt", "login")
		}
		login.Set("return_to", "/t/"+tenant.Slug+"/oidc/authorize?"+back.Encode())
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/t/"+url.PathEscape(tenant.Slug)+"/saml/login?"+login.Encode(), http.StatusFound)
		return
	}
	user, err := p.store.User(ctx, sess.UserID)
	if err != nil || user.Status != lanyard.StatusActive || user.Locked {
		p.logger.Warn("OpenID Connect authorization refused: the account may not sign in", "tenant", tenant.Slug, "user", sess.UserID, "err", err)
		fail("access_denied", "")
		return
	}
	// 5. The code.
	code := randomToken()
	g := lanyard.OIDCGrant{
		Hash: hashToken(code), Kind: lanyard.GrantCode, TenantID: tenant.ID, ClientID: client.ClientID,
		UserID: user.ID, SessionHash: sess.Hash, Family: randomToken(), Scopes: scopes, Nonce: q.Get("nonce"),
		RedirectURI: redirectURI, CodeChallenge: challenge, AuthTime: sess.CreatedAt, ACR: sess.AuthnContext,
		CreatedAt: now, ExpiresAt: now.Add(CodeTTL),
	}
	if err := p.store.SaveOIDCGrant(ctx, &g); err != nil {
		p.logger.Error("authorization code not stored", "tenant", tenant.Slug, "client_id", client.ClientID, "err", err)
		fail("server_error", "")
		return
	}
	v := url.Values{"code": {code}, "iss": {iss}}
	if state != "" {
		v.Set("state", state)
	}
	redirectTo(w, r, redirectURI, v)
}

// redirectTo sends the browser to the client's redirect URI with the
// response parameters added to its query.
func redirectTo(w http.ResponseWriter, r *http.Request, redirectURI string, v url.Values) {
	u, err := url.Parse(redirectURI)
	if err != nil {
		http.Error(w, "bad redirect URI", http.StatusBadRequest)
		return
	}
	q := u.Query()
	for k, vs := range v {
		q[k] = vs
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

// validVerifierShape reports whether s is min to max characters of the
// PKCE alphabet (RFC 7636 section 4.1).
func validVerifierShape(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	for _, c := range s {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return false
		}
	}
	return true
}
