package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
)

// errSawReplay ends a transaction whose MarkAssertionUsed reported a
// replay at once.
var errSawReplay = errors.New("the mark reported a replay")

// linkOrLoginFinder is the account lookup of a login, which makes a
// deferred replay mark.
type linkOrLoginFinder interface {
	UserByLinkOrLogin(ctx context.Context, tenantID int64, idpEntityID, nameID, login string) (lanyard.User, bool, error)
}

// TestReplayMarkInATransaction runs a login's transaction shape on each
// engine (the mark, the account's lookup, a write) and checks that a
// replay commits nothing, however the engine reports it: at once
// (MarkAssertionUsed reports false) or later, as ErrReplayed from the
// lookup that made the mark or from the commit when no lookup did.
func TestReplayMarkInATransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db lanyard.Store) {
		ctx := context.Background()
		tn := lanyard.Tenant{Slug: "replay", DisplayName: "Replay"}
		if err := db.CreateTenant(ctx, &tn); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now().UTC().Truncate(time.Second)
		// login marks id until expires at now, looks the account up when
		// lookup is set, and appends an event named action.
		login := func(id string, expires, now time.Time, lookup bool, action string) error {
			return db.Atomic(ctx, func(tx lanyard.Store) error {
				first, err := tx.MarkAssertionUsed(ctx, id, expires, now)
				if err != nil {
					return err
				}
				if !first {
					return errSawReplay
				}
				if lookup {
					_, _, err := tx.(linkOrLoginFinder).UserByLinkOrLogin(ctx, tn.ID, "https://idp.test", "nobody@idp.test", "nobody")
					if !errors.Is(err, lanyard.ErrNotFound) {
						return fmt.Errorf("lookup: %w", err)
					}
				}
				return tx.AppendAudit(ctx, &lanyard.AuditEvent{TenantID: tn.ID, Actor: "test", Action: action, Outcome: lanyard.OutcomeSuccess})
			})
		}
		// PostgreSQL defers the mark (one round trip fewer); SQLite, in
		// process, makes it at once.
		deferred := strings.HasSuffix(t.Name(), "/postgres")
		replay := func(err error) bool {
			if deferred {
				return errors.Is(err, lanyard.ErrReplayed)
			}
			return errors.Is(err, errSawReplay)
		}
		events := func(action string) int {
			t.Helper()
			es, err := db.AuditEvents(ctx, lanyard.AuditFilter{TenantID: tn.ID, Action: action})
			if err != nil {
				t.Fatal(err)
			}
			return len(es)
		}
		hour := t0.Add(time.Hour)

		for _, lookup := range []bool{true, false} {
			t.Run(fmt.Sprintf("lookup=%v", lookup), func(t *testing.T) {
				id := fmt.Sprintf("_once-%v", lookup)
				if err := login(id, hour, t0, lookup, id+"-first"); err != nil {
					t.Fatalf("first use: %v", err)
				}
				err := login(id, hour, t0.Add(time.Minute), lookup, id+"-again")
				if !replay(err) {
					t.Fatalf("replay: %v, want a replay", err)
				}
				if deferred && lanyard.ErrorKind(err) != lanyard.KindInvalid {
					t.Errorf("replay reported as %s: %v", lanyard.ErrorKind(err), err)
				}
				if n, m := events(id+"-first"), events(id+"-again"); n != 1 || m != 0 {
					t.Errorf("events: %d of the first use, %d of the replay; want 1 and 0", n, m)
				}

				// A transaction that fails leaves its mark unmade.
				failed := fmt.Sprintf("_failed-%v", lookup)
				boom := errors.New("boom")
				err = db.Atomic(ctx, func(tx lanyard.Store) error {
					if _, err := tx.MarkAssertionUsed(ctx, failed, hour, t0); err != nil {
						return err
					}
					if lookup {
						if _, _, err := tx.(linkOrLoginFinder).UserByLinkOrLogin(ctx, tn.ID, "https://idp.test", "x", "x"); !errors.Is(err, lanyard.ErrNotFound) {
							return err
						}
					}
					return boom
				})
				if !errors.Is(err, boom) {
					t.Fatalf("failing transaction: %v", err)
				}
				if err := login(failed, hour, t0, lookup, failed); err != nil {
					t.Fatalf("the mark of a failed transaction was kept: %v", err)
				}

				// An expired mark is replaced, then holds again.
				expiring := fmt.Sprintf("_expiring-%v", lookup)
				if err := login(expiring, t0.Add(time.Minute), t0, lookup, expiring); err != nil {
					t.Fatal(err)
				}
				later := t0.Add(5 * time.Minute)
				if err := login(expiring, later.Add(5*time.Minute), later, lookup, expiring); err != nil {
					t.Fatalf("expired mark not replaced: %v", err)
				}
				if err := login(expiring, later.Add(5*time.Minute), later.Add(time.Minute), lookup, expiring); !replay(err) {
					t.Fatalf("replaced mark: %v, want a replay", err)
				}
				if n := events(expiring); n != 2 {
					t.Errorf("%d events of the expiring mark, want 2", n)
				}
			})
		}

		// A lookup inside a savepoint that is rolled back leaves the mark
		// to be made: the transaction still marks the assertion.
		undone := func(action string) error {
			return db.Atomic(ctx, func(tx lanyard.Store) error {
				first, err := tx.MarkAssertionUsed(ctx, "_undone", hour, t0)
				if err != nil {
					return err
				}
				if !first {
					return errSawReplay
				}
				boom := errors.New("boom")
				err = tx.Atomic(ctx, func(tx lanyard.Store) error {
					if _, _, err := tx.(linkOrLoginFinder).UserByLinkOrLogin(ctx, tn.ID, "https://idp.test", "x", "x"); !errors.Is(err, lanyard.ErrNotFound) {
						return err
					}
					return boom
				})
				if !errors.Is(err, boom) {
					return fmt.Errorf("savepoint: %w", err)
				}
				return tx.AppendAudit(ctx, &lanyard.AuditEvent{TenantID: tn.ID, Actor: "test", Action: action, Outcome: lanyard.OutcomeSuccess})
			})
		}
		if err := undone("_undone"); err != nil {
			t.Fatalf("first use: %v", err)
		}
		if err := undone("_undone"); !replay(err) {
			t.Fatalf("after a savepoint rolled back: %v, want a replay", err)
		}
		if n := events("_undone"); n != 1 {
			t.Errorf("%d events, want 1", n)
		}

		// Concurrent uses of one ID: one commits, the others are replays.
		const racers = 8
		errs := make([]error, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() { errs[i] = login("_raced", hour, t0, true, "_raced") })
		}
		wg.Wait()
		committed := 0
		for i, err := range errs {
			switch {
			case err == nil:
				committed++
			case !replay(err):
				t.Errorf("racer %d: %v, want success or a replay", i, err)
			}
		}
		if n := events("_raced"); committed != 1 || n != 1 {
			t.Errorf("%d racers committed, %d events; want 1 and 1", committed, n)
		}
	})
}
