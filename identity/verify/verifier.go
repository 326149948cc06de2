package verify

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// Verifier checks identity tokens for an application, with the key set it
// fetches from Lanyard's /.well-known/jwks.json. It fetches the set again
// when a token names a key it does not know (a rotation), at most once per
// MinRefetch. It is safe for concurrent use.
type Verifier struct {
	// JWKSURL is where the key set is, e.g.
	// https://sso.example.com/.well-known/jwks.json. Required.
	JWKSURL string
	// Issuer must equal the token's "iss": Lanyard's base URL. Required.
	Issuer string
	// Audience is this application's audience: the name of its route in
	// Lanyard's built-in proxy, or for forward-auth the aud parameter of
	// the check (default: the application's origin, such as
	// https://app.example.com). Required.
	Audience string
	// Tenant is the slug of the tenant whose users may use this
	// application. Required.
	Tenant string
	// Client fetches the key set. Nil means a client with a 10s timeout.
	Client *http.Client
	// Leeway tolerated on the token's time window. Zero means 30 seconds.
	Leeway time.Duration
	// MinRefetch is the least time between two fetches. Zero means 10 seconds.
	MinRefetch time.Duration
	// Now tells the time. Nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	fetched time.Time
}

// Verify checks token (the X-Lanyard-JWT header, or a bearer token) and
// returns its claims.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	want := Expect{Issuer: v.Issuer, Audience: v.Audience, Tenant: v.Tenant, Leeway: v.Leeway}
	if want.Leeway == 0 {
		want.Leeway = 30 * time.Second
	}
	if want.Issuer == "" || want.Audience == "" || want.Tenant == "" {
		return Claims{}, fmt.Errorf("%w: set Issuer, Audience and Tenant of the Verifier", ErrConfig)
	}
	keys, err := v.keySet(ctx, now, false)
	if err != nil {
		return Claims{}, err
	}
	c, err := Check(token, keys, now, want)
	if !errors.Is(err, ErrUnknownKey) {
		return c, err
	}
	if keys, err = v.keySet(ctx, now, true); err != nil {
		return Claims{}, err
	}
	return Check(token, keys, now, want)
}

// keySet returns the cached keys, fetching them when there are none, or
// when again is set and the last fetch is older than MinRefetch.
func (v *Verifier) keySet(ctx context.Context, now time.Time, again bool) (map[string]*ecdsa.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	minRefetch := v.MinRefetch
	if minRefetch == 0 {
		minRefetch = 10 * time.Second
	}
	if v.keys != nil && (!again || now.Sub(v.fetched) < minRefetch) {
		return v.keys, nil
	}
	keys, err := v.fetch(ctx)
	if err != nil {
		if v.keys != nil {
			return v.keys, nil // keep the last good set
		}
		return nil, err
	}
	v.keys, v.fetched = keys, now
	return keys, nil
}

func (v *Verifier) fetch(ctx context.Context) (map[string]*ecdsa.PublicKey, error) {
	client := v.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.JWKSURL, nil)
	if err != nil {
		return nil, fmt.Errorf("identity: key set URL %q: %w", v.JWKSURL, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("identity: fetch key set: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("identity: fetch key set from %s: status %s", v.JWKSURL, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("identity: read key set: %w", err)
	}
	set, err := ParseJWKS(body)
	if err != nil {
		return nil, err
	}
	return set.PublicKeys()
}
