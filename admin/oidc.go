package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// oidcSecretPrefix starts every OpenID Connect client secret, so that a
// leaked one is easy to recognise.
const oidcSecretPrefix = "lyc_"

// OIDCClientSettingKeys are the settings of an OpenID Connect client, as
// key=value: lists are comma-separated.
var OIDCClientSettingKeys = []string{"name", "auth", "redirect_uris", "post_logout_redirect_uris", "scopes", "roles", "claims",
	"pairwise", "id_token_alg", "backchannel_logout_uri", "jwks"}

// oidcStore is the store's OpenID Connect part; every engine has it.
func (s *Service) oidcStore(st lanyard.Store) (lanyard.OIDCStore, error) {
	if g, isGuard := st.(guardedStore); isGuard {
		st = g.Store // guards account changes only
	}
	o, ok := st.(lanyard.OIDCStore)
	if !ok {
		return nil, errorf(lanyard.KindUnavailable, nil, "this store keeps no OpenID Connect clients")
	}
	return o, nil
}

// oidcTenant finds the tenant and checks that the principal of ctx manages it.
func (s *Service) oidcTenant(ctx context.Context, slug string) (lanyard.Tenant, error) {
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return t, err
	}
	if err := lanyard.Authorize(lanyard.PrincipalFrom(ctx), lanyard.AccessTenant, t.ID); err != nil {
		return lanyard.Tenant{}, err
	}
	return t, nil
}

// applyOIDCSettings applies key=value settings to c, reporting every
// problem at once; the result is validated.
func applyOIDCSettings(c *lanyard.OIDCClient, settings []string) error {
	var v lanyard.ValidationError
	list := func(val string) []string {
		var out []string
		for _, f := range strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
		return out
	}
	for _, kv := range settings {
		key, val, ok := strings.Cut(kv, "=")
		key = strings.TrimSpace(key)
		if !ok {
			v.Add("setting %q: use key=value (keys: %s)", kv, strings.Join(OIDCClientSettingKeys, ", "))
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "name":
			c.Name = val
		case "auth":
			c.AuthMethod = val
		case "redirect_uris":
			c.RedirectURIs = list(val)
		case "post_logout_redirect_uris":
			c.PostLogoutRedirectURIs = list(val)
		case "scopes":
			c.Scopes = list(val)
			if !slices.Contains(c.Scopes, "openid") {
				c.Scopes = append([]string{"openid"}, c.Scopes...)
			}
		case "roles":
			c.Roles = list(val)
		case "claims":
			c.Claims = list(val)
		case "pairwise":
			b, err := strconv.ParseBool(val)
			if err != nil {
				v.Add("pairwise %q: use true or false", val)
			}
			c.PairwiseSubject = b
		case "id_token_alg":
			c.IDTokenAlg = strings.ToUpper(val)
		case "backchannel_logout_uri":
			c.BackChannelLogoutURI = val
		case "jwks":
			var set struct {
				Keys []json.RawMessage `json:"keys"`
			}
			if val != "" && (json.Unmarshal([]byte(val), &set) != nil || len(set.Keys) == 0) {
				v.Add(`jwks: give the client's public keys as a JSON Web Key Set, {"keys":[...]}`)
			}
			c.JWKS = val
		default:
			v.Add("unknown setting %q (keys: %s)", key, strings.Join(OIDCClientSettingKeys, ", "))
		}
	}
	if c.AuthMethod != lanyard.PrivateKeyJWT {
		c.JWKS = ""
	}
	if err := v.Err(); err != nil {
		return err
	}
	return c.Validate()
}

func newOIDCSecret() (string, []byte, error) {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", nil, fmt.Errorf("client secret: random: %w", err)
	}
	secret := oidcSecretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	h := sha256.Sum256([]byte(secret))
	return secret, h[:], nil
}

// CreateOIDCClient registers an OpenID Connect client of the tenant with
// the settings (OIDCClientSettingKeys; defaults: client_secret_basic, every
// scope, RS256). For a client authenticating with a secret it returns the
// secret, which is stored only as its SHA-256 and cannot be shown again.
func (s *Service) CreateOIDCClient(ctx context.Context, actor, tenantSlug, clientID string, settings []string) (lanyard.OIDCClient, string, error) {
	t, err := s.oidcTenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.OIDCClient{}, "", err
	}
	c := lanyard.OIDCClient{TenantID: t.ID, ClientID: strings.TrimSpace(clientID), AuthMethod: lanyard.ClientSecretBasic,
		Scopes: slices.Clone(lanyard.OIDCScopes), IDTokenAlg: "RS256"}
	secret, hash, err := newOIDCSecret()
	if err != nil {
		return lanyard.OIDCClient{}, "", err
	}
	// A salt for pairwise subjects, set now so that turning pairwise on
	// later gives stable subjects.
	c.SubjectSalt = strings.TrimPrefix(secret, oidcSecretPrefix)[:24]
	c.SecretHash = hash
	if err := applyOIDCSettings(&c, settings); err != nil {
		return lanyard.OIDCClient{}, "", err
	}
	if c.AuthMethod != lanyard.ClientSecretBasic && c.AuthMethod != lanyard.ClientSecretPost {
		secret, c.SecretHash = "", nil
	}
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		o, err := s.oidcStore(tx)
		if err != nil {
			return err
		}
		if err := o.CreateOIDCClient(ctx, &c); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{TenantID: t.ID, Actor: actor, Action: "oidc.client.create", Subject: c.ClientID,
			Message: fmt.Sprintf("registered OpenID Connect client %s (%s, redirect URIs %s)", c.ClientID, c.AuthMethod, strings.Join(c.RedirectURIs, " "))})
	})
	if err != nil {
		return lanyard.OIDCClient{}, "", err
	}
	s.logChange(ctx, "oidc.client.create", actor, "tenant", t.Slug, "client_id", c.ClientID)
	return c, secret, nil
}

