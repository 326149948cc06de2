// Package oidc is the OpenID Connect face of Lanyard: each tenant is an
// OpenID Provider with the issuer {base}/t/{tenant} (OpenID Connect Core
// 1.0, Discovery 1.0). The user signs in through the tenant's SAML IdP; the
// provider's session is the Lanyard session, so whatever ends one ends the
// other.
//
// Endpoints, per tenant: discovery, the key set, the authorization endpoint
// (authorization code flow only, PKCE S256, RFC 9207 "iss"), the token
// endpoint (client_secret_basic, client_secret_post, private_key_jwt, and
// public clients with PKCE; refresh tokens rotated on use), userinfo and
// the end-session endpoint (RP-Initiated Logout 1.0), which goes on to SAML
// Single Logout. Clients that registered a back-channel logout URI receive
// a logout token (Back-Channel Logout 1.0) when a session they took part in
// ends, whatever ended it.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Lifetimes of what the provider issues.
const (
	// CodeTTL: an authorization code lives less than a minute (RFC 9700
	// section 4.1 asks for short-lived codes).
	CodeTTL = 50 * time.Second
	// AccessTokenTTL bounds an access token; never beyond its session.
	AccessTokenTTL = 10 * time.Minute
	// IDTokenTTL is the "exp" of an ID token.
	IDTokenTTL = 10 * time.Minute
	// logoutTokenTTL is the "exp" of a back-channel logout token.
	logoutTokenTTL = 2 * time.Minute
	// DefaultLogoutInterval is how often Run looks for ended sessions.
	DefaultLogoutInterval = 5 * time.Second
	// maxParam bounds the length of each request parameter.
	maxParam = 2048
)

// Store is what the provider reads and writes.
type Store interface {
	lanyard.OIDCStore
	Tenant(ctx context.Context, slug string) (lanyard.Tenant, error)
	User(ctx context.Context, id int64) (lanyard.User, error)
	Session(ctx context.Context, hash []byte, now time.Time) (lanyard.Session, error)
	MarkAssertionUsed(ctx context.Context, id string, expires, now time.Time) (firstUse bool, err error)
	// Atomic runs a redemption in one transaction; the transaction it
	// hands over must be a Store too.
	Atomic(ctx context.Context, fn func(tx lanyard.Store) error) error
}

// SingleLogout continues a sign-out with the IdP (web/sso), then sends
// the browser to returnTo (when not "") rather than to the signed-out page.
type SingleLogout interface {
	StartReturning(w http.ResponseWriter, r *http.Request, sess lanyard.Session, returnTo string)
}

// Deps is what the provider needs.
type Deps struct {
	Kit          *ui.Kit
	Store        Store
	Keys         *Keys
	SingleLogout SingleLogout
	// BaseURL is Lanyard's external base URL; issuers are {BaseURL}/t/{t}.
	BaseURL *url.URL
	Ready   func(http.Handler) http.Handler
	// HTTPClient sends back-channel logout tokens. Nil means a client with
	// a 5-second timeout.
	HTTPClient *http.Client
	// LogoutInterval is how often Run looks for ended sessions to tell
	// clients about. Zero means DefaultLogoutInterval.
	LogoutInterval time.Duration
}

// Provider serves the OpenID Provider of every tenant.
type Provider struct {
	kit    *ui.Kit
	store  Store
	keys   *Keys
	slo    SingleLogout
	base   string
	ready  func(http.Handler) http.Handler
	client *http.Client
	every  time.Duration
	logger *slog.Logger
	now    func() time.Time
}

// New returns the provider.
func New(d Deps) *Provider {
	p := &Provider{kit: d.Kit, store: d.Store, keys: d.Keys, slo: d.SingleLogout, ready: d.Ready,
		client: d.HTTPClient, every: d.LogoutInterval, logger: d.Kit.Logger, now: d.Kit.Now}
	base := d.BaseURL
	if base == nil || base.Host == "" {
		base = &url.URL{Scheme: "http", Host: "localhost"}
	}
	p.base = strings.TrimSuffix(base.String(), "/")
	if p.client == nil {
		p.client = &http.Client{Timeout: 5 * time.Second}
	}
	if p.every <= 0 {
		p.every = DefaultLogoutInterval
	}
	if p.ready == nil {
		p.ready = func(h http.Handler) http.Handler { return h }
	}
	return p
}

