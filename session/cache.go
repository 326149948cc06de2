package session

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/lanyard-sso/lanyard"
)

// Defaults of CacheOptions.
const (
	DefaultCacheTTL        = 2 * time.Second
	DefaultCacheMaxEntries = 100_000
	DefaultCacheMaxBytes   = 64 << 20
)

// Snapshot is who holds a session, as read from the store at Fetched: the
// session, its user (with roles) and the user's tenant. It is shared
// between requests: never modify it.
type Snapshot struct {
	Session lanyard.Session
	User    lanyard.User
	Tenant  lanyard.Tenant
	Fetched time.Time
}

// CacheStore is what a Cache reads besides sessions: accounts and tenants.
type CacheStore interface {
	User(ctx context.Context, id int64) (lanyard.User, error)
	TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
}

// HolderStore reads a session and its account in one round trip, whether
// or not the session has expired. ErrNotFound when there is no session. A
// CacheStore that is also a HolderStore and an ActivityStore answers a
// miss with that one read, and takes the sessions' activity in batches.
type HolderStore interface {
	SessionHolder(ctx context.Context, hash []byte) (lanyard.Session, lanyard.User, error)
}

// TenantSource tells a tenant by its ID, from memory when it can (see
// tenantcfg.Registry).
type TenantSource interface {
	TenantByID(ctx context.Context, id int64) (lanyard.Tenant, error)
}

// CacheOptions tune a Cache. The zero value is ready to use.
type CacheOptions struct {
	// TTL is how long a snapshot is answered from memory: the bound on how
	// stale an answer may be. A session ended, or an account deactivated,
	// on any node stops opening anything here within TTL. Zero means
	// DefaultCacheTTL (2 seconds).
	TTL time.Duration
	// MaxEntries bounds the number of snapshots held. Zero means
	// DefaultCacheMaxEntries.
	MaxEntries int
	// MaxBytes bounds the memory the snapshots take, as estimated by
	// Stats. Zero means DefaultCacheMaxBytes (64 MiB).
	MaxBytes int64
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
	// Tenants tells the tenant of a session. Nil means the store.
	Tenants TenantSource
	// Activity tunes the background writer of the sessions' activity,
	// used when the store is a HolderStore and an ActivityStore.
	Activity ActivityOptions
}

// Cache answers "who holds this session?" from memory for up to its TTL,
// for the checks that run on every request an application receives
// (forward-auth, the reverse proxy). A hit costs a hash and a map read: no
// database access and no write. A miss reads the session with its account
// in one query (over a HolderStore) and takes the tenant from Tenants
// (memory); the session's activity, due at most once per touch interval,
// goes to a background writer (Activity), never to the database on the
// request path. Concurrent misses for the same session share one read. A session whose account is inactive, locked or without web access
// is ended and answers ErrNoSession, as for the admin pages.
//
// Expired entries are swept every TTL by a timer that runs only while the
// cache holds entries, so memory returns when the traffic stops; the cache
// is bounded in entries and in bytes. When it is full, the entries answered
// from since they were read stay (second chance): a flood of distinct
// sessions read once each does not push out the sessions in use.
//
// The Cache is safe for concurrent use.
type Cache struct {
	manager    *Manager
	store      CacheStore
	tenants    TenantSource
	holders    HolderStore // nil: read through the Manager
	activity   *Activity   // with holders
	ttl        time.Duration
	maxEntries int
	maxBytes   int64
	now        func() time.Time

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cacheEntry
	bytes   int64 // the estimated size of the entries
	// peak is the most entries held since the map was last made anew:
	// a Go map keeps its buckets after deletes, so a map that shrank far
	// below its peak is copied into a small one.
	peak     int
	sweeping bool // a sweep is scheduled

	flightMu sync.Mutex
	flights  map[[sha256.Size]byte]*flight
}

type cacheEntry struct {
	snap    *Snapshot
	expires time.Time // of the entry, not of the session
	size    int64     // estimated bytes, key and map slot included
	// used is set by the first hit: an entry used since it was read
	// survives an eviction that drops the unused ones.
	used *atomic.Bool
}