// SetOIDCClient changes settings of a client (OIDCClientSettingKeys).
// Changing the authentication to a secret method needs a new secret:
// RotateOIDCClientSecret.
func (s *Service) SetOIDCClient(ctx context.Context, actor, tenantSlug, clientID string, settings []string) (lanyard.OIDCClient, error) {
	t, err := s.oidcTenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.OIDCClient{}, err
	}
	o, err := s.oidcStore(s.store)
	if err != nil {
		return lanyard.OIDCClient{}, err
	}
	c, err := o.UpdateOIDCClient(ctx, t.ID, clientID, func(c *lanyard.OIDCClient) error { return applyOIDCSettings(c, settings) })
	if err != nil {
		return c, err
	}
	s.auditAlone(ctx, lanyard.AuditEvent{TenantID: t.ID, Actor: actor, Action: "oidc.client.update", Subject: clientID,
		Message: "changed OpenID Connect client " + clientID + ": " + strings.Join(settingKeys(settings), ", ")})
	return c, nil
}

// RotateOIDCClientSecret gives a client a new secret (shown once); the
// old one stops working at once.
func (s *Service) RotateOIDCClientSecret(ctx context.Context, actor, tenantSlug, clientID string) (string, error) {
	t, err := s.oidcTenant(ctx, tenantSlug)
	if err != nil {
		return "", err
	}
	o, err := s.oidcStore(s.store)
	if err != nil {
		return "", err
	}
	secret, hash, err := newOIDCSecret()
	if err != nil {
		return "", err
	}
	_, err = o.UpdateOIDCClient(ctx, t.ID, clientID, func(c *lanyard.OIDCClient) error {
		if c.AuthMethod != lanyard.ClientSecretBasic && c.AuthMethod != lanyard.ClientSecretPost {
			return invalidf("client %s authenticates with %s, not a secret", clientID, c.AuthMethod)
		}
		c.SecretHash = hash
		return nil
	})
	if err != nil {
		return "", err
	}
	s.auditAlone(ctx, lanyard.AuditEvent{TenantID: t.ID, Actor: actor, Action: "oidc.client.secret", Subject: clientID,
		Message: "new secret for OpenID Connect client " + clientID})
	return secret, nil
}

// OIDCClients lists the tenant's clients.
func (s *Service) OIDCClients(ctx context.Context, tenantSlug string) ([]lanyard.OIDCClient, error) {
	t, err := s.oidcTenant(ctx, tenantSlug)
	if err != nil {
		return nil, err
	}
	o, err := s.oidcStore(s.store)
	if err != nil {
		return nil, err
	}
	return o.OIDCClients(ctx, t.ID)
}

// OIDCClient returns one client of the tenant.
func (s *Service) OIDCClient(ctx context.Context, tenantSlug, clientID string) (lanyard.OIDCClient, error) {
	t, err := s.oidcTenant(ctx, tenantSlug)
	if err != nil {
		return lanyard.OIDCClient{}, err
	}
	o, err := s.oidcStore(s.store)
	if err != nil {
		return lanyard.OIDCClient{}, err
	}
	return o.OIDCClient(ctx, t.ID, clientID)
}

// DeleteOIDCClient removes a client; its tokens stop working at once.
func (s *Service) DeleteOIDCClient(ctx context.Context, actor, tenantSlug, clientID string) error {
	t, err := s.oidcTenant(ctx, tenantSlug)
	if err != nil {
		return err
	}
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		o, err := s.oidcStore(tx)
		if err != nil {
			return err
		}
		if err := o.DeleteOIDCClient(ctx, t.ID, clientID); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{TenantID: t.ID, Actor: actor, Action: "oidc.client.delete", Subject: clientID,
			Message: "removed OpenID Connect client " + clientID})
	})
	if err == nil {
		s.logChange(ctx, "oidc.client.delete", actor, "tenant", t.Slug, "client_id", clientID)
	}
	return err
}

// auditAlone records an event of a change already committed; a failure to
// record is logged.
func (s *Service) auditAlone(ctx context.Context, e lanyard.AuditEvent) {
	if err := s.audit(ctx, s.store, e); err != nil {
		s.log.ErrorContext(ctx, "audit event not recorded", "action", e.Action, "err", err)
	}
	s.logChange(ctx, e.Action, e.Actor, "subject", e.Subject)
}
