package oidc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/identity"
)

// Key kinds of the ID token keys in the store: apart from the identity
// token keys, so that no token of one kind is ever good as the other.
const (
	KindRS256 = "oidc-RS256"
	KindES256 = "oidc-ES256"
)

// Keys signs ID tokens and logout tokens, RS256 and ES256, with keys kept,
// rotated and published like the identity token keys (identity.KeyRing).
type Keys struct {
	rings  map[string]*identity.KeyRing // by JWS algorithm
	loaded sync.Once
	err    error
	mu     sync.Mutex
	jwks   []byte
	logger *slog.Logger
}

// NewKeys returns the ID token keys over store; now and logger may be nil.
func NewKeys(store lanyard.SigningKeyStore, now func() time.Time, logger *slog.Logger) *Keys {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts := func(alg, kind string) identity.KeyRingOptions {
		return identity.KeyRingOptions{Algorithm: alg, Kind: kind, Now: now, Logger: logger, TokenTTL: IDTokenTTL}
	}
	return &Keys{logger: logger, rings: map[string]*identity.KeyRing{
		"RS256": identity.NewKeyRing(store, opts(identity.AlgorithmRS256, KindRS256)),
		"ES256": identity.NewKeyRing(store, opts(identity.Algorithm, KindES256)),
	}}
}

// Refresh reloads (and rotates) both rings.
func (k *Keys) Refresh(ctx context.Context) error {
	var errs []error
	for _, alg := range []string{"RS256", "ES256"} {
		if err := k.rings[alg].Refresh(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return k.rebuild()
}

// Run refreshes the keys every minute until ctx is done.
func (k *Keys) Run(ctx context.Context) {
	t := time.NewTicker(identity.DefaultRefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := k.Refresh(ctx); err != nil && ctx.Err() == nil {
			k.logger.Warn("OpenID Connect signing keys not refreshed; tokens are signed with the last keys loaded", "err", err)
		}
	}
}

// ensure loads the keys once, at first use.
func (k *Keys) ensure(ctx context.Context) error {
	k.loaded.Do(func() { k.err = k.Refresh(context.WithoutCancel(ctx)) })
	if k.err != nil && k.rings["RS256"].SignerID() != "" && k.rings["ES256"].SignerID() != "" {
		return nil // a later Refresh succeeded
	}
	return k.err
}

// rebuild merges the two key sets into one document.
func (k *Keys) rebuild() error {
	all := []json.RawMessage{}
	for _, alg := range []string{"RS256", "ES256"} {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		if err := json.Unmarshal(k.rings[alg].JWKS(), &set); err != nil {
			return fmt.Errorf("oidc: key set: %w", err)
		}
		all = append(all, set.Keys...)
	}
	doc, err := json.Marshal(map[string]any{"keys": all})
	if err != nil {
		return fmt.Errorf("oidc: key set: %w", err)
	}
	k.mu.Lock()
	k.jwks = doc
	k.mu.Unlock()
	return nil
}

// JWKS returns the published keys of both algorithms.
func (k *Keys) JWKS(ctx context.Context) ([]byte, error) {
	if err := k.ensure(ctx); err != nil {
		return nil, err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.jwks, nil
}

// Sign signs claims with the current key of alg (RS256 or ES256).
func (k *Keys) Sign(ctx context.Context, alg string, claims any) (string, error) {
	if err := k.ensure(ctx); err != nil {
		return "", err
	}
	ring, ok := k.rings[alg]
	if !ok {
		return "", fmt.Errorf("oidc: no %q signing keys", alg)
	}
	return ring.SignJSON(claims)
}

// SignTyped is Sign with the header's "typ" set to typ.
func (k *Keys) SignTyped(ctx context.Context, alg, typ string, claims any) (string, error) {
	if err := k.ensure(ctx); err != nil {
		return "", err
	}
	ring, ok := k.rings[alg]
	if !ok {
		return "", fmt.Errorf("oidc: no %q signing keys", alg)
	}
	return ring.SignJSONTyped(typ, claims)
}

// publicKey finds a published key by ID, of either algorithm.
func (k *Keys) publicKey(ctx context.Context, kid string) (any, string) {
	if k.ensure(ctx) != nil {
		return nil, ""
	}
	for alg, ring := range k.rings {
		if pub := ring.PublicKey(kid); pub != nil {
			return pub, alg
		}
	}
	return nil, ""
}
