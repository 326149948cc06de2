package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Defaults of KeyRingOptions.
const (
	DefaultRotation        = 24 * time.Hour
	DefaultTokenTTL        = 5 * time.Minute
	DefaultRefreshInterval = time.Minute
	// publishLeeway keeps a key published a little longer than the last
	// token it signed can live, for clocks that disagree.
	publishLeeway = 2 * time.Minute
)

// KeyRingOptions tune a KeyRing. The zero value is ready to use.
type KeyRingOptions struct {
	// Issuer is the "iss" of every token: Lanyard's base URL. Empty leaves
	// it empty.
	Issuer string
	// Rotation is how long a key signs. A new key is published one Rotation
	// before it starts signing, and an old key stays published until the
	// tokens it signed have expired. Zero means DefaultRotation (24 hours).
	Rotation time.Duration
	// TokenTTL is the lifetime of a token. Zero means DefaultTokenTTL (5 minutes).
	TokenTTL time.Duration
	// RefreshInterval is how often Run reloads the keys from the store (and
	// rotates them when due). Zero means DefaultRefreshInterval (a minute).
	RefreshInterval time.Duration
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
	// Logger receives rotation events and refresh failures. Nil discards them.
	Logger *slog.Logger
}

// KeyRing holds the signing keys of this node, as the store has them: it
// signs with the oldest key still in its signing window, publishes every
// key not yet expired, adds a key to the store when the current one nears
// the end of its window, and purges expired ones. Several nodes running a
// KeyRing over the same store converge on the same keys: when two nodes add
// a key at the same moment, both are published and all nodes sign with the
// same (the older, by creation time then ID).
//
// A KeyRing is safe for concurrent use. Call Refresh once before use, then
// Run in the background.
type KeyRing struct {
	store    lanyard.SigningKeyStore
	opts     KeyRingOptions
	state    atomic.Pointer[keyState]
	refreshM sync.Mutex // one Refresh at a time
}

// keyState is an immutable snapshot of the keys.
type keyState struct {
	signer    *ecdsa.PrivateKey
	signerKID string
	signUntil time.Time
	public    map[string]*ecdsa.PublicKey
	jwks      []byte // the JSON document
}

// NewKeyRing returns a key ring over store; it holds no key until Refresh.
func NewKeyRing(store lanyard.SigningKeyStore, opts KeyRingOptions) *KeyRing {
	if opts.Rotation <= 0 {
		opts.Rotation = DefaultRotation
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = DefaultRefreshInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &KeyRing{store: store, opts: opts}
}

// TokenTTL is the lifetime of the tokens the ring signs.
func (k *KeyRing) TokenTTL() time.Duration { return k.opts.TokenTTL }

// ErrNoKey is returned by Sign before the first successful Refresh.
var ErrNoKey = errors.New("identity: no signing key loaded yet (the key store has not answered since start-up)")

// Sign returns a token of c, signed by the current key. IssuedAt,
// NotBefore, Expiry and ID are set here: now, now, now plus the token
// lifetime (never after c.SessionExpiry when that is set), and a random
// jti. Issuer is set when empty. c.Audience is required: a token without
// one would be good for every application.
func (k *KeyRing) Sign(c Claims) (string, error) {
	st := k.state.Load()
	if st == nil || st.signer == nil {
		return "", ErrNoKey
	}
	if len(c.Audience) == 0 || slices.Contains(c.Audience, "") {
		return "", errors.New("identity: a token needs its audience (the application it is for)")
	}
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", fmt.Errorf("identity: token ID: %w", err)
	}
	c.ID = b64.EncodeToString(jti)
	now := k.opts.Now()
	c.IssuedAt = now.Unix()
	c.NotBefore = c.IssuedAt
	c.Expiry = now.Add(k.opts.TokenTTL).Unix()
	if c.SessionExpiry != 0 && c.SessionExpiry < c.Expiry {
		c.Expiry = c.SessionExpiry
	}
	if c.Issuer == "" {
		c.Issuer = k.opts.Issuer
	}
	return sign(st.signer, st.signerKID, c)
}

// SignerID returns the key ID that Sign uses now, "" before any key.
func (k *KeyRing) SignerID() string {
	if st := k.state.Load(); st != nil {
		return st.signerKID
	}
	return ""
}

// JWKS returns the JSON Web Key Set document of the published keys.
func (k *KeyRing) JWKS() []byte {
	if st := k.state.Load(); st != nil {
		return st.jwks
	}
	return []byte(`{"keys":[]}`)
}

// PublicKeys returns the published keys by ID, for Verify.
func (k *KeyRing) PublicKeys() map[string]*ecdsa.PublicKey {
	if st := k.state.Load(); st != nil {
		return st.public
	}
	return nil
}