// CacheStats are the size of a Cache.
type CacheStats struct {
	Entries int
	// Bytes is an estimate of the memory the entries hold: the snapshots
	// with their strings and slices, the keys and the map's slots.
	Bytes int64
}

// Stats returns the size of the cache.
func (c *Cache) Stats() CacheStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return CacheStats{Entries: len(c.entries), Bytes: c.bytes}
}

// flight is a read of the store in progress, shared by concurrent misses.
type flight struct {
	done chan struct{}
	snap *Snapshot
	err  error
}

// NewCache returns a cache over manager and store.
func NewCache(manager *Manager, store CacheStore, opts CacheOptions) *Cache {
	c := &Cache{
		manager:    manager,
		store:      store,
		ttl:        opts.TTL,
		maxEntries: opts.MaxEntries,
		maxBytes:   opts.MaxBytes,
		now:        opts.Now,
		entries:    map[[sha256.Size]byte]cacheEntry{},
		flights:    map[[sha256.Size]byte]*flight{},
	}
	if c.ttl <= 0 {
		c.ttl = DefaultCacheTTL
	}
	if c.maxEntries <= 0 {
		c.maxEntries = DefaultCacheMaxEntries
	}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultCacheMaxBytes
	}
	if c.now == nil {
		c.now = time.Now
	}
	c.tenants = opts.Tenants
	if c.tenants == nil {
		c.tenants = store
	}
	hs, okHolder := store.(HolderStore)
	as, okActivity := store.(ActivityStore)
	if okHolder && okActivity {
		c.holders = hs
		ao := opts.Activity
		if ao.Now == nil {
			ao.Now = c.now
		}
		c.activity = NewActivity(as, ao)
	}
	return c
}

// Close writes the sessions' activity still in memory. Call it when the
// server stops; lookups after it write activity at once.
func (c *Cache) Close(ctx context.Context) error {
	if c.activity == nil {
		return nil
	}
	return c.activity.Close(ctx)
}

// Activity is the background writer of the sessions' activity, or nil
// when the store cannot take it in batches.
func (c *Cache) Activity() *Activity { return c.activity }

// TTL is the staleness bound of the cache.
func (c *Cache) TTL() time.Duration { return c.ttl }

// Lookup returns who holds the session with the ID, or ErrNoSession.
// Other errors mean the store failed.
func (c *Cache) Lookup(ctx context.Context, id string) (*Snapshot, error) {
	if !wellFormedID(id) {
		return nil, ErrNoSession
	}
	key := sha256.Sum256([]byte(id))
	if snap, found, err := c.cached(key); found {
		return snap, err
	}
	return c.miss(ctx, key, id)
}

// cached answers from a fresh entry; found is false when there is none.
func (c *Cache) cached(key [sha256.Size]byte) (snap *Snapshot, found bool, err error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.entries[key]
	c.mu.RUnlock()
	if !ok || !now.Before(e.expires) {
		return nil, false, nil
	}
	// The entry is fresh, but the session may have expired meanwhile.
	if !e.snap.Session.Valid(now) {
		return nil, true, ErrNoSession
	}
	if !e.used.Load() {
		e.used.Store(true)
	}
	return e.snap, true, nil
}

// Forget drops the snapshot of the session with the ID, on this node: call
// it when the session ends here, so that it stops at once here too.
func (c *Cache) Forget(id string) {
	key := sha256.Sum256([]byte(id))
	c.mu.Lock()
	c.drop(key)
	c.mu.Unlock()
}

