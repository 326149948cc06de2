package lanyard

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"
)

// OpenID Connect client authentication methods (OpenID Connect Core 1.0
// section 9).
const (
	ClientSecretBasic = "client_secret_basic"
	ClientSecretPost  = "client_secret_post"
	PrivateKeyJWT     = "private_key_jwt"
	// ClientAuthNone is a public client: it has no secret and must use PKCE.
	ClientAuthNone = "none"
)

// OIDCClient is an application registered with a tenant's OpenID Provider.
type OIDCClient struct {
	TenantID int64
	ClientID string // unique in the tenant
	Name     string
	// AuthMethod is how the client authenticates at the token endpoint:
	// ClientSecretBasic, ClientSecretPost, PrivateKeyJWT or ClientAuthNone
	// (a public client).
	AuthMethod string
	// SecretHash is the SHA-256 of the client secret (secret methods only);
	// the secret itself is shown once, at registration.
	SecretHash []byte
	// JWKS holds the client's public keys (PrivateKeyJWT only), as a JSON
	// Web Key Set.
	JWKS string
	// RedirectURIs are matched exactly, character for character.
	RedirectURIs []string
	// PostLogoutRedirectURIs are matched exactly at the end-session endpoint.
	PostLogoutRedirectURIs []string
	// Scopes the client may ask for; "openid" is always among them.
	Scopes []string
	// Roles, when set, are the only roles the client sees in the "roles"
	// claim; empty passes every role.
	Roles []string
	// Claims, when set, are the only user claims the client receives
	// (beyond sub); empty passes every claim its scopes ask for.
	Claims []string
	// PairwiseSubject gives the client a "sub" of its own for each user
	// (OpenID Connect Core 1.0 section 8.1); false gives the tenant-wide one.
	PairwiseSubject bool
	// SubjectSalt makes the client's pairwise subjects (random, set at
	// registration); unused without PairwiseSubject.
	SubjectSalt string
	// IDTokenAlg signs the client's ID tokens: RS256 or ES256.
	IDTokenAlg string
	// BackChannelLogoutURI receives logout tokens when a session the client
	// took part in ends (OpenID Connect Back-Channel Logout 1.0); "" sends none.
	BackChannelLogoutURI string
	CreatedAt            time.Time
}

// Public reports whether the client has no credentials of its own.
func (c *OIDCClient) Public() bool { return c.AuthMethod == ClientAuthNone }

// OIDCScopes are the scopes a tenant's provider knows.
var OIDCScopes = []string{"openid", "profile", "email", "groups", "roles", "offline_access"}

// OIDCClaims are the user claims a client may be limited to.
var OIDCClaims = []string{"email", "email_verified", "name", "given_name", "family_name", "preferred_username", "groups", "roles"}

// Validate reports every problem of c at once (KindInvalid).
func (c *OIDCClient) Validate() error {
	var problems []string
	if c.ClientID == "" || len(c.ClientID) > 128 || strings.ContainsFunc(c.ClientID, func(r rune) bool { return r <= ' ' || r > '~' || r == ':' }) {
		problems = append(problems, "client_id must be 1 to 128 printable ASCII characters without spaces or ':'")
	}
	switch c.AuthMethod {
	case ClientSecretBasic, ClientSecretPost:
		if len(c.SecretHash) == 0 {
			problems = append(problems, "a client authenticating with a secret needs one")
		}
	case PrivateKeyJWT:
		if strings.TrimSpace(c.JWKS) == "" {
			problems = append(problems, "private_key_jwt needs the client's public keys (a JSON Web Key Set)")
		}
	case ClientAuthNone:
	default:
		problems = append(problems, "auth method must be client_secret_basic, client_secret_post, private_key_jwt or none, not "+quote(c.AuthMethod))
	}
	if len(c.RedirectURIs) == 0 {
		problems = append(problems, "at least one redirect URI is required")
	}
	for _, u := range c.RedirectURIs {
		if err := checkClientURI(u); err != "" {
			problems = append(problems, "redirect URI "+quote(u)+": "+err)
		}
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if err := checkClientURI(u); err != "" {
			problems = append(problems, "post-logout redirect URI "+quote(u)+": "+err)
		}
	}
	if c.BackChannelLogoutURI != "" {
		if err := checkClientURI(c.BackChannelLogoutURI); err != "" {
			problems = append(problems, "back-channel logout URI "+quote(c.BackChannelLogoutURI)+": "+err)
		}
	}
	if !slices.Contains(c.Scopes, "openid") {
		problems = append(problems, `scopes must include "openid"`)
	}
	for _, s := range c.Scopes {
		if !slices.Contains(OIDCScopes, s) {
			problems = append(problems, "unknown scope "+quote(s)+" (known: "+strings.Join(OIDCScopes, ", ")+")")
		}
	}
	for _, cl := range c.Claims {
		if !slices.Contains(OIDCClaims, cl) {
			problems = append(problems, "unknown claim "+quote(cl)+" (known: "+strings.Join(OIDCClaims, ", ")+")")
		}
	}
	if c.PairwiseSubject && len(c.SubjectSalt) < 16 {
		problems = append(problems, "a pairwise client needs a subject salt of at least 16 characters")
	}
	if c.IDTokenAlg != "RS256" && c.IDTokenAlg != "ES256" {
		problems = append(problems, "ID token algorithm must be RS256 or ES256, not "+quote(c.IDTokenAlg))
	}
	if len(problems) > 0 {
		return &Error{Op: "lanyard.OIDCClient.Validate", Kind: KindInvalid, Message: "OpenID Connect client " + quote(c.ClientID) + ": " + strings.Join(problems, "; ")}
	}
	return nil
}

