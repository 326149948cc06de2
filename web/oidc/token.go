package oidc

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

const jwtBearerAssertion = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// tokenError is an error answer of the token endpoint (RFC 6749 section 5.2).
type tokenError struct {
	status int
	code   string
	desc   string
}

func (p *Provider) tokenFail(w http.ResponseWriter, e tokenError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	body := map[string]string{"error": e.code}
	if e.desc != "" {
		body["error_description"] = e.desc
	}
	writeJSON(w, e.status, body)
}

// errInvalidClient is every client authentication failure: it never says
// which part was wrong (unknown client, wrong secret, wrong method, bad
// assertion).
var errInvalidClient = tokenError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}

func invalidGrant(desc string) tokenError {
	return tokenError{http.StatusBadRequest, "invalid_grant", desc}
}

// token is the token endpoint (RFC 6749 section 3.2, OpenID Connect Core
// 1.0 section 3.1.3): the client authenticates, then redeems a code or a
// refresh token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil || r.Header.Get("Content-Type") != "" && !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		p.tokenFail(w, tokenError{http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded"})
		return
	}
	form := r.PostForm
	for _, vs := range form {
		if len(vs) > 1 {
			p.tokenFail(w, tokenError{http.StatusBadRequest, "invalid_request", "a parameter is repeated"})
			return
		}
	}
	tenant, err := p.store.Tenant(ctx, r.PathValue("tenant"))
	if err != nil {
		p.tokenFail(w, errInvalidClient)
		return
	}
	client, ok := p.authenticateClient(r, tenant)
	if !ok {
		p.tokenFail(w, errInvalidClient)
		return
	}
	var (
		resp map[string]any
		terr *tokenError
	)
	switch form.Get("grant_type") {
	case "authorization_code":
		resp, terr = p.redeemCode(ctx, tenant, client, form)
	case "refresh_token":
		resp, terr = p.redeemRefresh(ctx, tenant, client, form)
	case "":
		terr = &tokenError{http.StatusBadRequest, "invalid_request", "grant_type is missing"}
	default:
		terr = &tokenError{http.StatusBadRequest, "unsupported_grant_type", ""}
	}
	if terr != nil {
		p.tokenFail(w, *terr)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// authenticateClient finds the client of a token request and checks its
// credentials by the one method it registered (OpenID Connect Core 1.0
// section 9). Every failure is the same false.
func (p *Provider) authenticateClient(r *http.Request, tenant lanyard.Tenant) (lanyard.OIDCClient, bool) {
	ctx := r.Context()
	form := r.PostForm
	basicID, basicSecret, hasBasic := r.BasicAuth()
	var method, clientID, secret string
	methods := 0
	if hasBasic {
		// RFC 6749 section 2.3.1: both parts are form-encoded first.
		id, err1 := url.QueryUnescape(basicID)
		sec, err2 := url.QueryUnescape(basicSecret)
		if err1 != nil || err2 != nil {
			return lanyard.OIDCClient{}, false
		}
		method, clientID, secret = lanyard.ClientSecretBasic, id, sec
		methods++
	}
	if form.Has("client_secret") {
		method, clientID, secret = lanyard.ClientSecretPost, form.Get("client_id"), form.Get("client_secret")
		methods++
	}
	assertion := form.Get("client_assertion")
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		if form.Get("client_assertion_type") != jwtBearerAssertion {
			return lanyard.OIDCClient{}, false
		}
		method = lanyard.PrivateKeyJWT
		methods++
		_, payload, _, _, err := parseJWS(assertion)
		if err != nil {
			return lanyard.OIDCClient{}, false
		}
		var c struct {
			Sub string `json:"sub"`
		}
		if json.Unmarshal(payload, &c) != nil {
			return lanyard.OIDCClient{}, false
		}
		clientID = c.Sub
	}
	if methods == 0 {
		method, clientID = lanyard.ClientAuthNone, form.Get("client_id")
	}
	if methods > 1 || clientID == "" || (form.Has("client_id") && form.Get("client_id") != clientID) {
		return lanyard.OIDCClient{}, false
	}
	client, err := p.store.OIDCClient(ctx, tenant.ID, clientID)
	if err != nil {
		if !errors.Is(err, lanyard.ErrNotFound) {
			p.logger.Error("client not loaded", "tenant", tenant.Slug, "client_id", clientID, "err", err)
		}
		// Hash anyway, so that an unknown client costs what a known one does.
		h := sha256.Sum256([]byte(secret))
		subtle.ConstantTimeCompare(h[:], h[:])
		return lanyard.OIDCClient{}, false
	}
	if client.AuthMethod != method {
		p.logger.Warn("client authenticated by a method it did not register", "tenant", tenant.Slug, "client_id", clientID, "registered", client.AuthMethod, "used", method)
		return lanyard.OIDCClient{}, false
	}
	switch method {
	case lanyard.ClientSecretBasic, lanyard.ClientSecretPost:
		h := sha256.Sum256([]byte(secret))
		if subtle.ConstantTimeCompare(h[:], client.SecretHash) != 1 {
			p.logger.Warn("client secret does not match", "tenant", tenant.Slug, "client_id", clientID)
			return lanyard.OIDCClient{}, false
		}
	case lanyard.PrivateKeyJWT:
		if err := p.checkClientAssertion(ctx, tenant, client, assertion); err != nil {
			p.logger.Warn("client assertion refused", "tenant", tenant.Slug, "client_id", clientID, "err", err)
			return lanyard.OIDCClient{}, false
		}
	}
	return client, true
}

