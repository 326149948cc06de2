package sso

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// MetadataFetchRecorder notes who fetched a tenant's SP metadata, so that
// an administrator rolling over a key sees which IdPs have refreshed it
// (admin.Service).
type MetadataFetchRecorder interface {
	RecordMetadataFetch(ctx context.Context, tenantID int64, requester, userAgent string)
}

// fetchRecordInterval is the least time between two records of the same
// requester and tenant: the metadata is public, and each record is a
// database write.
const fetchRecordInterval = time.Minute

// maxFetchThrottle bounds the requesters the throttle remembers; it
// forgets them all when full (at worst one more write each).
const maxFetchThrottle = 10000

// fetchThrottle says whether a fetch should be recorded now.
type fetchThrottle struct {
	mu   sync.Mutex
	last map[fetchKey]time.Time
}

// fetchKey includes the configuration version: a fetch of a changed
// metadata (a next key published) is recorded at once.
type fetchKey struct {
	tenantID  int64
	version   int64
	requester string
}

func (f *fetchThrottle) due(tenantID, version int64, requester string, now time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := fetchKey{tenantID, version, requester}
	if t, ok := f.last[k]; ok && now.Sub(t) < fetchRecordInterval {
		return false
	}
	if f.last == nil || len(f.last) >= maxFetchThrottle {
		f.last = map[fetchKey]time.Time{}
	}
	f.last[k] = now
	return true
}

// recordMetadataFetch records the request's fetch of the tenant's metadata
// when a recorder is configured and the throttle allows.
func (d *Deps) recordMetadataFetch(r *http.Request, tenantID, version int64) {
	if d.MetadataFetches == nil || d.fetches == nil {
		return
	}
	requester := d.Kit.ClientAddress(r)
	if !d.fetches.due(tenantID, version, requester, time.Now()) {
		return
	}
	d.MetadataFetches.RecordMetadataFetch(context.WithoutCancel(r.Context()), tenantID, requester, r.UserAgent())
}
