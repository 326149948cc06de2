package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
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
	// Algorithm is the JWS algorithm of the ring's keys: ES256 (ECDSA
	// P-256) or RS256 (RSA 2048 with PKCS #1 v1.5). Empty means ES256.
	Algorithm string
	// Kind names the ring's keys in the store, apart from the keys of
	// other rings over the same store (identity tokens and OpenID Connect
	// ID tokens never share a key). Empty means Algorithm: the identity
	// token keys.
	Kind string
}

// AlgorithmRS256 is RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 section 3.3).
const AlgorithmRS256 = "RS256"

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
	signer    crypto.Signer
	signerKID string
	// tokenHeader is the encoded JOSE header of the identity tokens the
	// signer signs (ES256 rings only).
	tokenHeader string
	signUntil   time.Time
	public      map[string]*ecdsa.PublicKey // ES256 keys, for Verify
	anyPublic   map[string]crypto.PublicKey
	jwks        []byte // the JSON document
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
	if opts.Algorithm == "" {
		opts.Algorithm = Algorithm
	}
	if opts.Kind == "" {
		opts.Kind = opts.Algorithm
	}
	return &KeyRing{store: store, opts: opts}
}

// Algorithm is the JWS algorithm of the ring's keys.
func (k *KeyRing) Algorithm() string { return k.opts.Algorithm }

// SignJSON signs claims (any JSON object) with the current key, as they
// are: the caller sets every claim, times and audience included.
func (k *KeyRing) SignJSON(claims any) (string, error) {
	st := k.state.Load()
	if st == nil || st.signer == nil {
		return "", ErrNoKey
	}
	return signJSON(st.signer, k.opts.Algorithm, st.signerKID, "JWT", claims)
}

// SignJSONTyped is SignJSON with the header's "typ" set to typ (RFC 8725
// section 3.11: explicit typing keeps one kind of token from being taken
// for another), e.g. "logout+jwt" for a back-channel logout token.
func (k *KeyRing) SignJSONTyped(typ string, claims any) (string, error) {
	st := k.state.Load()
	if st == nil || st.signer == nil {
		return "", ErrNoKey
	}
	return signJSON(st.signer, k.opts.Algorithm, st.signerKID, typ, claims)
}

// PublicKey returns the published key with the ID (an *ecdsa.PublicKey or
// an *rsa.PublicKey), or nil.
func (k *KeyRing) PublicKey(kid string) crypto.PublicKey {
	if st := k.state.Load(); st != nil {
		if pub, ok := st.anyPublic[kid]; ok {
			return pub
		}
	}
	return nil
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
	ec, ok := st.signer.(*ecdsa.PrivateKey)
	if !ok {
		return "", fmt.Errorf("identity: identity tokens are signed with %s keys; this ring holds %s keys", Algorithm, k.opts.Algorithm)
	}
	return sign(ec, st.tokenHeader, c)
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
	if needNewKey(keys, now, k.opts.Rotation, k.opts.Kind) {
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
	st, err := buildState(keys, now, k.opts.Kind, k.opts.Algorithm)
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
func needNewKey(keys []lanyard.SigningKey, now time.Time, rotation time.Duration, kind string) bool {
	horizon := now.Add(rotation)
	for _, key := range keys {
		if key.Algorithm == kind && key.SignUntil.After(horizon) {
			return false
		}
	}
	return true
}

// newKey makes a key that is published at once, signs for two rotations
// from now (the first of which, while an older key still signs, is its
// pre-publication), and stays published until its last token expires.
func (k *KeyRing) newKey(now time.Time) (lanyard.SigningKey, error) {
	var priv crypto.Signer
	var err error
	if k.opts.Algorithm == AlgorithmRS256 {
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
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
		Algorithm:    k.opts.Kind,
		PrivateKey:   der,
		CreatedAt:    now,
		SignUntil:    signUntil,
		PublishUntil: signUntil.Add(k.opts.TokenTTL + publishLeeway),
	}, nil
}

// buildState parses the keys of kind (oldest first) into a snapshot: the
// signer is the oldest key still in its signing window.
func buildState(keys []lanyard.SigningKey, now time.Time, kind, alg string) (*keyState, error) {
	st := &keyState{public: map[string]*ecdsa.PublicKey{}, anyPublic: map[string]crypto.PublicKey{}}
	set := struct {
		Keys []any `json:"keys"`
	}{Keys: []any{}}
	for _, key := range keys {
		if key.Algorithm != kind {
			continue
		}
		parsed, err := x509.ParsePKCS8PrivateKey(key.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("identity: signing key %q in the store: %w", key.ID, err)
		}
		var signer crypto.Signer
		switch priv := parsed.(type) {
		case *ecdsa.PrivateKey:
			if alg != Algorithm || priv.Curve != elliptic.P256() {
				return nil, fmt.Errorf("identity: signing key %q in the store is an ECDSA key, not a %s key", key.ID, alg)
			}
			jwk, err := publicJWK(key.ID, &priv.PublicKey)
			if err != nil {
				return nil, err
			}
			set.Keys = append(set.Keys, jwk)
			st.public[key.ID] = &priv.PublicKey
			st.anyPublic[key.ID] = &priv.PublicKey
			signer = priv
		case *rsa.PrivateKey:
			if alg != AlgorithmRS256 {
				return nil, fmt.Errorf("identity: signing key %q in the store is an RSA key, not a %s key", key.ID, alg)
			}
			set.Keys = append(set.Keys, rsaJWK(key.ID, &priv.PublicKey))
			st.anyPublic[key.ID] = &priv.PublicKey
			signer = priv
		default:
			return nil, fmt.Errorf("identity: signing key %q in the store is a %T, not a %s key", key.ID, parsed, alg)
		}
		if st.signer == nil && key.SignUntil.After(now) {
			st.signer, st.signerKID, st.signUntil = signer, key.ID, key.SignUntil
			if alg == Algorithm {
				if st.tokenHeader, err = tokenHeader(key.ID); err != nil {
					return nil, err
				}
			}
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return nil, fmt.Errorf("identity: encode key set: %w", err)
	}
	st.jwks = doc
	return st, nil
}
