package session

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Defaults of ActivityOptions.
const (
	// DefaultActivityFlushInterval is how long activity waits in memory
	// before it is written: far below the shortest idle timeout (a minute).
	DefaultActivityFlushInterval = 5 * time.Second
	// DefaultActivityMaxPending bounds the sessions whose activity waits.
	DefaultActivityMaxPending = 100_000
)

// activityWriteTimeout bounds one flush.
const activityWriteTimeout = 30 * time.Second

// ActivityStore writes sessions' activity in batches.
type ActivityStore interface {
	RecordSessionActivity(ctx context.Context, activity []lanyard.SessionActivity) error
}

// ActivityOptions tune an Activity writer. The zero value is ready to use.
type ActivityOptions struct {
	// FlushInterval is the longest activity waits in memory before a
	// background write. Zero means DefaultActivityFlushInterval.
	FlushInterval time.Duration
	// MaxPending bounds the sessions whose activity waits; when it is
	// reached, the recording request writes the batch itself rather than
	// drop anything. Zero means DefaultActivityMaxPending.
	MaxPending int
	// Logger receives failed writes (which are retried). Nil discards them.
	Logger *slog.Logger
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
}

// Activity records that sessions were used without a write on the request
// path: the latest activity of each session waits in memory (coalesced) and
// a timer writes all of it in one batch every FlushInterval, retrying a
// batch that fails. A session about to expire in the store is written at
// once, in the background, so that its idle timeout cannot pass while its
// activity waits. Close writes what is left.
//
// It is safe for concurrent use.
type Activity struct {
	store      ActivityStore
	interval   time.Duration
	maxPending int
	logger     *slog.Logger
	now        func() time.Time

	mu        sync.Mutex
	pending   map[[sha256.Size]byte]pendingActivity
	scheduled bool        // a flush timer is set or a flush is running
	timer     *time.Timer // the flush timer, when scheduled
	soon      bool        // urgent activity came while a flush ran
	closed    bool

	// flushMu serialises writes, so that an older batch never lands after
	// a newer one of the same session.
	flushMu sync.Mutex
}

// pendingActivity is a session's activity not yet written, and the expiry
// the store holds for it meanwhile.
type pendingActivity struct {
	lanyard.SessionActivity
	storedExpiry time.Time
}

// NewActivity returns an Activity writer over store.
func NewActivity(store ActivityStore, opts ActivityOptions) *Activity {
	a := &Activity{store: store, interval: opts.FlushInterval, maxPending: opts.MaxPending, logger: opts.Logger, now: opts.Now,
		pending: map[[sha256.Size]byte]pendingActivity{}}
	if a.interval <= 0 {
		a.interval = DefaultActivityFlushInterval
	}
	if a.maxPending <= 0 {
		a.maxPending = DefaultActivityMaxPending
	}
	if a.logger == nil {
		a.logger = slog.New(slog.DiscardHandler)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a
}

// Record notes that the session was seen at s.LastSeenAt with the idle
// expiry s.IdleExpiresAt; storedExpiry is the expiry the store holds now.
func (a *Activity) Record(ctx context.Context, s lanyard.Session, storedExpiry time.Time) error {
	var key [sha256.Size]byte
	copy(key[:], s.Hash)
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		// Shutting down: nothing will flush later, so write now.
		return a.store.RecordSessionActivity(ctx, []lanyard.SessionActivity{activityOf(s)})
	}
	if cur, ok := a.pending[key]; !ok || s.LastSeenAt.After(cur.LastSeenAt) {
		if ok && cur.storedExpiry.Before(storedExpiry) {
			storedExpiry = cur.storedExpiry
		}
		a.pending[key] = pendingActivity{SessionActivity: activityOf(s), storedExpiry: storedExpiry}
	}
	full := len(a.pending) >= a.maxPending
	// Due soon in the store: write within moments, not an interval.
	urgent := storedExpiry.Sub(a.now()) < 2*a.interval
	switch {
	case full:
	case urgent:
		a.scheduleLocked(0)
	default:
		a.scheduleLocked(a.interval)
	}
	a.mu.Unlock()
	if full {
		// Overloaded: this request pays for the write rather than lose
		// activity or grow without bound.
		return a.flush(ctx)
	}
	return nil
}

// Pending returns the activity of the session with the hash that waits
// to be written, if any.
func (a *Activity) Pending(hash []byte) (lanyard.SessionActivity, bool) {
	var key [sha256.Size]byte
	copy(key[:], hash)
	a.mu.Lock()
	defer a.mu.Unlock()
	p, ok := a.pending[key]
	return p.SessionActivity, ok
}

// PendingCount is the number of sessions whose activity waits.
func (a *Activity) PendingCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.pending)
}

// scheduleLocked sets the flush timer to fire within d, or sooner if it is
// already set to. The caller holds mu.
func (a *Activity) scheduleLocked(d time.Duration) {
	if a.scheduled {
		if d == 0 {
			if a.timer != nil && a.timer.Stop() {
				a.timer.Reset(0)
			} else {
				a.soon = true // the running flush sets the timer again
			}
		}
		return
	}
	a.scheduled = true
	a.timer = time.AfterFunc(d, a.onTimer)
}

// onTimer writes the pending activity, then sets the timer again if some
// is left (a failed batch, or activity recorded meanwhile).
func (a *Activity) onTimer() {
	ctx, cancel := context.WithTimeout(context.Background(), activityWriteTimeout)
	err := a.flush(ctx)
	cancel()
	if err != nil {
		a.logger.Warn("could not record sessions' activity; retrying", "err", err, "retry_in", a.interval)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.scheduled, a.timer = false, nil
	if len(a.pending) > 0 && !a.closed {
		next := a.interval
		if a.soon && err == nil {
			next = 0
		}
		a.scheduleLocked(next)
	}
	a.soon = false
}

// flush writes the pending activity in one batch. On failure the batch
// goes back to pending, behind any newer activity of the same sessions.
func (a *Activity) flush(ctx context.Context) error {
	a.flushMu.Lock()
	defer a.flushMu.Unlock()
	a.mu.Lock()
	if len(a.pending) == 0 {
		a.mu.Unlock()
		return nil
	}
	taken := a.pending
	a.pending = make(map[[sha256.Size]byte]pendingActivity, len(taken))
	a.mu.Unlock()

	batch := make([]lanyard.SessionActivity, 0, len(taken))
	for _, p := range taken {
		batch = append(batch, p.SessionActivity)
	}
	err := a.store.RecordSessionActivity(ctx, batch)
	if err == nil {
		return nil
	}
	a.mu.Lock()
	for k, p := range taken {
		if cur, ok := a.pending[k]; !ok || !cur.LastSeenAt.After(p.LastSeenAt) {
			a.pending[k] = p
		}
	}
	a.mu.Unlock()
	return fmt.Errorf("session: record activity of %d sessions: %w", len(batch), err)
}

// Close writes the pending activity and makes later records write at once.
// Call it when the server stops.
func (a *Activity) Close(ctx context.Context) error {
	a.mu.Lock()
	a.closed = true
	if a.timer != nil && a.timer.Stop() {
		a.scheduled, a.timer = false, nil
	}
	a.mu.Unlock()
	return a.flush(ctx)
}

func activityOf(s lanyard.Session) lanyard.SessionActivity {
	return lanyard.SessionActivity{Hash: s.Hash, LastSeenAt: s.LastSeenAt, IdleExpiresAt: s.IdleExpiresAt}
}
