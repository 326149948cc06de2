package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// apiTokenPrefix starts every API token secret, so that a leaked one is
// easy to recognise (and to find with secret scanners).
const apiTokenPrefix = "lyd_"

// ErrBadToken refuses an API call whose bearer token is unknown, revoked or
// expired. The message is the same in every case.
var ErrBadToken = &lanyard.Error{Kind: lanyard.KindUnauthorized,
	Message: "the API token is unknown, revoked or expired; create one with: lanyard token create NAME --scopes read,write"}

// hashAPIToken returns the SHA-256 of a token secret, as stored.
func hashAPIToken(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateAPIToken creates a bearer token of the JSON API with the scopes
// (lanyard.APIScopes), valid for ttl (0: until revoked), for what the
// principal of ctx manages: a global token for operators (and the CLI), a
// token of their tenant for tenant administrators. It returns the token and
// its secret, which is not stored and cannot be shown again.
func (s *Service) CreateAPIToken(ctx context.Context, actor, name string, scopes []string, ttl time.Duration) (lanyard.APIToken, string, error) {
	return s.CreateTenantAPIToken(ctx, actor, "", name, scopes, ttl)
}

// CreateTenantAPIToken is CreateAPIToken for a token of the tenant (""
// for the principal's own scope). The token belongs to the principal's
// account: it can never do more than that account can at the time of use
// (lanyard.TokenPrincipal).
func (s *Service) CreateTenantAPIToken(ctx context.Context, actor, tenantSlug, name string, scopes []string, ttl time.Duration) (lanyard.APIToken, string, error) {
	p := lanyard.PrincipalFrom(ctx)
	if !p.IsAdmin() {
		return lanyard.APIToken{}, "", lanyard.ErrNotAdministrator
	}
	tenantID := p.TenantID
	if tenantSlug != "" {
		t, err := s.Tenant(ctx, tenantSlug)
		if err != nil && p.Operator {
			return lanyard.APIToken{}, "", err
		}
		if err := lanyard.Authorize(p, lanyard.AccessTenant, t.ID); err != nil {
			return lanyard.APIToken{}, "", err
		}
		tenantID = t.ID
	}
	var v lanyard.ValidationError
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.ContainsAny(name, "\r\n\t") {
		v.Add("name %q: give 1 to 100 characters saying what the token is for, e.g. ci-provisioning", name)
	}
	var clean []string
	for _, sc := range scopes {
		sc = strings.ToLower(strings.TrimSpace(sc))
		switch {
		case sc == "":
		case !slices.Contains(lanyard.APIScopes, sc):
			v.Add("scope %q: use %s", sc, strings.Join(lanyard.APIScopes, " or "))
		case !slices.Contains(clean, sc):
			clean = append(clean, sc)
		}
	}
	if len(clean) == 0 && len(v.Problems) == 0 {
		v.Add("no scope given: use read (GET calls only), write (every call) or scim (the SCIM service of one tenant)")
	}
	if slices.Contains(clean, lanyard.ScopeSCIM) {
		// A SCIM client gets the provisioning service of one tenant and
		// nothing of the admin API.
		if len(clean) != 1 {
			v.Add("scope scim: a SCIM token holds no other scope; create a separate token for the API")
		}
		if tenantID == 0 {
			v.Add("scope scim: a SCIM token belongs to one tenant; give the tenant (--tenant SLUG)")
		}
	}
	if ttl < 0 {
		v.Add("expiry %s: give a positive duration, or 0 for a token valid until revoked", ttl)
	}
	if err := v.Err(); err != nil {
		return lanyard.APIToken{}, "", err
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return lanyard.APIToken{}, "", fmt.Errorf("create API token: random: %w", err)
	}
	secret := apiTokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	now := s.now().UTC()
	tok := lanyard.APIToken{Name: name, Hash: hashAPIToken(secret), Prefix: secret[:len(apiTokenPrefix)+6],
		Scopes: clean, CreatedBy: actor, CreatedAt: now, TenantID: tenantID, CreatorID: p.UserID}
	if ttl > 0 {
		tok.ExpiresAt = now.Add(ttl)
	}
	err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
		if err := tx.CreateAPIToken(ctx, &tok); err != nil {
			return err
		}
		expiry := "never expires"
		if !tok.ExpiresAt.IsZero() {
			expiry = "expires " + tok.ExpiresAt.Format(time.RFC3339)
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{TenantID: tenantID, Actor: actor, Action: "token.create", Subject: name,
			Message: fmt.Sprintf("created API token %s (%s…, scopes %s, %s)", name, tok.Prefix, strings.Join(clean, ","), expiry)})
	})
	if err != nil {
		if lanyard.ErrorKind(err) != lanyard.KindInternal {
			return lanyard.APIToken{}, "", err
		}
		return lanyard.APIToken{}, "", fmt.Errorf("create API token %s: %w", name, err)
	}
	s.logChange(ctx, "token.create", actor, "name", name, "scopes", strings.Join(clean, ","))
	return tok, secret, nil
}