// Refresh reloads the keys from the store, adds a key when none will be
// able to sign one Rotation from now, and purges expired keys.
func (k *KeyRing) Refresh(ctx context.Context) error {
	k.refreshM.Lock()
	defer k.refreshM.Unlock()
	now := k.opts.Now().UTC()
	keys, err := k.store.SigningKeys(ctx, now)
	if err != nil {
		return fmt.Errorf("identity: load signing keys: %w", err)
	}
	if needNewKey(keys, now, k.opts.Rotation) {
		nk, err := k.newKey(now)
		if err != nil {
			return err
		}
		if err := k.store.AddSigningKey(ctx, &nk); err != nil {
			return fmt.Errorf("identity: store new signing key: %w", err)
		}
		k.opts.Logger.Info("identity token signing key added", "kid", nk.ID, "signs_until", nk.SignUntil.Format(time.RFC3339))
		if keys, err = k.store.SigningKeys(ctx, now); err != nil {
			return fmt.Errorf("identity: reload signing keys: %w", err)
		}
	}
	st, err := buildState(keys, now)
	if err != nil {
		return err
	}
	if old := k.state.Load(); old != nil && old.signerKID != st.signerKID {
		k.opts.Logger.Info("identity tokens now signed by a new key", "kid", st.signerKID, "previous", old.signerKID)
	}
	k.state.Store(st)
	if _, err := k.store.PurgeSigningKeys(ctx, now); err != nil {
		k.opts.Logger.Warn("could not purge expired signing keys; they are no longer published and will be purged at the next refresh", "err", err)
	}
	return nil
}

// Run refreshes the keys every RefreshInterval until ctx is done. Failures
// are logged; the ring keeps its last keys.
func (k *KeyRing) Run(ctx context.Context) {
	t := time.NewTicker(k.opts.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := k.Refresh(ctx); err != nil && ctx.Err() == nil {
			k.opts.Logger.Warn("signing keys not refreshed; tokens are signed with the last keys loaded", "err", err)
		}
	}
}

// needNewKey reports whether no key can still sign one rotation from now.
func needNewKey(keys []lanyard.SigningKey, now time.Time, rotation time.Duration) bool {
	horizon := now.Add(rotation)
	for _, key := range keys {
		if key.Algorithm == Algorithm && key.SignUntil.After(horizon) {
			return false
		}
	}
	return true
}

// newKey makes a key that is published at once, signs for two rotations
// from now (the first of which, while an older key still signs, is its
// pre-publication), and stays published until its last token expires.
func (k *KeyRing) newKey(now time.Time) (lanyard.SigningKey, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return lanyard.SigningKey{}, fmt.Errorf("identity: generate signing key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return lanyard.SigningKey{}, fmt.Errorf("identity: encode signing key: %w", err)
	}
	id := make([]byte, 12)
	if _, err := rand.Read(id); err != nil {
		return lanyard.SigningKey{}, fmt.Errorf("identity: key id: %w", err)
	}
	signUntil := now.Add(2 * k.opts.Rotation)
	return lanyard.SigningKey{
		ID:           now.Format("20060102") + "-" + b64.EncodeToString(id),
		Algorithm:    Algorithm,
		PrivateKey:   der,
		CreatedAt:    now,
		SignUntil:    signUntil,
		PublishUntil: signUntil.Add(k.opts.TokenTTL + publishLeeway),
	}, nil
}

// buildState parses keys (oldest first) into a snapshot: the signer is the
// oldest key still in its signing window.
func buildState(keys []lanyard.SigningKey, now time.Time) (*keyState, error) {
	st := &keyState{public: map[string]*ecdsa.PublicKey{}}
	set := JWKS{Keys: []JWK{}}
	for _, key := range keys {
		if key.Algorithm != Algorithm {
			continue
		}
		parsed, err := x509.ParsePKCS8PrivateKey(key.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("identity: signing key %q in the store: %w", key.ID, err)
		}
		priv, ok := parsed.(*ecdsa.PrivateKey)
		if !ok || priv.Curve != elliptic.P256() {
			return nil, fmt.Errorf("identity: signing key %q in the store is a %T, not an ECDSA P-256 key", key.ID, parsed)
		}
		jwk, err := publicJWK(key.ID, &priv.PublicKey)
		if err != nil {
			return nil, err
		}
		set.Keys = append(set.Keys, jwk)
		st.public[key.ID] = &priv.PublicKey
		if st.signer == nil && key.SignUntil.After(now) {
			st.signer, st.signerKID, st.signUntil = priv, key.ID, key.SignUntil
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("identity: encode key set: %w", err)
	}
	st.jwks = doc
	return st, nil
}
