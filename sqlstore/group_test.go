package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// openSQLiteFile opens a migrated store as the server does (sqlite.Open:
// one write connection, so waiting transactions share commits) with one
// tenant.
func openSQLiteFile(t *testing.T) (*sqlstore.DB, int64) {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lanyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	tn := lanyard.Tenant{Slug: "group"}
	if err := db.CreateTenant(ctx, &tn); err != nil {
		t.Fatal(err)
	}
	return db, tn.ID
}

// holdWriter starts a transaction that keeps the write token until the
// returned function is called, which waits for its commit.
func holdWriter(t *testing.T, db *sqlstore.DB, tenantID int64) (release func()) {
	t.Helper()
	ctx := context.Background()
	started, let := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- db.Atomic(ctx, func(tx lanyard.Store) error {
			close(started)
			<-let
			return tx.CreateUser(ctx, &lanyard.User{TenantID: tenantID, Login: "holder", Status: lanyard.StatusActive, Source: lanyard.SourceLocal})
		})
	}()
	<-started
	return func() {
		close(let)
		if err := <-done; err != nil {
			t.Errorf("the held transaction: %v", err)
		}
	}
}

// waitQueued waits until n transactions wait behind the held one.
func waitQueued(t *testing.T, db *sqlstore.DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for db.QueuedTransactions() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", db.QueuedTransactions(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func userLogins(t *testing.T, db *sqlstore.DB, tenantID int64) string {
	t.Helper()
	users, err := db.Users(context.Background(), lanyard.UserFilter{TenantID: tenantID})
	if err != nil {
		t.Fatal(err)
	}
	var logins []string
	for _, u := range users {
		logins = append(logins, u.Login)
	}
	return strings.Join(logins, ",")
}

// Transactions that wait for the writer share one commit; one that fails
// undoes only its own changes, one that panics panics in its own caller,
// and every caller hears its own outcome.
func TestQueuedTransactionsShareACommit(t *testing.T) {
	ctx := context.Background()
	db, tenantID := openSQLiteFile(t)
	beforeTx, beforeCommits := db.CommitCounts()
	release := holdWriter(t, db, tenantID)

	errRefused := errors.New("refused after writing")
	const n = 6
	results := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { panics[i] = recover() }()
			results[i] = db.Atomic(ctx, func(tx lanyard.Store) error {
				u := lanyard.User{TenantID: tenantID, Login: fmt.Sprintf("user%d", i), Status: lanyard.StatusActive, Source: lanyard.SourceLocal}
				if err := tx.CreateUser(ctx, &u); err != nil {
					return err
				}
				switch i {
				case 2:
					return errRefused
				case 4:
					panic("member 4 panics")
				}
				return nil
			})
		}()
		// One at a time, so that the queue's order is known.
		waitQueued(t, db, i+1)
	}
	release()
	wg.Wait()

	for i := range n {
		switch i {
		case 2:
			if !errors.Is(results[i], errRefused) {
				t.Errorf("transaction %d: %v, want its own error", i, results[i])
			}
		case 4:
			if panics[i] != "member 4 panics" {
				t.Errorf("transaction %d: panic %v, want its own panic in its own caller", i, panics[i])
			}
		default:
			if results[i] != nil || panics[i] != nil {
				t.Errorf("transaction %d: %v, panic %v", i, results[i], panics[i])
			}
		}
	}
	if got, want := userLogins(t, db, tenantID), "holder,user0,user1,user3,user5"; got != want {
		t.Errorf("accounts %s, want %s", got, want)
	}
	afterTx, afterCommits := db.CommitCounts()
	if tx, commits := afterTx-beforeTx, afterCommits-beforeCommits; tx != 5 || commits != 2 {
		t.Errorf("%d transactions in %d commits, want 5 in 2 (the held one, then the four that succeeded together)", tx, commits)
	}
}

// A member whose write is interrupted (its context ends) loses the whole
// SQLite transaction: the members before it run again and commit, the one
// after it too, and only the interrupted one fails.
func TestQueuedTransactionsSurviveAnInterruptedMember(t *testing.T) {
	ctx := context.Background()
	db, tenantID := openSQLiteFile(t)
	release := holdWriter(t, db, tenantID)

	var runs [3]atomic.Int32
	results := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = db.Atomic(ctx, func(tx lanyard.Store) error {
				runs[i].Add(1)
				if i != 1 {
					return tx.CreateUser(ctx, &lanyard.User{TenantID: tenantID, Login: fmt.Sprintf("user%d", i), Status: lanyard.StatusActive, Source: lanyard.SourceLocal})
				}
				// A long write, cut short by its caller going away.
				wctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
				defer cancel()
				return sqlstore.ExecInTransaction(wctx, tx, `INSERT INTO audit_events (occurred_at, tenant_id, actor, action,
					outcome, reason, user_id, subject, client_ip, message, detail)
					WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)
					SELECT x, 0, '', '', '', '', 0, '', '', '', '' FROM c`)
			})
		}()
		waitQueued(t, db, i+1)
	}
	release()
	wg.Wait()

	if results[0] != nil || results[2] != nil {
		t.Fatalf("the members beside the interrupted one: %v, %v", results[0], results[2])
	}
	if results[1] == nil {
		t.Fatal("the interrupted member succeeded")
	}
	if got, want := userLogins(t, db, tenantID), "holder,user0,user2"; got != want {
		t.Errorf("accounts %s, want %s", got, want)
	}
	// The first ran again after the interruption ended its transaction.
	if got := runs[0].Load(); got != 2 {
		t.Errorf("the member before the interrupted one ran %d times, want 2", got)
	}
	if got := runs[2].Load(); got != 1 {
		t.Errorf("the member after it ran %d times, want 1", got)
	}
	var events int
	if err := db.Atomic(ctx, func(tx lanyard.Store) error {
		evs, err := tx.AuditEvents(ctx, lanyard.AuditFilter{Limit: 10})
		events = len(evs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if events != 0 {
		t.Errorf("%d audit events of the interrupted write were kept", events)
	}
}

// A caller whose context ends while it waits leaves the line at once; its
// work never runs.
func TestQueuedTransactionLeavesWhenItsContextEnds(t *testing.T) {
	db, tenantID := openSQLiteFile(t)
	release := holdWriter(t, db, tenantID)
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() {
		done <- db.Atomic(ctx, func(tx lanyard.Store) error {
			ran <- struct{}{}
			return nil
		})
	}()
	waitQueued(t, db, 1)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Atomic: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the caller still waits behind the held transaction after its context ended")
	}
	if n := db.QueuedTransactions(); n != 0 {
		t.Errorf("%d transactions still queued", n)
	}
	select {
	case <-ran:
		t.Error("the withdrawn transaction ran")
	default:
	}
}

// The writer keeps savepoint journals in memory (temp_store MEMORY):
// the journal of a group that shares a commit would otherwise spill into a
// temporary file created and deleted per commit.
func TestWriterKeepsSavepointJournalsInMemory(t *testing.T) {
	db, _ := openSQLiteFile(t)
	got, err := db.WriterPragma(context.Background(), "temp_store")
	if err != nil {
		t.Fatal(err)
	}
	if got != "2" {
		t.Errorf("temp_store %s on the writer, want 2 (MEMORY)", got)
	}
}
