package oidc

import (
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// userinfo is the UserInfo endpoint (OpenID Connect Core 1.0 section
// 5.3): an access token of this tenant, whose session is still live and
// whose account may still sign in, gets the claims of its scopes.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	refuse := func(code string) {
		w.Header().Set("WWW-Authenticate", `Bearer error="`+code+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code})
	}
	token, ok := bearerToken(r)
	if !ok {
		refuse("invalid_request")
		return
	}
	now := p.now()
	tenant, err := p.store.Tenant(ctx, r.PathValue("tenant"))
	if err != nil {
		refuse("invalid_token")
		return
	}
	g, err := p.store.OIDCGrant(ctx, hashToken(token), lanyard.GrantAccess, now)
	if err != nil || g.TenantID != tenant.ID {
		refuse("invalid_token")
		return
	}
	if _, err := p.store.Session(ctx, g.SessionHash, now); err != nil {
		refuse("invalid_token")
		return
	}
	user, err := p.store.User(ctx, g.UserID)
	if err != nil || user.Status != lanyard.StatusActive || user.Locked {
		refuse("invalid_token")
		return
	}
	client, err := p.store.OIDCClient(ctx, tenant.ID, g.ClientID)
	if err != nil {
		refuse("invalid_token")
		return
	}
	claims := userClaims(client, user, g.Scopes)
	claims["sub"] = subject(client, user)
	writeJSON(w, http.StatusOK, claims)
}

// bearerToken reads the access token of a request (RFC 6750 sections 2.1
// and 2.2): the Authorization header, or a form body.
func bearerToken(r *http.Request) (string, bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			return "", false
		}
		return strings.TrimSpace(token), true
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		if err := r.ParseForm(); err == nil && r.PostForm.Get("access_token") != "" {
			return r.PostForm.Get("access_token"), true
		}
	}
	return "", false
}