// miss reads the snapshot from the store, once for all concurrent callers.
func (c *Cache) miss(ctx context.Context, key [sha256.Size]byte, id string) (*Snapshot, error) {
	c.flightMu.Lock()
	if f, ok := c.flights[key]; ok {
		c.flightMu.Unlock()
		select {
		case <-f.done:
			return f.snap, f.err
		case <-ctx.Done():
			return nil, fmt.Errorf("session: cache: waiting for the store: %w", ctx.Err())
		}
	}
	// A flight that ended since the caller looked has stored its entry
	// (before it ended): use it rather than read again, however late this
	// caller was scheduled.
	if snap, found, err := c.cached(key); found {
		c.flightMu.Unlock()
		return snap, err
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.flightMu.Unlock()

	// The read is shared: one caller giving up must not fail the others.
	readCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	f.snap, f.err = c.load(readCtx, id)
	cancel()
	if f.err == nil {
		c.put(key, f.snap)
	} else {
		c.mu.Lock()
		c.drop(key)
		c.mu.Unlock()
	}
	c.flightMu.Lock()
	delete(c.flights, key)
	c.flightMu.Unlock()
	close(f.done)
	return f.snap, f.err
}

// load reads the session, its account and tenant from the store.
func (c *Cache) load(ctx context.Context, id string) (*Snapshot, error) {
	if c.holders != nil {
		return c.loadHolder(ctx, id)
	}
	sess, err := c.manager.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	user, err := c.store.User(ctx, sess.UserID)
	if errors.Is(err, lanyard.ErrNotFound) {
		return nil, ErrNoSession // the account was deleted, with its sessions
	}
	if err != nil {
		return nil, fmt.Errorf("session: cache: load user %d of a session: %w", sess.UserID, err)
	}
	if user.Status != lanyard.StatusActive || user.Locked || !user.WebAccess {
		// The account may no longer sign in: end its session, as the
		// admin pages do, so that no node honours it again.
		if err := c.manager.End(ctx, id); err != nil {
			return nil, fmt.Errorf("session: cache: end the session of inactive user %d: %w", user.ID, err)
		}
		return nil, ErrNoSession
	}
	tenant, err := c.store.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return nil, fmt.Errorf("session: cache: load tenant %d of a session: %w", sess.TenantID, err)
	}
	return &Snapshot{Session: sess, User: user, Tenant: tenant, Fetched: c.now()}, nil
}

// loadHolder reads the session with its account in one query, takes the
// tenant from memory and hands the activity to the background writer.
func (c *Cache) loadHolder(ctx context.Context, id string) (*Snapshot, error) {
	now := c.manager.now().UTC()
	hash := lanyard.HashSessionID(id)
	sess, user, err := c.holders.SessionHolder(ctx, hash)
	switch {
	case errors.Is(err, lanyard.ErrNotFound):
		return nil, ErrNoSession
	case err != nil:
		return nil, fmt.Errorf("session: cache: read session: %w", err)
	}
	storedExpiry := sess.ExpiresAt()
	// Activity not yet written keeps the session alive on this node.
	if p, ok := c.activity.Pending(hash); ok && p.LastSeenAt.After(sess.LastSeenAt) {
		sess.LastSeenAt, sess.IdleExpiresAt = p.LastSeenAt, p.IdleExpiresAt
	}
	if !sess.Valid(now) {
		return nil, ErrNoSession
	}
	if user.Status != lanyard.StatusActive || user.Locked || !user.WebAccess {
		// The account may no longer sign in: end its session, as the
		// admin pages do, so that no node honours it again.
		if err := c.manager.End(ctx, id); err != nil {
			return nil, fmt.Errorf("session: cache: end the session of inactive user %d: %w", user.ID, err)
		}
		return nil, ErrNoSession
	}
	tenant, err := c.tenants.TenantByID(ctx, sess.TenantID)
	if err != nil {
		return nil, fmt.Errorf("session: cache: tenant %d of a session: %w", sess.TenantID, err)
	}
	if now.Sub(sess.LastSeenAt) >= c.manager.touchInterval {
		// The idle time is the tenant's current one, so a shorter setting
		// applies to open sessions from their next activity.
		settings := tenant.SSO
		settings.Normalize()
		sess.LastSeenAt = now
		sess.IdleExpiresAt = idleExpiry(now, time.Duration(settings.SessionIdle), sess.AbsExpiresAt)
		if err := c.activity.Record(ctx, sess, storedExpiry); err != nil {
			return nil, fmt.Errorf("session: cache: %w", err)
		}
	}
	return &Snapshot{Session: sess, User: user, Tenant: tenant, Fetched: c.now()}, nil
}

