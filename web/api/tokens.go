package api

import (
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// handleTokenList lists the API tokens (never their secrets).
func handleTokenList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.TokenList, error) {
		toks, err := d.Tokens.APITokens(r.Context())
		if err != nil {
			return apiv1.TokenList{}, err
		}
		return apiv1.TokenList{Tokens: listOf(toks, toToken)}, nil
	})
}

// handleTokenCreate creates a token; the secret is in the answer, once.
func handleTokenCreate(d Deps) endpoint {
	return jsonCall(d, http.StatusCreated, func(r *http.Request, _ none, in apiv1.TokenCreate) (apiv1.TokenCreated, error) {
		scopes := listOf(in.Scopes, func(s apiv1.Scope) string { return string(s) })
		tok, secret, err := d.Tokens.CreateTenantAPIToken(r.Context(), actor(r), in.Tenant, in.Name, scopes, time.Duration(in.ExpiresInHours)*time.Hour)
		if err != nil {
			return apiv1.TokenCreated{}, err
		}
		return apiv1.TokenCreated{Token: toToken(tok), Secret: secret}, nil
	})
}

// handleTokenRevoke revokes a token by name or ID.
func handleTokenRevoke(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.Token, error) {
		tok, err := d.Tokens.RevokeAPIToken(r.Context(), actor(r), r.PathValue("token"))
		if err != nil {
			return apiv1.Token{}, err
		}
		return toToken(tok), nil
	})
}

func toToken(t lanyard.APIToken) apiv1.Token {
	return apiv1.Token{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Scopes: listOf(t.Scopes, func(s string) apiv1.Scope { return apiv1.Scope(s) }),
		CreatedBy: t.CreatedBy, CreatedAt: t.CreatedAt, ExpiresAt: optTime(t.ExpiresAt), LastUsedAt: optTime(t.LastUsedAt), RevokedAt: optTime(t.RevokedAt), TenantID: t.TenantID}
}