func quote(s string) string { return `"` + s + `"` }

// checkClientURI returns why u cannot be a client's URI, or "": an absolute
// https URL (http only on loopback), without a fragment.
func checkClientURI(u string) string {
	p, err := url.Parse(u)
	switch {
	case err != nil:
		return "not a URL"
	case p.Fragment != "" || strings.Contains(u, "#"):
		return "must not have a fragment"
	case p.Host == "" || p.User != nil:
		return "must be an absolute URL with a host and no user information"
	case p.Scheme == "https":
		return ""
	case p.Scheme == "http" && isLoopbackHost(p.Hostname()):
		return ""
	case p.Scheme == "http":
		return "http is allowed only on loopback (127.0.0.1, ::1, localhost); use https"
	}
	return "the scheme must be https"
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}

// OIDCGrantKind is what a stored OpenID Connect credential is.
type OIDCGrantKind string

// Grant kinds.
const (
	GrantCode    OIDCGrantKind = "code"
	GrantAccess  OIDCGrantKind = "access"
	GrantRefresh OIDCGrantKind = "refresh"
)

// OIDCGrant is an authorization code, access token or refresh token. Only
// the SHA-256 of the token is stored.
type OIDCGrant struct {
	Hash        []byte
	Kind        OIDCGrantKind
	TenantID    int64
	ClientID    string
	UserID      int64
	SessionHash []byte // the Lanyard session the grant lives with
	// Family is shared by the code and every token issued from it: reuse
	// of a code or of a rotated refresh token revokes the family.
	Family        string
	Scopes        []string
	Nonce         string
	RedirectURI   string
	CodeChallenge string // PKCE S256 challenge, "" when none
	AuthTime      time.Time
	ACR           string
	CreatedAt     time.Time
	ExpiresAt     time.Time
	UsedAt        time.Time // zero until used (codes and refresh tokens)
}

// OIDCLogin records that a client received tokens for a session: when the
// session ends, the client is sent a back-channel logout token.
type OIDCLogin struct {
	SessionHash []byte
	TenantID    int64
	ClientID    string
	Subject     string // the sub the client knows
	SID         string
	CreatedAt   time.Time
}

// OIDCStore keeps OpenID Connect clients and grants.
type OIDCStore interface {
	// CreateOIDCClient inserts c. ErrConflict when the tenant has the client ID.
	CreateOIDCClient(ctx context.Context, c *OIDCClient) error
	// OIDCClient returns a tenant's client. ErrNotFound.
	OIDCClient(ctx context.Context, tenantID int64, clientID string) (OIDCClient, error)
	// OIDCClients lists a tenant's clients by client ID.
	OIDCClients(ctx context.Context, tenantID int64) ([]OIDCClient, error)
	// UpdateOIDCClient applies fn to the client in one transaction. ErrNotFound.
	UpdateOIDCClient(ctx context.Context, tenantID int64, clientID string, fn func(*OIDCClient) error) (OIDCClient, error)
	// DeleteOIDCClient removes the client and its grants. ErrNotFound.
	DeleteOIDCClient(ctx context.Context, tenantID int64, clientID string) error
	// SaveOIDCGrant inserts g. ErrConflict when the hash exists.
	SaveOIDCGrant(ctx context.Context, g *OIDCGrant) error
	// OIDCGrant returns the live grant of the kind. ErrNotFound when
	// absent, revoked or expired at now.
	OIDCGrant(ctx context.Context, hash []byte, kind OIDCGrantKind, now time.Time) (OIDCGrant, error)
	// UseOIDCGrant marks a code or refresh token used, once, cluster-wide,
	// and returns it. A grant already used is returned with ErrConflict
	// (the caller revokes its family); ErrNotFound when absent, revoked or
	// expired at now.
	UseOIDCGrant(ctx context.Context, hash []byte, kind OIDCGrantKind, now time.Time) (OIDCGrant, error)
	// RevokeOIDCFamily deletes every grant of the family and reports how many.
	RevokeOIDCFamily(ctx context.Context, family string) (int, error)
	// PutOIDCLogin records l, or refreshes the record of the same session and client.
	PutOIDCLogin(ctx context.Context, l *OIDCLogin) error
	// TakeEndedOIDCLogins deletes and returns, at most limit, the records
	// whose session has ended or expired at now, with the grants of those
	// sessions. Each record is returned to one caller only.
	TakeEndedOIDCLogins(ctx context.Context, now time.Time, limit int) ([]OIDCLogin, error)
	// PurgeOIDCGrants deletes grants expired at now and reports how many.
	PurgeOIDCGrants(ctx context.Context, now time.Time) (int, error)
}
