package ldapsync

import (
	"context"
	"errors"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Scheduler runs each enabled directory's full and incremental syncs when
// they are due. It runs inside serve until ctx ends.
type Scheduler struct {
	Syncer *Syncer
	// Tick is how often due syncs are looked for. Default one minute.
	Tick time.Duration

	attempted map[int64]time.Time // last run started, per tenant
}

// Run looks for due syncs every Tick until ctx ends; it returns ctx's error.
func (s *Scheduler) Run(ctx context.Context) error {
	tick := s.Tick
	if tick <= 0 {
		tick = time.Minute
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		s.RunDue(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RunDue runs the syncs that are due now, one tenant after the other.
func (s *Scheduler) RunDue(ctx context.Context) {
	log := s.Syncer.logger()
	dirs, err := s.Syncer.Store.LDAPDirectories(ctx)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("LDAP sync scheduler: list directories", "err", err)
		}
		return
	}
	now := s.Syncer.now()
	for _, dir := range dirs {
		if !dir.Enabled || ctx.Err() != nil {
			continue
		}
		dir.Normalize()
		state, err := s.Syncer.Store.LDAPSyncState(ctx, dir.TenantID)
		if err != nil {
			log.Error("LDAP sync scheduler: state", "tenant_id", dir.TenantID, "err", err)
			continue
		}
		kind := ""
		switch {
		case now.Sub(state.LastFullAt) >= time.Duration(dir.FullInterval):
			kind = lanyard.SyncFull
		case dir.Incremental != lanyard.IncrementalOff && now.Sub(state.LastIncrAt) >= time.Duration(dir.IncrementalInterval):
			kind = lanyard.SyncIncremental
		default:
			continue
		}
		// A failed or stopped run is tried again at the incremental pace,
		// not at every tick.
		if last, ok := s.attempted[dir.TenantID]; ok && now.Sub(last) < time.Duration(dir.IncrementalInterval) {
			continue
		}
		if s.attempted == nil {
			s.attempted = map[int64]time.Time{}
		}
		s.attempted[dir.TenantID] = now
		tenant, err := s.Syncer.Store.TenantByID(ctx, dir.TenantID)
		if err != nil {
			log.Error("LDAP sync scheduler: tenant", "tenant_id", dir.TenantID, "err", err)
			continue
		}
		if _, err := s.Syncer.Sync(ctx, tenant, Options{Kind: kind, Actor: "scheduler"}); err != nil && errors.Is(err, ErrBusy) {
			continue
		}
	}
}
