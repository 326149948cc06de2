package lanyard

import (
	"context"
	"net/url"
	"strings"
	"time"
)

// This file holds what the application gateway needs from the store: the
// keys that sign the identity tokens handed to applications, and the routes
// of the built-in reverse proxy. Both are kept in the store so that every
// node of a cluster signs with, and publishes, the same keys and serves the
// same routes. Store includes them (GatewayStore).

// SigningKey is a key that signs the identity tokens (JWT) Lanyard hands to
// applications. Keys rotate: a key is published at /.well-known/jwks.json
// from its creation until PublishUntil, and signs only before SignUntil, so
// that an application that caches the key set already knows the next key
// when it starts being used, and still knows an old key while tokens it
// signed are alive.
type SigningKey struct {
	ID           string // the "kid"; unique
	Algorithm    string // the JWS "alg", e.g. ES256
	PrivateKey   []byte // PKCS #8, DER
	CreatedAt    time.Time
	SignUntil    time.Time // the key signs nothing at or after this instant
	PublishUntil time.Time // the key is published until this instant, then purged
}

// SigningKeyStore keeps the signing keys of identity tokens, cluster-wide.
type SigningKeyStore interface {
	// AddSigningKey inserts k. ErrConflict when the ID exists.
	AddSigningKey(ctx context.Context, k *SigningKey) error
	// SigningKeys lists the keys still published at now (PublishUntil after
	// now), oldest first (by CreatedAt, then ID).
	SigningKeys(ctx context.Context, now time.Time) ([]SigningKey, error)
	// PurgeSigningKeys deletes the keys no longer published at now and
	// reports how many.
	PurgeSigningKeys(ctx context.Context, now time.Time) (int, error)
}

// ProxyRoute sends the requests for a host and path prefix to an upstream
// application, through Lanyard's reverse proxy, once the user is signed in
// to the tenant and holds the roles.
type ProxyRoute struct {
	// Name identifies the route; unique. 1 to 64 of a-z, 0-9, '-', '_', '.'.
	Name string `json:"name"`
	// Host is the request host the route answers (lower case, without
	// port). Empty matches any host.
	Host string `json:"host,omitempty"`
	// PathPrefix is the path prefix the route answers, starting with "/".
	// Default "/". A prefix ending in "/" matches the paths below it; one
	// without also matches itself ("/app" matches "/app" and "/app/x", not
	// "/apple").
	PathPrefix string `json:"path_prefix,omitempty"`
	// Upstream is the absolute http:// or https:// URL of the application.
	Upstream string `json:"upstream"`
	// Tenant is the slug of the tenant whose users may pass. Default
	// DefaultTenantSlug.
	Tenant string `json:"tenant,omitempty"`
	// Roles must all be held by the user; empty lets every signed-in user
	// of the tenant pass.
	Roles []string `json:"roles,omitempty"`
	// BearerToken also sends the identity token as "Authorization: Bearer"
	// (it is always sent as X-Lanyard-JWT). Default false: the client's
	// own Authorization header passes unchanged.
	BearerToken bool `json:"bearer_token,omitempty"`
	// StripPrefix removes PathPrefix from the path sent upstream. Default false.
	StripPrefix bool      `json:"strip_prefix,omitempty"`
	CreatedAt   time.Time `json:"created_at,omitzero"`
	UpdatedAt   time.Time `json:"updated_at,omitzero"`
}

// Normalize fills defaults and tidies the fields.
func (r *ProxyRoute) Normalize() {
	r.Name = strings.TrimSpace(r.Name)
	r.Host = strings.ToLower(strings.TrimSpace(r.Host))
	r.PathPrefix = strings.TrimSpace(r.PathPrefix)
	if r.PathPrefix == "" {
		r.PathPrefix = "/"
	}
	r.Upstream = strings.TrimSpace(r.Upstream)
	r.Tenant = strings.TrimSpace(r.Tenant)
	if r.Tenant == "" {
		r.Tenant = DefaultTenantSlug
	}
	var roles []string
	for _, role := range r.Roles {
		if role = strings.TrimSpace(role); role != "" {
			roles = append(roles, role)
		}
	}
	r.Roles = roles
}

var routeNameOK = func(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Validate reports every problem of the route at once.
func (r *ProxyRoute) Validate() error {
	var v ValidationError
	if !routeNameOK(r.Name) {
		v.Add("name %q: 1 to 64 characters among a-z, 0-9, '-', '_' and '.'", r.Name)
	}
	if r.Host != "" && (strings.ContainsAny(r.Host, "/:@ \t") || len(r.Host) > 253) {
		v.Add("host %q: a host name without scheme, port or path, e.g. app.example.com", r.Host)
	}
	if !strings.HasPrefix(r.PathPrefix, "/") || strings.ContainsAny(r.PathPrefix, "?# \t") {
		v.Add("path_prefix %q: a path starting with /, without query or fragment, e.g. /app/", r.PathPrefix)
	}
	if u, err := url.Parse(r.Upstream); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		v.Add("upstream %q: an absolute http:// or https:// URL without query, e.g. http://127.0.0.1:3000", r.Upstream)
	}
	if !slugPattern.MatchString(r.Tenant) {
		v.Add("tenant %q: not a tenant slug", r.Tenant)
	}
	for _, role := range r.Roles {
		if !roleNameOK(role) {
			v.Add("role %q: 1 to 100 characters, no control characters, commas or semicolons", role)
		}
	}
	return v.Err()
}

// ProxyRouteStore keeps the routes of the reverse proxy, cluster-wide.
type ProxyRouteStore interface {
	// PutProxyRoute inserts r, or replaces the route with the same name, and
	// sets its timestamps.
	PutProxyRoute(ctx context.Context, r *ProxyRoute) error
	// ProxyRoutes lists the routes by name.
	ProxyRoutes(ctx context.Context) ([]ProxyRoute, error)
	// DeleteProxyRoute removes the route with the name. ErrNotFound.
	DeleteProxyRoute(ctx context.Context, name string) error
}

// GatewayStore is what the gateway keeps in the store beyond sessions:
// signing keys and proxy routes. Store includes it.
type GatewayStore interface {
	SigningKeyStore
	ProxyRouteStore
}
