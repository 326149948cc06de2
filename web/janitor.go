package web

import (
	"context"
	"time"
)

// janitorInterval is how often expired rows are purged. Every row purged
// here is already ignored by its readers once expired; purging only keeps
// the tables small.
const janitorInterval = time.Minute

// startJanitor runs purge every janitorInterval until Close.
func (s *Server) startJanitor() {
	ctx, cancel := context.WithCancel(context.Background())
	s.stopJanitor = cancel
	go func() {
		defer close(s.janitorDone)
		ticker := time.NewTicker(janitorInterval)
		defer ticker.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
				s.purge(ctx)
			}
		}
	}()
}

// purge deletes expired sessions, replay entries, pending requests and
// throttle failures too old to count. Each step runs even when another
// fails; every node of a cluster may run it, the deletes are idempotent.
func (s *Server) purge(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	now := s.now()
	steps := []struct {
		what string
		run  func() (int, error)
	}{
		{"expired sessions", func() (int, error) { return s.store.PurgeExpiredSessions(ctx, now) }},
		{"assertion replay entries", func() (int, error) { return s.store.PurgeReplay(ctx, now) }},
		{"pending authentication requests", func() (int, error) { return s.store.PurgePendingRequests(ctx, now) }},
		{"login failures", func() (int, error) { return s.store.PurgeFailures(ctx, now.Add(-throttleRetention)) }},
		{"SAML tracer entries", func() (int, error) { return s.purgeLoginTraces(ctx, now) }},
	}
	for _, step := range steps {
		n, err := step.run()
		if err != nil {
			if ctx.Err() == nil {
				s.logger.Error("purge failed; will retry at the next run", "what", step.what, "err", err)
			}
			continue
		}
		if n > 0 {
			s.logger.Debug("purged", "what", step.what, "count", n)
		}
	}
}
