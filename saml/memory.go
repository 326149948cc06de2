package saml

import (
	"context"
	"sync"
	"time"
)

// MemoryRequestStore is an in-process RequestStore, for tests, examples and
// single-node deployments. Expired entries are dropped lazily.
type MemoryRequestStore struct {
	mu   sync.Mutex
	reqs map[string]PendingRequest
	// Now is the clock; nil means time.Now.
	Now Clock
}

var _ RequestStore = (*MemoryRequestStore)(nil)

// NewMemoryRequestStore returns an empty store.
func NewMemoryRequestStore() *MemoryRequestStore {
	return &MemoryRequestStore{reqs: make(map[string]PendingRequest)}
}

func (m *MemoryRequestStore) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Save stores r.
func (m *MemoryRequestStore) Save(_ context.Context, r PendingRequest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if len(m.reqs) > 1024 {
		for id, p := range m.reqs {
			if !p.Expires.IsZero() && now.After(p.Expires) {
				delete(m.reqs, id)
			}
		}
	}
	m.reqs[r.ID] = r
	return nil
}

// Take returns and removes the request, or ErrRequestNotFound.
func (m *MemoryRequestStore) Take(_ context.Context, id string) (PendingRequest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.reqs[id]
	if !ok {
		return PendingRequest{}, ErrRequestNotFound
	}
	delete(m.reqs, id)
	if !r.Expires.IsZero() && m.now().After(r.Expires) {
		return PendingRequest{}, ErrRequestNotFound
	}
	return r, nil
}

// MemoryReplayCache is an in-process ReplayCache. A cluster needs a shared
// one (the store's).
type MemoryReplayCache struct {
	mu   sync.Mutex
	used map[string]time.Time
	// Now is the clock used to drop expired entries; nil means time.Now.
	Now Clock
}

var _ ReplayCache = (*MemoryReplayCache)(nil)

// NewMemoryReplayCache returns an empty cache.
func NewMemoryReplayCache() *MemoryReplayCache {
	return &MemoryReplayCache{used: make(map[string]time.Time)}
}

// MarkUsed implements ReplayCache.
func (m *MemoryReplayCache) MarkUsed(_ context.Context, id string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if m.Now != nil {
		now = m.Now()
	}
	if len(m.used) > 4096 {
		for k, exp := range m.used {
			if now.After(exp) {
				delete(m.used, k)
			}
		}
	}
	if _, ok := m.used[id]; ok {
		return false, nil
	}
	m.used[id] = expires
	return true, nil
}
