package ldapsync_test

import (
	"context"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// The scheduler, with its timers running at short intervals, runs a full
// sync of an enabled directory, then incremental ones, and leaves a
// disabled directory alone.
func TestSchedulerRunsDueSyncs(t *testing.T) {
	store := testdb.SQLite(t)
	_, tenant, sy := setup(t, store)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ls := store.(ldapsync.Store)
	dir, err := ls.LDAPDirectory(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	dir.FullInterval, dir.IncrementalInterval = lanyard.Duration(time.Hour), lanyard.Duration(100*time.Millisecond)
	if err := ls.PutLDAPDirectory(ctx, &dir, false); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- (&ldapsync.Scheduler{Syncer: sy, Tick: 20 * time.Millisecond}).Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		runs, err := ls.LDAPSyncRuns(ctx, tenant.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		var full, incr int
		for _, r := range runs {
			if r.Actor != "scheduler" || r.Status != lanyard.SyncOK {
				t.Fatalf("run %+v", r)
			}
			if r.Kind == lanyard.SyncFull {
				full++
			} else {
				incr++
			}
		}
		if full == 1 && incr >= 1 {
			break
		}
		if full > 1 || time.Now().After(deadline) {
			t.Fatalf("after the scheduler ran: %d full, %d incremental runs (want 1 full, then incremental)", full, incr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := store.UserByLogin(ctx, tenant.ID, "alice"); err != nil {
		t.Fatalf("the scheduled sync did not create alice: %v", err)
	}

	// Disabled: no more runs.
	dir.Enabled = false
	if err := ls.PutLDAPDirectory(ctx, &dir, false); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // a run in flight ends
	before, _ := ls.LDAPSyncRuns(ctx, tenant.ID, 100)
	time.Sleep(300 * time.Millisecond)
	after, _ := ls.LDAPSyncRuns(ctx, tenant.ID, 100)
	if len(after) != len(before) {
		t.Fatalf("a disabled directory was synced: %d runs, then %d", len(before), len(after))
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Run returned %v", err)
	}
}
