package apiv1

import "time"

// OIDCClient is an application registered with a tenant's OpenID Provider
// (issuer {base}/t/{tenant}); its secret is never shown again.
type OIDCClient struct {
	ClientID               string    `json:"client_id"`
	Name                   string    `json:"name"`
	AuthMethod             string    `json:"auth_method" doc:"client_secret_basic, client_secret_post, private_key_jwt or none (a public client, PKCE required)"`
	RedirectURIs           []string  `json:"redirect_uris" doc:"matched exactly"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris" doc:"matched exactly at the end-session endpoint"`
	Scopes                 []string  `json:"scopes" doc:"the scopes the client may ask for"`
	Roles                  []string  `json:"roles" doc:"the only roles the client sees; empty: all"`
	Claims                 []string  `json:"claims" doc:"the only user claims the client receives; empty: all its scopes allow"`
	PairwiseSubject        bool      `json:"pairwise_subject" doc:"a sub of the client's own for each user"`
	IDTokenAlg             string    `json:"id_token_alg" doc:"RS256 or ES256"`
	BackChannelLogoutURI   string    `json:"backchannel_logout_uri" doc:"receives logout tokens when a session ends; empty: none"`
	CreatedAt              time.Time `json:"created_at"`
}

// OIDCClientList answers the list of a tenant's clients.
type OIDCClientList struct {
	Clients []OIDCClient `json:"clients"`
}

// OIDCClientCreate is the body that registers a client.
type OIDCClientCreate struct {
	ClientID string            `json:"client_id" doc:"unique in the tenant"`
	Settings map[string]string `json:"settings" doc:"the keys of lanyard oidc add: redirect_uris (required, comma-separated), auth, scopes, roles, claims, pairwise, id_token_alg, post_logout_redirect_uris, backchannel_logout_uri, jwks, name"`
}

// OIDCClientCreated answers a registration: the secret, once.
type OIDCClientCreated struct {
	Client OIDCClient `json:"client"`
	Secret string     `json:"secret" doc:"the client secret, shown once (empty for private_key_jwt and public clients)"`
}

// OIDCClientSecret answers a new client secret, shown once.
type OIDCClientSecret struct {
	Secret string `json:"secret"`
}