// Routes registers the provider's endpoints.
func (p *Provider) Routes(mux *http.ServeMux) {
	ready := p.ready
	mux.Handle("GET /t/{tenant}/.well-known/openid-configuration", ready(http.HandlerFunc(p.discovery)))
	mux.Handle("GET /t/{tenant}/oidc/jwks", ready(http.HandlerFunc(p.jwks)))
	mux.Handle("GET /t/{tenant}/oidc/authorize", ready(http.HandlerFunc(p.authorize)))
	mux.Handle("POST /t/{tenant}/oidc/authorize", ready(http.MaxBytesHandler(http.HandlerFunc(p.authorize), 64<<10)))
	mux.Handle("POST /t/{tenant}/oidc/token", ready(http.MaxBytesHandler(http.HandlerFunc(p.token), 64<<10)))
	mux.Handle("GET /t/{tenant}/oidc/userinfo", ready(http.HandlerFunc(p.userinfo)))
	mux.Handle("POST /t/{tenant}/oidc/userinfo", ready(http.MaxBytesHandler(http.HandlerFunc(p.userinfo), 64<<10)))
	mux.Handle("GET /t/{tenant}/oidc/logout", ready(http.HandlerFunc(p.endSession)))
	mux.Handle("POST /t/{tenant}/oidc/logout", ready(http.MaxBytesHandler(http.HandlerFunc(p.endSession), 64<<10)))
}

// Issuer is the issuer of a tenant's provider.
func (p *Provider) Issuer(slug string) string { return p.base + "/t/" + slug }

// discovery answers the provider metadata (Discovery 1.0 section 3).
func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	tenant, err := p.store.Tenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		p.kit.RenderError(w, r, err)
		return
	}
	iss := p.Issuer(tenant.Slug)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/oidc/authorize",
		"token_endpoint":                        iss + "/oidc/token",
		"userinfo_endpoint":                     iss + "/oidc/userinfo",
		"jwks_uri":                              iss + "/oidc/jwks",
		"end_session_endpoint":                  iss + "/oidc/logout",
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public", "pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		"scopes_supported":                      lanyard.OIDCScopes,
		"claims_supported": append([]string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "azp", "sid"},
			lanyard.OIDCClaims...),
		"token_endpoint_auth_methods_supported":            []string{lanyard.ClientSecretBasic, lanyard.ClientSecretPost, lanyard.PrivateKeyJWT, lanyard.ClientAuthNone},
		"token_endpoint_auth_signing_alg_values_supported": []string{"RS256", "ES256"},
		"code_challenge_methods_supported":                 []string{"S256"},
		"prompt_values_supported":                          []string{"none", "login"},
		"authorization_response_iss_parameter_supported":   true,
		"backchannel_logout_supported":                     true,
		"backchannel_logout_session_supported":             true,
		"claims_parameter_supported":                       false,
		"request_parameter_supported":                      false,
		"request_uri_parameter_supported":                  false,
	})
}

// jwks answers the provider's public keys.
func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	if _, err := p.store.Tenant(r.Context(), r.PathValue("tenant")); err != nil {
		p.kit.RenderError(w, r, err)
		return
	}
	doc, err := p.keys.JWKS(r.Context())
	if err != nil {
		p.logger.Error("OpenID Connect keys not loaded", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "temporarily_unavailable"})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(doc)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

var b64 = base64.RawURLEncoding

// randomToken returns 256 random bits, base64url-encoded.
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return b64.EncodeToString(b)
}

// hashToken is the stored form of a code or token.
func hashToken(t string) []byte {
	h := sha256.Sum256([]byte(t))
	return h[:]
}
