package idpsync

import (
	"context"
	"io"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// Defaults of Refresher.
const (
	// DefaultInterval between two refreshes of a connection whose metadata
	// asks for nothing shorter.
	DefaultInterval = 6 * time.Hour
	// DefaultMinInterval is the shortest interval, whatever the metadata's
	// cacheDuration or validUntil say.
	DefaultMinInterval = 5 * time.Minute
	// DefaultRetryInterval is how long after a failed refresh the next
	// attempt comes.
	DefaultRetryInterval = 15 * time.Minute
	// DefaultPoll is how often the store is read for connections due.
	DefaultPoll = time.Minute
	// DefaultJitter is the fraction of the interval by which a refresh may
	// come early, so that connections (and nodes) spread out.
	DefaultJitter = 0.1
)

// Refresher keeps IdP connections imported from a URL up to date. Each
// connection with a SourceURL is due Interval after its last successful
// refresh (RefreshedAt), or sooner when its metadata's cacheDuration, or
// half the time left until its validUntil, is shorter, but never sooner than
// MinInterval; a failed refresh is retried RetryInterval after it was
// recorded. Refreshes come up to Jitter×interval early, at random.
//
// When is due is computed from what the store holds, so the nodes of a
// cluster sharing a store mostly do not refresh the same connection twice:
// the first node's success moves RefreshedAt for all. Two nodes that do
// refresh at the same moment store the same metadata, which is harmless.
//
// Fill in Store and Admin; the other fields have defaults.
type Refresher struct {
	// Store lists the connections.
	Store lanyard.IdPStore
	// Admin refreshes one connection (admin.Service.RefreshIdP) with its
	// fetcher, recording errors and audit events.
	Admin *admin.Service
	// Logger receives a line per refresh; nil means none.
	Logger *slog.Logger
	// Interval, MinInterval, RetryInterval, Poll and Jitter: zero means
	// the Default* constant of the same name.
	Interval, MinInterval, RetryInterval, Poll time.Duration
	Jitter                                     float64
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex
	early   map[int64]float64 // per connection: fraction of Jitter to come early
	details map[int64]cachedDetails
}

// cachedDetails remembers the parsed validity of a connection's metadata
// as of its UpdatedAt, so it is not parsed on every poll.
type cachedDetails struct {
	updatedAt     time.Time
	cacheDuration time.Duration
	validUntil    time.Time
}

// ActorRefresher is the audit actor of scheduled refreshes.
const ActorRefresher = "refresher"

// Run refreshes connections as they fall due until ctx is done, reading the
// store every Poll. It returns ctx's error.
func (r *Refresher) Run(ctx context.Context) error {
	poll := r.Poll
	if poll <= 0 {
		poll = DefaultPoll
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := r.RefreshDue(ctx); err != nil && ctx.Err() == nil {
			r.logger().Warn("cannot list IdP connections to refresh; trying again later", "in", poll.String(), "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RefreshDue refreshes, one after the other, every connection due now, and
// reports how many it tried. A failed refresh is recorded on the
// connection and logged (see admin.Service.RefreshIdP), not returned; the
// error is that of listing the connections.
func (r *Refresher) RefreshDue(ctx context.Context) (int, error) {
	conns, err := r.Store.IdPs(ctx, 0)
	if err != nil {
		return 0, err
	}
	now := r.now()
	tried := 0
	for _, c := range conns {
		if ctx.Err() != nil {
			return tried, nil
		}
		if c.SourceURL == "" || r.Due(c).After(now) {
			continue
		}
		// Another node may have refreshed it since the list was read.
		if cur, err := r.Store.IdP(ctx, c.TenantID, c.EntityID); err != nil || r.Due(cur).After(now) {
			continue
		} else {
			c = cur
		}
		tried++
		res, err := r.Admin.RefreshIdP(ctx, ActorRefresher, c)
		if err != nil {
			continue // recorded, audited and logged by RefreshIdP
		}
		r.logger().Info("IdP metadata refreshed", "entity_id", c.EntityID, "tenant_id", c.TenantID, "changes", res.Changes,
			"next", r.Due(res.Conn).UTC().Format(time.RFC3339))
		for _, w := range res.Warnings {
			r.logger().Warn("IdP needs attention", "entity_id", c.EntityID, "tenant_id", c.TenantID, "warning", w)
		}
	}
	return tried, nil
}

// Due returns when the connection should next be refreshed; the zero time
// for a connection never refreshed. Connections without a SourceURL are
// never due (the far future).
func (r *Refresher) Due(c lanyard.IdPConnection) time.Time {
	if c.SourceURL == "" {
		return time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if c.RefreshError != "" {
		retry := r.RetryInterval
		if retry <= 0 {
			retry = DefaultRetryInterval
		}
		return c.UpdatedAt.Add(retry)
	}
	if c.RefreshedAt.IsZero() {
		return time.Time{}
	}
	interval := r.IntervalFor(c)
	jitter := r.Jitter
	if jitter <= 0 {
		jitter = DefaultJitter
	}
	early := time.Duration(float64(interval) * jitter * r.earlyFraction(c.ID))
	return c.RefreshedAt.Add(interval - early)
}

// IntervalFor returns the refresh interval of a connection: Interval, or
// the metadata's cacheDuration, or half the time from the last refresh to
// its validUntil, whichever is shortest, but at least MinInterval.
func (r *Refresher) IntervalFor(c lanyard.IdPConnection) time.Duration {
	interval, minInterval := r.Interval, r.MinInterval
	if interval <= 0 {
		interval = DefaultInterval
	}
	if minInterval <= 0 {
		minInterval = DefaultMinInterval
	}
	d := r.detailsOf(c)
	if d.cacheDuration > 0 && d.cacheDuration < interval {
		interval = d.cacheDuration
	}
	if !d.validUntil.IsZero() {
		if half := d.validUntil.Sub(c.RefreshedAt) / 2; half < interval {
			interval = half
		}
	}
	return max(interval, minInterval)
}

// detailsOf returns the validity of a connection's metadata, parsing it
// once per version.
func (r *Refresher) detailsOf(c lanyard.IdPConnection) cachedDetails {
	r.mu.Lock()
	defer r.mu.Unlock()
	if d, ok := r.details[c.ID]; ok && d.updatedAt.Equal(c.UpdatedAt) {
		return d
	}
	info := admin.DescribeIdP(c)
	d := cachedDetails{updatedAt: c.UpdatedAt, cacheDuration: info.CacheDuration, validUntil: info.ValidUntil}
	if r.details == nil {
		r.details = map[int64]cachedDetails{}
	}
	r.details[c.ID] = d
	return d
}

// earlyFraction returns this node's random fraction in [0, 1) for a
// connection, the same for the life of the Refresher.
func (r *Refresher) earlyFraction(id int64) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.early[id]
	if !ok {
		f = rand.Float64()
		if r.early == nil {
			r.early = map[int64]float64{}
		}
		r.early[id] = f
	}
	return f
}

func (r *Refresher) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Refresher) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
