package apiv1

import "time"

// Scope is what an API token allows.
type Scope string

// Scopes.
const (
	ScopeRead  Scope = "read"  // the GET calls
	ScopeWrite Scope = "write" // every call
	ScopeSCIM  Scope = "scim"  // the SCIM service of one tenant, nothing of this API
)

// Enum lists the scopes.
func (Scope) Enum() []string {
	return []string{string(ScopeRead), string(ScopeWrite), string(ScopeSCIM)}
}

// Token is an API token, never with its secret.
type Token struct {
	ID         int64      `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix" doc:"the first characters of the secret, to recognise it"`
	Scopes     []Scope    `json:"scopes"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	TenantID   int64      `json:"tenant_id" doc:"the tenant the token administers; 0 for a global token (an operator's)"`
}

// TokenList answers the list of API tokens.
type TokenList struct {
	Tokens []Token `json:"tokens"`
}

// TokenCreate is the body that creates an API token.
type TokenCreate struct {
	Name           string  `json:"name" doc:"what the token is for, unique among live tokens"`
	Scopes         []Scope `json:"scopes"`
	ExpiresInHours int     `json:"expires_in_hours,omitempty" doc:"0: until revoked"`
	Tenant         string  `json:"tenant,omitempty" doc:"slug of the tenant the token administers; empty: the caller's own scope (global for an operator's token)"`
}

// TokenCreated answers the creation of a token, with its secret.
type TokenCreated struct {
	Token  Token  `json:"token"`
	Secret string `json:"secret" doc:"shown once; send as Authorization: Bearer"`
}