// APITokens lists the API tokens the principal of ctx manages (operators:
// all; tenant administrators: their tenant's), newest first, revoked ones
// included.
func (s *Service) APITokens(ctx context.Context) ([]lanyard.APIToken, error) {
	toks, err := s.store.APITokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("list API tokens: %w", err)
	}
	p := lanyard.PrincipalFrom(ctx)
	return slices.DeleteFunc(toks, func(t lanyard.APIToken) bool { return !p.Operator && (t.TenantID == 0 || t.TenantID != p.TenantID) }), nil
}

// RevokeAPIToken revokes the live token named by ref: its name or its ID.
func (s *Service) RevokeAPIToken(ctx context.Context, actor, ref string) (lanyard.APIToken, error) {
	toks, err := s.APITokens(ctx)
	if err != nil {
		return lanyard.APIToken{}, err
	}
	ref = strings.TrimSpace(ref)
	id, _ := strconv.ParseInt(ref, 10, 64)
	var target *lanyard.APIToken
	for i := range toks {
		if toks[i].RevokedAt.IsZero() && (toks[i].Name == ref || toks[i].ID == id) {
			target = &toks[i]
			break
		}
	}
	if target == nil {
		return lanyard.APIToken{}, errorf(lanyard.KindNotFound, nil, "no live API token named %q; list them with: lanyard token list", ref)
	}
	var revoked lanyard.APIToken
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		var err error
		if revoked, err = tx.RevokeAPIToken(ctx, target.ID, s.now().UTC()); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{TenantID: target.TenantID, Actor: actor, Action: "token.revoke", Subject: target.Name,
			Message: fmt.Sprintf("revoked API token %s (%s…)", target.Name, target.Prefix)})
	})
	if errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.APIToken{}, errorf(lanyard.KindNotFound, err, "API token %q was revoked meanwhile", ref)
	}
	if err != nil {
		return lanyard.APIToken{}, fmt.Errorf("revoke API token %s: %w", ref, err)
	}
	s.logChange(ctx, "token.revoke", actor, "name", target.Name)
	return revoked, nil
}

// AuthenticateAPIToken returns the live token whose secret is given, with
// what it may do now (lanyard.TokenPrincipal: no more than its creator may
// now), and records its use. Unknown, revoked and expired tokens are
// ErrBadToken; a token whose creator no longer administers what it covers
// is ErrBadToken too.
func (s *Service) AuthenticateAPIToken(ctx context.Context, secret string) (lanyard.APIToken, lanyard.Principal, error) {
	tok, err := s.liveAPIToken(ctx, secret)
	if err != nil {
		return lanyard.APIToken{}, lanyard.Principal{}, err
	}
	var creator *lanyard.User
	if tok.CreatorID != 0 {
		u, err := s.store.User(ctx, tok.CreatorID)
		switch {
		case err == nil:
			creator = &u
		case !errors.Is(err, lanyard.ErrNotFound):
			return lanyard.APIToken{}, lanyard.Principal{}, fmt.Errorf("authenticate API token: creator: %w", err)
		}
	}
	p := lanyard.TokenPrincipal(tok, creator)
	if !p.IsAdmin() {
		s.log.WarnContext(ctx, "API token refused: its creator no longer administers what it covers", "token", tok.Name, "creator_id", tok.CreatorID, "tenant_id", tok.TenantID)
		return lanyard.APIToken{}, lanyard.Principal{}, ErrTokenCreatorRights
	}
	return tok, p, nil
}

// ErrTokenCreatorRights refuses a token whose creator lost the rights it
// needs: the token stops with them.
var ErrTokenCreatorRights = &lanyard.Error{Kind: lanyard.KindUnauthorized,
	Message: "the API token no longer works: the account that created it no longer administers what the token covers; an administrator creates a new one"}

func (s *Service) liveAPIToken(ctx context.Context, secret string) (lanyard.APIToken, error) {
	if !strings.HasPrefix(secret, apiTokenPrefix) {
		return lanyard.APIToken{}, ErrBadToken
	}
	tok, err := s.store.APITokenByHash(ctx, hashAPIToken(secret))
	if errors.Is(err, lanyard.ErrNotFound) {
		return lanyard.APIToken{}, ErrBadToken
	}
	if err != nil {
		return lanyard.APIToken{}, fmt.Errorf("authenticate API token: %w", err)
	}
	now := s.now().UTC()
	if !tok.Live(now) {
		return lanyard.APIToken{}, ErrBadToken
	}
	// Recording every use would write on every call: once a minute is
	// enough to tell a used token from a forgotten one.
	if now.Sub(tok.LastUsedAt) > time.Minute {
		if err := s.store.TouchAPIToken(ctx, tok.ID, now); err != nil {
			s.log.WarnContext(ctx, "could not record the use of an API token", "token", tok.Name, "err", err)
		}
		tok.LastUsedAt = now
	}
	return tok, nil
}
