package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/session"
)

// endSession is the end-session endpoint (RP-Initiated Logout 1.0). Its
// checks, in order:
//
//  1. id_token_hint, when given, is an ID token this tenant's provider
//     signed (expired or not); it names the client (its aud);
//  2. client_id, when given, agrees with it;
//  3. post_logout_redirect_uri, when given, is one the client registered,
//     character for character; otherwise nothing is redirected anywhere;
//  4. the browser's Lanyard session of the tenant ends when the hint names
//     it (without a hint, the browser goes to Lanyard's sign-out page,
//     which asks the user),
//     clients that registered for back-channel logout are told, and the
//     sign-out goes on to the IdP's Single Logout when it has one, and
//     from there (or at once without one) the browser goes to
//     post_logout_redirect_uri (with state).
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		p.kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid, Message: "The sign-out request could not be read.", Err: err})
		return
	}
	q := r.Form
	bad := func(msg string) {
		p.kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid, Message: msg})
	}
	tenant, err := p.store.Tenant(ctx, r.PathValue("tenant"))
	if err != nil {
		p.kit.RenderError(w, r, err)
		return
	}
	// 1. The hint.
	clientID := q.Get("client_id")
	var hintSID string
	if hint := q.Get("id_token_hint"); hint != "" {
		c, err := p.verifyOwnToken(ctx, tenant, hint)
		if err != nil {
			p.logger.Warn("end-session request with an id_token_hint this provider did not issue", "tenant", tenant.Slug, "err", err)
			bad("The sign-out request names a sign-in this service did not make.")
			return
		}
		// 2. The client.
		if clientID != "" && clientID != c.Aud {
			bad("The sign-out request names two different applications.")
			return
		}
		clientID, hintSID = c.Aud, c.SID
	}
	// 3. Where to go back to.
	back := q.Get("post_logout_redirect_uri")
	if back != "" {
		client, err := p.store.OIDCClient(ctx, tenant.ID, clientID)
		if err != nil || !slices.Contains(client.PostLogoutRedirectURIs, back) {
			p.logger.Warn("end-session request with a post_logout_redirect_uri the client did not register", "tenant", tenant.Slug, "client_id", clientID, "uri", back)
			bad("The application asked to return to an address it did not register. You have not been signed out.")
			return
		}
		if state := q.Get("state"); state != "" {
			u, _ := url.Parse(back)
			v := u.Query()
			v.Set("state", state)
			u.RawQuery = v.Encode()
			back = u.String()
		}
	}
	// 4. The session.
	id, sess, err := p.kit.CurrentSession(r)
	if err != nil && !errors.Is(err, session.ErrNoSession) {
		p.kit.RenderError(w, r, err)
		return
	}
	signedIn := err == nil && sess.TenantID == tenant.ID
	if signedIn && q.Get("id_token_hint") == "" {
		// Without a hint nothing shows that the user's own application
		// asked: the sign-out page asks the user (no logout by a link
		// on another site).
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/logout", http.StatusFound)
		return
	}
	if signedIn && hintSID == sessionID(sess.Hash) {
		p.kit.EndSession(ctx, id, "OpenID Connect end-session request")
		p.kit.ClearSessionCookie(w)
		p.kit.Audit(ctx, lanyard.AuditEvent{TenantID: tenant.ID, Actor: "user", Action: "oidc.logout", Outcome: "success",
			Subject: fmt.Sprint(sess.UserID), Reason: "client " + clientID})
		p.SendLogouts(ctx)
		if sess.Kind == lanyard.SessionSSO && sess.NameID != "" && p.slo != nil {
			// The browser comes back to post_logout_redirect_uri once the
			// IdP has answered: the checked address is kept server-side
			// with the LogoutRequest.
			p.slo.StartReturning(w, r, sess, back)
			return
		}
	}
	if back != "" {
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, back, http.StatusFound)
		return
	}
	p.kit.RenderSignedOut(w, r, "")
}

// ownClaims are the claims of an ID token the end-session endpoint reads.
type ownClaims struct {
	Iss string `json:"iss"`
	Aud string `json:"aud"`
	SID string `json:"sid"`
}

