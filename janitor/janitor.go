// Package janitor purges expired rows: sessions, assertion replay entries,
// pending authentication requests, login failures too old to count and
// SAML tracer entries past their retention. Every row it purges is already
// ignored by its readers once expired; purging only keeps the tables small.
// Every node of a cluster may run it: the deletes are idempotent.
package janitor

import (
	"context"
	"log/slog"
	"time"

	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/lockout"
)

// DefaultInterval is how often a janitor purges when Interval is zero.
const DefaultInterval = time.Minute

// Store is what the janitor deletes from.
type Store interface {
	PurgeExpiredSessions(ctx context.Context, now time.Time) (int, error)
	PurgeReplay(ctx context.Context, now time.Time) (int, error)
	PurgePendingRequests(ctx context.Context, now time.Time) (int, error)
	PurgeFailures(ctx context.Context, before time.Time) (int, error)
	PurgeLoginTraces(ctx context.Context, before time.Time) (int, error)
}

// Janitor purges Store every Interval.
type Janitor struct {
	Store Store
	// Logger receives failures (Error) and counts (Debug). Nil discards.
	Logger *slog.Logger
	// Now tells the time. Nil means time.Now.
	Now func() time.Time
	// Interval between purges. Zero means DefaultInterval; it must not be
	// negative.
	Interval time.Duration
}

// purgeTimeout bounds one purge, so a hung database cannot stack them up.
const purgeTimeout = 30 * time.Second

// Run purges every Interval until ctx is done, then returns nil. The first
// purge runs one Interval after the start.
func (j *Janitor) Run(ctx context.Context) error {
	interval := j.Interval
	if interval == 0 {
		interval = DefaultInterval
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
			j.Purge(ctx)
		}
	}
}

// Purge deletes what has expired, once. Each step runs even when another
// fails; failures are logged and retried at the next run.
func (j *Janitor) Purge(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, purgeTimeout)
	defer cancel()
	logger := j.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now()
	if j.Now != nil {
		now = j.Now()
	}
	steps := []struct {
		what string
		run  func() (int, error)
	}{
		{"expired sessions", func() (int, error) { return j.Store.PurgeExpiredSessions(ctx, now) }},
		{"assertion replay entries", func() (int, error) { return j.Store.PurgeReplay(ctx, now) }},
		{"pending authentication requests", func() (int, error) { return j.Store.PurgePendingRequests(ctx, now) }},
		// Failures are kept as long as the lockout policy reads them.
		{"login failures", func() (int, error) { return j.Store.PurgeFailures(ctx, now.Add(-lockout.Retention)) }},
		{"SAML tracer entries", func() (int, error) { return j.Store.PurgeLoginTraces(ctx, now.Add(-admin.TraceRetention)) }},
	}
	for _, step := range steps {
		n, err := step.run()
		if err != nil {
			if ctx.Err() == nil {
				logger.Error("purge failed; will retry at the next run", "what", step.what, "err", err)
			}
			continue
		}
		if n > 0 {
			logger.Debug("purged", "what", step.what, "count", n)
		}
	}
}