// checkClientAssertion verifies a private_key_jwt assertion (RFC 7523
// section 3): signed by one of the client's keys, iss and sub the client,
// aud the token endpoint or the issuer, not expired, not too long-lived,
// and its jti never seen before (cluster-wide).
func (p *Provider) checkClientAssertion(ctx context.Context, tenant lanyard.Tenant, client lanyard.OIDCClient, assertion string) error {
	h, payload, input, sig, err := parseJWS(assertion)
	if err != nil {
		return err
	}
	keys, err := parseClientJWKS(client.JWKS)
	if err != nil {
		return err
	}
	verified := false
	for _, k := range keys {
		if k.alg == h.Alg && (h.Kid == "" || h.Kid == k.kid) && verifySignature(h.Alg, k.key, input, sig) == nil {
			verified = true
			break
		}
	}
	if !verified {
		return errors.New("no key of the client verifies the signature")
	}
	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp int64           `json:"exp"`
		Jti string          `json:"jti"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return err
	}
	iss := p.Issuer(tenant.Slug)
	now := p.now()
	exp := time.Unix(c.Exp, 0)
	switch {
	case c.Iss != client.ClientID || c.Sub != client.ClientID:
		return errors.New("iss and sub must be the client ID")
	case !audienceHas(c.Aud, iss, iss+"/oidc/token"):
		return errors.New("aud must be the issuer or the token endpoint")
	case c.Exp == 0 || !now.Before(exp.Add(30*time.Second)):
		return errors.New("expired")
	case exp.After(now.Add(10 * time.Minute)):
		return errors.New("lives longer than 10 minutes")
	case c.Jti == "" || len(c.Jti) > 256:
		return errors.New("jti missing or too long")
	}
	first, err := p.store.MarkAssertionUsed(ctx, "oidc-client-assertion:"+tenant.Slug+":"+client.ClientID+":"+c.Jti, exp.Add(time.Minute), now)
	if err != nil {
		return err
	}
	if !first {
		return errors.New("jti already used (replay)")
	}
	return nil
}

// audienceHas reports whether the aud claim (a string or an array) holds
// one of want.
func audienceHas(raw json.RawMessage, want ...string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return slices.Contains(want, one)
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return slices.ContainsFunc(many, func(a string) bool { return slices.Contains(want, a) })
	}
	return false
}

// redemption is what one redemption's transaction decided.
type redemption struct {
	resp map[string]any
	terr *tokenError
	// reused is the family of a code or refresh token presented again:
	// revoked once the transaction is over.
	reused string
	// failed is the store or signing failure that rolls it back (the
	// store may retry the transaction on it).
	failed error
}

// redeem runs one redemption (a code exchange or a refresh rotation) in
// one transaction (the rule "one commit per token request"): the grant
// marked used, the new access and refresh tokens, and the record of the
// client's part in the session commit together or not at all, so that a
// failure at any write leaves the code or refresh token redeemable. A
// refusal of the request (invalid_grant...) commits the grant's use: a
// code presented with the wrong verifier is spent. The keys are loaded
// before the transaction: loading them may write, and signing inside it
// makes a signing failure roll the redemption back too.
func (p *Provider) redeem(ctx context.Context, tenant lanyard.Tenant, client lanyard.OIDCClient, what string,
	fn func(ctx context.Context, st Store) redemption) (map[string]any, *tokenError) {
	if _, err := p.keys.JWKS(ctx); err != nil {
		p.logger.Error("OpenID Connect keys not loaded", "err", err)
		return nil, &tokenError{http.StatusInternalServerError, "server_error", ""}
	}
	var out redemption
	err := p.store.Atomic(ctx, func(tx lanyard.Store) error {
		st, ok := tx.(Store)
		if !ok {
			return errors.New("oidc: the store's transactions do not keep OpenID Connect grants")
		}
		out = fn(lanyard.ContextWithTx(ctx, tx), st)
		return out.failed
	})
	if err != nil {
		p.logger.Error(what+" not redeemed: nothing of it is kept", "tenant", tenant.Slug, "client_id", client.ClientID, "err", err)
		return nil, &tokenError{http.StatusInternalServerError, "server_error", ""}
	}
	if out.reused != "" {
		n, rerr := p.store.RevokeOIDCFamily(ctx, out.reused)
		p.logger.Warn(what+" presented again: the tokens of its family are revoked", "tenant", tenant.Slug, "client_id", client.ClientID, "revoked", n, "err", rerr)
	}
	return out.resp, out.terr
}

// failure rolls a redemption back.
func failure(msg string, err error) redemption {
	return redemption{failed: fmt.Errorf("%s: %w", msg, err)}
}

func refused(e tokenError) redemption { return redemption{terr: &e} }

// redeemCode exchanges an authorization code (RFC 6749 section 4.1.3).
// The code is marked used before anything else is checked: a second
// presentation, by anyone, revokes what the first issued (RFC 6749
// section 4.1.2).
func (p *Provider) redeemCode(ctx context.Context, tenant lanyard.Tenant, client lanyard.OIDCClient, form url.Values) (map[string]any, *tokenError) {
	code := form.Get("code")
	if code == "" {
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "code is missing"}
	}
	return p.redeem(ctx, tenant, client, "authorization code", func(ctx context.Context, st Store) redemption {
		g, err := st.UseOIDCGrant(ctx, hashToken(code), lanyard.GrantCode, p.now())
		if errors.Is(err, lanyard.ErrConflict) {
			return redemption{reused: g.Family, terr: ptr(invalidGrant("the code was already used"))}
		}
		if err != nil {
			if !errors.Is(err, lanyard.ErrNotFound) {
				return failure("code not redeemed", err)
			}
			return refused(invalidGrant("the code is unknown or expired"))
		}
		switch {
		case g.TenantID != tenant.ID || g.ClientID != client.ClientID:
			return refused(invalidGrant("the code was issued to another client"))
		case form.Get("redirect_uri") != g.RedirectURI:
			return refused(invalidGrant("redirect_uri does not match the authorization request"))
		}
		verifier := form.Get("code_verifier")
		if g.CodeChallenge == "" && verifier != "" {
			return refused(invalidGrant("code_verifier sent for a request without code_challenge"))
		}
		if g.CodeChallenge != "" {
			sum := sha256.Sum256([]byte(verifier))
			if !validVerifierShape(verifier, 43, 128) || subtle.ConstantTimeCompare([]byte(b64.EncodeToString(sum[:])), []byte(g.CodeChallenge)) != 1 {
				return refused(invalidGrant("code_verifier does not match the code_challenge"))
			}
		}
		return p.issue(ctx, st, tenant, client, g, true)
	})
}

// redeemRefresh rotates a refresh token (RFC 9700 section 4.14.2): the
// token is good once; presenting it again revokes its whole family.
func (p *Provider) redeemRefresh(ctx context.Context, tenant lanyard.Tenant, client lanyard.OIDCClient, form url.Values) (map[string]any, *tokenError) {
	rt := form.Get("refresh_token")
	if rt == "" {
		return nil, &tokenError{http.StatusBadRequest, "invalid_request", "refresh_token is missing"}
	}
	return p.redeem(ctx, tenant, client, "refresh token", func(ctx context.Context, st Store) redemption {
		g, err := st.UseOIDCGrant(ctx, hashToken(rt), lanyard.GrantRefresh, p.now())
		if errors.Is(err, lanyard.ErrConflict) {
			return redemption{reused: g.Family, terr: ptr(invalidGrant("the refresh token was already used"))}
		}
		if err != nil {
			if !errors.Is(err, lanyard.ErrNotFound) {
				return failure("refresh token not redeemed", err)
			}
			return refused(invalidGrant("the refresh token is unknown, revoked or expired"))
		}
		if g.TenantID != tenant.ID || g.ClientID != client.ClientID {
			return refused(invalidGrant("the refresh token was issued to another client"))
		}
		if s := form.Get("scope"); s != "" {
			narrowed := strings.Fields(s)
			for _, sc := range narrowed {
				if !slices.Contains(g.Scopes, sc) {
					return refused(tokenError{http.StatusBadRequest, "invalid_scope", "a refresh cannot widen the scope"})
				}
			}
			g.Scopes = slices.Compact(slices.Sorted(slices.Values(narrowed)))
		}
		g.Nonce = "" // OpenID Connect Core 1.0 section 12.2
		return p.issue(ctx, st, tenant, client, g, false)
	})
}

// issue answers a redeemed grant with an access token, a refresh token
// and an ID token, all of g's family, provided its session is still live
// and its account may still sign in. It writes through st, the
// redemption's transaction.
func (p *Provider) issue(ctx context.Context, st Store, tenant lanyard.Tenant, client lanyard.OIDCClient, g lanyard.OIDCGrant, first bool) redemption {
	now := p.now()
	sess, err := st.Session(ctx, g.SessionHash, now)
	if err != nil {
		return refused(invalidGrant("the sign-in session has ended"))
	}
	user, err := st.User(ctx, g.UserID)
	if err != nil || user.Status != lanyard.StatusActive || user.Locked {
		return refused(invalidGrant("the account may no longer sign in"))
	}
	access, refresh := randomToken(), randomToken()
	accessExp := minTime(now.Add(AccessTokenTTL), sess.ExpiresAt())
	grants := []lanyard.OIDCGrant{
		{Hash: hashToken(access), Kind: lanyard.GrantAccess, ExpiresAt: accessExp},
		{Hash: hashToken(refresh), Kind: lanyard.GrantRefresh, ExpiresAt: sess.AbsExpiresAt},
	}
	for i := range grants {
		ng := &grants[i]
		ng.TenantID, ng.ClientID, ng.UserID, ng.SessionHash, ng.Family = g.TenantID, g.ClientID, g.UserID, g.SessionHash, g.Family
		ng.Scopes, ng.AuthTime, ng.ACR, ng.CreatedAt = g.Scopes, g.AuthTime, g.ACR, now
		if err := st.SaveOIDCGrant(ctx, ng); err != nil {
			return failure("token not stored", err)
		}
	}
	sub := subject(client, user)
	sid := sessionID(sess.Hash)
	if first {
		// Without this record no back-channel logout would ever be sent
		// for the client's part in the session: it commits with the tokens.
		if err := st.PutOIDCLogin(ctx, &lanyard.OIDCLogin{SessionHash: sess.Hash, TenantID: tenant.ID, ClientID: client.ClientID, Subject: sub, SID: sid}); err != nil {
			return failure("client login not recorded", err)
		}
	}
	claims := map[string]any{
		"iss": p.Issuer(tenant.Slug), "sub": sub, "aud": client.ClientID, "azp": client.ClientID,
		"iat": now.Unix(), "exp": now.Add(IDTokenTTL).Unix(), "auth_time": g.AuthTime.Unix(), "sid": sid,
	}
	if g.Nonce != "" {
		claims["nonce"] = g.Nonce
	}
	if g.ACR != "" {
		claims["acr"] = g.ACR
	}
	for k, v := range userClaims(client, user, g.Scopes) {
		claims[k] = v
	}
	idToken, err := p.keys.Sign(ctx, client.IDTokenAlg, claims)
	if err != nil {
		return failure("ID token not signed", err)
	}
	return redemption{resp: map[string]any{
		"access_token": access, "token_type": "Bearer", "expires_in": int(accessExp.Sub(now).Seconds()),
		"refresh_token": refresh, "id_token": idToken, "scope": strings.Join(g.Scopes, " "),
	}}
}

func ptr[T any](v T) *T { return &v }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
