package lanyard

import (
	"context"
	"time"
)

// KeyLifeStore keeps what the life of SP keys needs beyond SPKeyStore: the
// rollover stage of a key, and who fetched a tenant's SP metadata (so that
// an administrator knows whether IdPs have seen the next key).
type KeyLifeStore interface {
	// SetSPKeyNext marks a key as the next one (published, not yet used)
	// or not. ErrNotFound.
	SetSPKeyNext(ctx context.Context, id int64, next bool) error
	// RecordMetadataFetch notes that f.Requester fetched the tenant's SP
	// metadata at f.LastAt: the requester's row is created or its LastAt,
	// UserAgent and Count updated. Only the MaxMetadataFetchers most
	// recent requesters of a tenant are kept.
	RecordMetadataFetch(ctx context.Context, f MetadataFetch) error
	// MetadataFetches lists the requesters of a tenant's SP metadata, the
	// most recent first.
	MetadataFetches(ctx context.Context, tenantID int64) ([]MetadataFetch, error)
}

// MaxMetadataFetchers bounds the requesters remembered per tenant: the SP
// metadata is public, so anyone may fetch it.
const MaxMetadataFetchers = 50

// MetadataFetch is one requester of a tenant's SP metadata.
type MetadataFetch struct {
	TenantID int64
	// Requester is the client address the fetch came from.
	Requester string
	// UserAgent is the User-Agent of the latest fetch (IdPs name
	// themselves there: "Shibboleth", "Okta", "ADFS"...).
	UserAgent string
	FirstAt   time.Time
	LastAt    time.Time
	Count     int64
}