// put stores snap, first making room when the cache is full (in entries
// or bytes): expired entries go, then, if that is not enough, any half of
// the rest.
func (c *Cache) put(key [sha256.Size]byte, snap *Snapshot) {
	size := snapshotSize(snap)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(key)
	if len(c.entries) >= c.maxEntries || c.bytes+size > c.maxBytes {
		c.sweepExpired(c.now())
		// Unused entries go first, then any: a sweep frees half the cache,
		// so that the next ones to come do not each pay for a sweep.
		roomy := func() bool { return len(c.entries) < c.maxEntries/2 && c.bytes+size <= c.maxBytes/2 }
		for _, usedToo := range []bool{false, true} {
			for k, e := range c.entries {
				if roomy() {
					break
				}
				if usedToo || !e.used.Load() {
					c.drop(k)
				}
			}
		}
	}
	c.entries[key] = cacheEntry{snap: snap, expires: snap.Fetched.Add(c.ttl), size: size, used: new(atomic.Bool)}
	c.bytes += size
	c.peak = max(c.peak, len(c.entries))
	if !c.sweeping {
		c.sweeping = true
		time.AfterFunc(c.ttl, c.sweep)
	}
}

// drop removes the entry of key, if any. The caller holds mu.
func (c *Cache) drop(key [sha256.Size]byte) {
	if e, ok := c.entries[key]; ok {
		c.bytes -= e.size
		delete(c.entries, key)
	}
}

// sweepExpired removes the expired entries, and makes the map anew when it
// holds far fewer entries than at its peak. The caller holds mu.
func (c *Cache) sweepExpired(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			c.drop(k)
		}
	}
	if len(c.entries) < c.peak/4 {
		c.entries = maps.Clone(c.entries)
		if c.entries == nil {
			c.entries = map[[sha256.Size]byte]cacheEntry{}
		}
		c.peak = len(c.entries)
	}
}

// sweep runs every TTL while the cache holds entries.
func (c *Cache) sweep() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sweepExpired(c.now())
	if len(c.entries) == 0 {
		c.sweeping = false
		return
	}
	time.AfterFunc(c.ttl, c.sweep)
}

// Fixed parts of an entry's size: the snapshot and entry structs, the key,
// and a map slot with its share of bucket overhead.
var (
	snapshotBytes = int64(unsafe.Sizeof(Snapshot{}))
	entrySlot     = int64(unsafe.Sizeof(cacheEntry{})+sha256.Size) + 16 + 8 // and the used flag
)

// snapshotSize estimates the memory an entry of snap holds: its structs
// plus what their strings, slices, maps and pointers refer to.
func snapshotSize(snap *Snapshot) int64 {
	// Through the pointer: ValueOf(*snap) would copy the snapshot to the heap.
	return snapshotBytes + entrySlot + referencedBytes(reflect.ValueOf(snap).Elem())
}

var timeType = reflect.TypeFor[time.Time]()

// referencedBytes sums the memory v refers to beyond its own size.
func referencedBytes(v reflect.Value) int64 {
	if v.Type() == timeType {
		return 0 // its location is shared
	}
	switch v.Kind() {
	case reflect.String:
		return int64(v.Len())
	case reflect.Slice:
		if v.IsNil() {
			return 0
		}
		n := int64(v.Cap()) * int64(v.Type().Elem().Size())
		for i := range v.Len() {
			n += referencedBytes(v.Index(i))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return 0
		}
		n := int64(48) // the map header
		for it := v.MapRange(); it.Next(); {
			n += int64(it.Key().Type().Size()+it.Value().Type().Size()) + referencedBytes(it.Key()) + referencedBytes(it.Value())
		}
		return n
	case reflect.Pointer:
		if v.IsNil() {
			return 0
		}
		return int64(v.Elem().Type().Size()) + referencedBytes(v.Elem())
	case reflect.Struct:
		var n int64
		for i := range v.NumField() {
			n += referencedBytes(v.Field(i))
		}
		return n
	case reflect.Array:
		var n int64
		for i := range v.Len() {
			n += referencedBytes(v.Index(i))
		}
		return n
	}
	return 0
}
