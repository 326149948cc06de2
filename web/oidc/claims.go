package oidc

import (
	"crypto/sha256"
	"slices"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// subject is the "sub" of user for client: stable per user and tenant, or,
// for a pairwise client, per user and client (OpenID Connect Core 1.0
// section 8). It is never the account's login, which may change.
func subject(client lanyard.OIDCClient, user lanyard.User) string {
	var h [32]byte
	if client.PairwiseSubject {
		h = sha256.Sum256([]byte("lanyard-oidc-pairwise\x00" + client.SubjectSalt + "\x00" + strconv.FormatInt(user.ID, 10)))
	} else {
		h = sha256.Sum256([]byte("lanyard-oidc-sub\x00" + strconv.FormatInt(user.TenantID, 10) + "\x00" + strconv.FormatInt(user.ID, 10)))
	}
	return b64.EncodeToString(h[:])
}

// sessionID is the "sid" of a Lanyard session: derived from its stored
// hash, so that it names the session without being able to open it.
func sessionID(sessionHash []byte) string {
	h := sha256.Sum256(append([]byte("lanyard-oidc-sid\x00"), sessionHash...))
	return b64.EncodeToString(h[:18])
}

// userClaims are the claims about user that client receives for scopes,
// limited to the claims and roles the client was registered for.
func userClaims(client lanyard.OIDCClient, user lanyard.User, scopes []string) map[string]any {
	out := map[string]any{}
	allowed := func(claim string) bool {
		return len(client.Claims) == 0 || slices.Contains(client.Claims, claim)
	}
	put := func(scope, claim string, v any) {
		if slices.Contains(scopes, scope) && allowed(claim) {
			out[claim] = v
		}
	}
	name := strings.TrimSpace(user.FirstName + " " + user.LastName)
	if name != "" {
		put("profile", "name", name)
	}
	if user.FirstName != "" {
		put("profile", "given_name", user.FirstName)
	}
	if user.LastName != "" {
		put("profile", "family_name", user.LastName)
	}
	put("profile", "preferred_username", user.Login)
	if user.Email != "" {
		put("email", "email", user.Email)
		// The address came from the organisation's IdP or its
		// administrators, not from the user.
		put("email", "email_verified", true)
	}
	roles, groups := []string{}, []string{}
	for _, g := range user.Roles {
		if len(client.Roles) > 0 && !slices.Contains(client.Roles, g.Role) {
			continue
		}
		if !slices.Contains(roles, g.Role) {
			roles = append(roles, g.Role)
		}
		// As in the identity headers: groups are the roles the IdP's
		// groups granted.
		if g.Source == lanyard.RoleIdP && !slices.Contains(groups, g.Role) {
			groups = append(groups, g.Role)
		}
	}
	slices.Sort(roles)
	slices.Sort(groups)
	put("roles", "roles", roles)
	put("groups", "groups", groups)
	return out
}
