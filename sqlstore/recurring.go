package sqlstore

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"
)

// Recurring is work an engine runs beside its pools every interval, in the
// background (SQLite's checkpoints, PostgreSQL's statistics keeper). A
// failed pass is counted and retried at the next one; it is logged when
// the work starts failing and when it works again, not at every pass, so
// a disk that fills shows once, not ten times a second. It is a
// Background.
type Recurring struct {
	what     string
	interval time.Duration
	pass     func(ctx context.Context, logger *slog.Logger) error
	cancel   context.CancelFunc
	done     chan struct{}
	logger   atomic.Pointer[slog.Logger]
	failures atomic.Uint64
}

// StartRecurring runs pass every interval, the first one interval after
// the start, until Stop. what names the work in the log ("sqlite: WAL
// checkpoint"). pass logs what it did through the logger it is given.
func StartRecurring(what string, interval time.Duration, pass func(ctx context.Context, logger *slog.Logger) error) *Recurring {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Recurring{what: what, interval: interval, pass: pass, cancel: cancel, done: make(chan struct{})}
	r.logger.Store(slog.New(slog.DiscardHandler))
	go r.loop(ctx)
	return r
}

// SetLogger sets where the work logs.
func (r *Recurring) SetLogger(l *slog.Logger) { r.logger.Store(l) }

// Failures counts the passes that failed.
func (r *Recurring) Failures() uint64 { return r.failures.Load() }

// Stop ends the loop, after the pass under way if any.
func (r *Recurring) Stop() {
	r.cancel()
	<-r.done
}

func (r *Recurring) loop(ctx context.Context) {
	defer close(r.done)
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := r.pass(ctx, r.logger.Load())
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.failures.Add(1)
			if !failing {
				r.logger.Load().Error(r.what+" failed; retrying every interval", "err", err, "interval", r.interval.String())
			}
			failing = true
		case failing:
			r.logger.Load().Info(r.what + " works again")
			failing = false
		}
	}
}
