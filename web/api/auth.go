package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

type tokenKey struct{}

// errAPIDisabled answers when the server runs without the admin service.
var errAPIDisabled = &lanyard.Error{Kind: lanyard.KindUnavailable, Message: "the admin API is not available on this server"}

// requireToken lets through calls with a live bearer token holding the
// operation's scope (lanyard.ScopeRead or ScopeWrite) and allowed its
// access by lanyard.Authorize, with what the token may do now (no more than
// its creator). The token is then in the context, where actor names it,
// and its principal too (lanyard.PrincipalFrom). Refusals carry the
// WWW-Authenticate header of RFC 6750 section 3.
func requireToken(d Deps, op operation, next http.Handler) http.Handler {
	scope := op.scope
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if d.Tokens == nil {
			writeError(d, w, r, errAPIDisabled)
			return
		}
		secret, ok := bearerToken(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lanyard"`)
			writeError(d, w, r, &lanyard.Error{Kind: lanyard.KindUnauthorized,
				Message: "send an API token as \"Authorization: Bearer <token>\"; an administrator creates one with: lanyard token create NAME --scopes read,write"})
			return
		}
		tok, principal, err := d.Tokens.AuthenticateAPIToken(r.Context(), secret)
		if err != nil {
			if lanyard.ErrorKind(err) == lanyard.KindUnauthorized {
				w.Header().Set("WWW-Authenticate", `Bearer realm="lanyard", error="invalid_token"`)
			}
			writeError(d, w, r, err)
			return
		}
		if !tok.Allows(scope) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="lanyard", error="insufficient_scope", scope=%q`, scope))
			writeError(d, w, r, &lanyard.Error{Kind: lanyard.KindForbidden,
				Message: fmt.Sprintf("the API token %q does not hold the %s scope this call needs; create a token with --scopes %s", tok.Name, scope, scope)})
			return
		}
		var tenantID int64
		if op.access == lanyard.AccessTenant {
			// The same answer for another tenant's and a missing tenant.
			if t, err := d.Tenants.Tenant(r.Context(), r.PathValue("tenant")); err == nil {
				tenantID = t.ID
			}
		}
		if err := lanyard.Authorize(principal, op.access, tenantID); err != nil {
			writeError(d, w, r, err)
			return
		}
		ctx := lanyard.WithPrincipal(context.WithValue(r.Context(), tokenKey{}, tok), principal)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// actor is the audit actor of an API call: "api:" and the token name.
func actor(r *http.Request) string {
	tok, _ := r.Context().Value(tokenKey{}).(lanyard.APIToken)
	return "api:" + tok.Name
}