// verifyOwnToken checks that token was signed by this provider's keys for
// tenant; its expiry does not matter (a hint names a past sign-in).
func (p *Provider) verifyOwnToken(ctx context.Context, tenant lanyard.Tenant, token string) (ownClaims, error) {
	h, payload, input, sig, err := parseJWS(token)
	if err != nil {
		return ownClaims{}, err
	}
	key, alg := p.keys.publicKey(ctx, h.Kid)
	if key == nil || alg != h.Alg {
		return ownClaims{}, errors.New("unknown key or algorithm")
	}
	if err := verifySignature(alg, key, input, sig); err != nil {
		return ownClaims{}, err
	}
	var c ownClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return ownClaims{}, err
	}
	if c.Iss != p.Issuer(tenant.Slug) {
		return ownClaims{}, fmt.Errorf("issued by %q, not this tenant", c.Iss)
	}
	return c, nil
}

// SendLogouts tells the clients that took part in sessions that have
// ended (whatever ended them: sign-out, Single Logout, the IdP's re-check,
// an administrator, expiry) with a logout token each (Back-Channel Logout
// 1.0 section 2.4), and forgets the sessions' grants. Each ended session is
// taken by one node only.
func (p *Provider) SendLogouts(ctx context.Context) {
	for range 100 { // bounded: 100 batches per call
		logins, err := p.store.TakeEndedOIDCLogins(ctx, p.now(), 100)
		if err != nil {
			p.logger.Error("ended sessions not read; back-channel logouts wait for the next round", "err", err)
			return
		}
		for _, l := range logins {
			p.sendLogout(ctx, l)
		}
		if len(logins) < 100 {
			return
		}
	}
}

// logoutTokenType is the "typ" header of a logout token.
const logoutTokenType = "logout+jwt"

// sendLogout posts one logout token, when the client registered for them.
func (p *Provider) sendLogout(ctx context.Context, l lanyard.OIDCLogin) {
	tenant, err := p.tenantByID(ctx, l.TenantID)
	if err != nil {
		return
	}
	client, err := p.store.OIDCClient(ctx, l.TenantID, l.ClientID)
	if err != nil || client.BackChannelLogoutURI == "" {
		return
	}
	now := p.now()
	// typ "logout+jwt" (Back-Channel Logout 1.0 section 2.4): a logout
	// token can never pass for an ID token.
	token, err := p.keys.SignTyped(ctx, client.IDTokenAlg, logoutTokenType, map[string]any{
		"iss": p.Issuer(tenant.Slug), "aud": client.ClientID, "sub": l.Subject, "sid": l.SID,
		"iat": now.Unix(), "exp": now.Add(logoutTokenTTL).Unix(), "jti": randomToken(),
		"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
	})
	if err != nil {
		p.logger.Error("logout token not signed", "client_id", client.ClientID, "err", err)
		return
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, client.BackChannelLogoutURI,
		strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
	if err != nil {
		return
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		p.logger.Warn("back-channel logout not delivered", "tenant", tenant.Slug, "client_id", client.ClientID, "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		p.logger.Warn("back-channel logout refused by the client", "tenant", tenant.Slug, "client_id", client.ClientID, "status", resp.StatusCode)
		return
	}
	p.logger.Info("back-channel logout delivered", "tenant", tenant.Slug, "client_id", client.ClientID, "sid", l.SID)
}

func (p *Provider) tenantByID(ctx context.Context, id int64) (lanyard.Tenant, error) {
	type byID interface {
		TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
	}
	if s, ok := p.store.(byID); ok {
		return s.TenantByID(ctx, id)
	}
	return lanyard.Tenant{}, errors.New("oidc: the store cannot find tenants by ID")
}

// Run sends back-channel logouts for ended sessions every LogoutInterval,
// purges expired grants, and keeps the signing keys fresh, until ctx is
// done.
func (p *Provider) Run(ctx context.Context) {
	go p.keys.Run(ctx)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.SendLogouts(ctx)
		if _, err := p.store.PurgeOIDCGrants(ctx, p.now()); err != nil && ctx.Err() == nil {
			p.logger.Warn("expired OpenID Connect grants not purged", "err", err)
		}
	}
}
