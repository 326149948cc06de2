package tenantcfg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
)

// BrowserBinding turns the secret a browser holds in its cookie into the
// value handed to package saml (AuthnRequestOptions.BrowserBinding,
// ResponseInput.BrowserBinding): its SHA-256, in hex. Only that hash reaches
// the database, so a copy of the pending requests cannot be replayed from
// another browser. An empty secret gives "".
func BrowserBinding(cookieSecret string) string {
	if cookieSecret == "" {
		return ""
	}
	h := sha256.Sum256([]byte(cookieSecret))
	return hex.EncodeToString(h[:])
}

// requestStore keeps a tenant's pending AuthnRequests in the store:
// saml.RequestStore over lanyard.PendingRequestStore.
type requestStore struct {
	store    lanyard.PendingRequestStore
	tenantID int64
	now      func() time.Time
}

var _ saml.RequestStore = (*requestStore)(nil)

// Save implements saml.RequestStore. The browser binding must come from
// BrowserBinding; it is stored as the raw 32-byte hash.
func (s *requestStore) Save(ctx context.Context, r saml.PendingRequest) error {
	var binding []byte
	if r.BrowserBinding != "" {
		b, err := hex.DecodeString(r.BrowserBinding)
		if err != nil || len(b) != sha256.Size {
			return errors.New("tenantcfg: browser binding is not a SHA-256 from BrowserBinding")
		}
		binding = b
	}
	now := s.now().UTC()
	p := lanyard.PendingRequest{
		ID:          r.ID,
		TenantID:    s.tenantID,
		IdPEntityID: r.IdPEntityID,
		ReturnTo:    r.ReturnTo,
		Binding:     binding,
		CreatedAt:   now,
		ExpiresAt:   r.Expires.UTC(),
	}
	if err := s.store.SavePendingRequest(ctx, &p); err != nil {
		return fmt.Errorf("tenantcfg: save pending request: %w", err)
	}
	return nil
}

// Take implements saml.RequestStore. A request of another tenant is not
// found: a response posted to the wrong tenant's ACS answers nothing there.
func (s *requestStore) Take(ctx context.Context, id string) (saml.PendingRequest, error) {
	// Inside a login's transaction (lanyard.ContextWithTx) the request is
	// taken there: it stays pending when the login does not commit.
	p, err := lanyard.StoreFor(ctx, s.store).TakePendingRequest(ctx, id, s.now().UTC())
	if errors.Is(err, lanyard.ErrNotFound) {
		return saml.PendingRequest{}, saml.ErrRequestNotFound
	}
	if err != nil {
		return saml.PendingRequest{}, fmt.Errorf("tenantcfg: take pending request: %w", err)
	}
	if p.TenantID != s.tenantID {
		return saml.PendingRequest{}, saml.ErrRequestNotFound
	}
	r := saml.PendingRequest{ID: p.ID, ReturnTo: p.ReturnTo, IdPEntityID: p.IdPEntityID, Expires: p.ExpiresAt}
	if len(p.Binding) > 0 {
		r.BrowserBinding = hex.EncodeToString(p.Binding)
	}
	return r, nil
}

// replayCache is saml.ReplayCache over the store's cluster-wide cache.
type replayCache struct {
	store lanyard.ReplayCache
	now   func() time.Time
}

var _ saml.ReplayCache = (*replayCache)(nil)

// MarkUsed implements saml.ReplayCache.
func (c *replayCache) MarkUsed(ctx context.Context, id string, expires time.Time) (bool, error) {
	// Inside a login's transaction the mark commits with the login, or
	// not at all, so that a login that failed can be retried.
	first, err := lanyard.StoreFor(ctx, c.store).MarkAssertionUsed(ctx, id, expires.UTC(), c.now().UTC())
	if err != nil {
		return false, fmt.Errorf("tenantcfg: replay cache: %w", err)
	}
	return first, nil
}
