package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// errChunk is the failure chunkFailStore injects.
var errChunk = errors.New("injected import failure")

// chunkFailStore fails the failAt-th CreateUsers (1-based, 0: none) and,
// when undoFails, every read of an import's journal: the import then
// cannot undo itself, as when its process dies.
type chunkFailStore struct {
	lanyard.Store
	mu        sync.Mutex
	failAt    int
	calls     int
	undoFails bool
}

func (s *chunkFailStore) set(failAt int, undoFails bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failAt, s.calls, s.undoFails = failAt, 0, undoFails
}

func (s *chunkFailStore) Atomic(ctx context.Context, fn func(tx lanyard.Store) error) error {
	return s.Store.Atomic(ctx, func(tx lanyard.Store) error { return fn(&chunkFailTx{Store: tx, s: s}) })
}

type chunkFailTx struct {
	lanyard.Store
	s *chunkFailStore
}

func (t *chunkFailTx) CreateUsers(ctx context.Context, users []*lanyard.User) error {
	t.s.mu.Lock()
	t.s.calls++
	fail := t.s.calls == t.s.failAt
	t.s.mu.Unlock()
	if fail {
		return errChunk
	}
	return t.Store.CreateUsers(ctx, users)
}

func (t *chunkFailTx) LastImportUndo(ctx context.Context, importID int64, limit int) ([]lanyard.ImportUndo, error) {
	t.s.mu.Lock()
	fail := t.s.undoFails
	t.s.mu.Unlock()
	if fail {
		return nil, errChunk
	}
	return t.Store.LastImportUndo(ctx, importID, limit)
}

// An import written in many short transactions stays all or nothing: one
// that fails half way is undone at once; one whose process died (it could
// not undo itself) is undone by the next import. Undone means the accounts
// it created are gone and the ones it updated have their fields back.
func TestImportUndoneWhole(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.db.SetClock(f.clock.Now)
		fs := &chunkFailStore{Store: f.db}
		svc := New(fs, Options{Now: f.clock.Now})
		tn := f.mustTenant(t, "acme")
		if _, err := f.svc.AddUser(f.ctx, "test", "acme", lanyard.User{Login: "bob@acme.com", FirstName: "Robert", WebAccess: true}); err != nil {
			t.Fatal(err)
		}
		const created = 349 // four chunks with bob's update
		var csv strings.Builder
		csv.WriteString("login,firstname,roles\nbob@acme.com,Bob,viewer\n")
		for i := range created {
			fmt.Fprintf(&csv, "user%03d@acme.com,User,viewer\n", i)
		}
		count := func() int {
			t.Helper()
			n, err := f.db.CountUsers(f.ctx, lanyard.UserFilter{TenantID: tn.ID})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		checkUndone := func() {
			t.Helper()
			if n := count(); n != 1 {
				t.Errorf("%d accounts after the undone import, want 1 (bob)", n)
			}
			bob, err := f.svc.User(f.ctx, "acme", "bob@acme.com")
			if err != nil {
				t.Fatal(err)
			}
			if bob.FirstName != "Robert" || len(bob.Roles) != 0 {
				t.Errorf("bob after the undone import: %q %v, want Robert without roles", bob.FirstName, bob.Roles)
			}
			running, err := f.db.RunningImports(f.ctx, time.Time{})
			if err != nil || len(running) != 0 {
				t.Errorf("running imports %v (%v), want none", running, err)
			}
			undo, err := f.db.LastImportUndo(f.ctx, 1, 10)
			if err != nil || len(undo) != 0 {
				t.Errorf("journal of import 1: %d entries (%v), want none", len(undo), err)
			}
		}

		// A chunk fails: what the earlier chunks wrote is undone.
		fs.set(3, false)
		_, err := svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader(csv.String()), ImportOptions{})
		if !errors.Is(err, errChunk) || !strings.Contains(err.Error(), "nothing was imported") {
			t.Fatalf("import with a failing chunk: %v", err)
		}
		checkUndone()
		events, err := f.db.AuditEvents(f.ctx, lanyard.AuditFilter{TenantID: tn.ID, Action: "user.import", Outcome: lanyard.OutcomeFailure})
		if err != nil || len(events) != 1 || !strings.Contains(events[0].Message, "199 accounts it created deleted, 1 accounts it updated restored") {
			t.Errorf("audit of the undone import: %v %v", events, err)
		}

		// The process dies half way: nothing undoes the import at once; its
		// accounts stay visible, and it stays "running".
		fs.set(3, true)
		if _, err := svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader(csv.String()), ImportOptions{}); err == nil {
			t.Fatal("import with a failing chunk succeeded")
		}
		if n := count(); n != 200 {
			t.Fatalf("%d accounts after the interrupted import, want 200 (bob and two chunks)", n)
		}
		fs.set(0, false)
		// Not yet stale: it may be running in another process.
		if n, err := svc.RecoverImports(f.ctx); err != nil || n != 0 {
			t.Fatalf("recover a fresh import: %d %v, want 0", n, err)
		}
		f.clock.Advance(importStale + time.Second)
		if n, err := svc.RecoverImports(f.ctx); err != nil || n != 1 {
			t.Fatalf("recover the interrupted import: %d %v, want 1", n, err)
		}
		checkUndone()

		// The file then imports whole.
		rep, err := svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader(csv.String()), ImportOptions{})
		if err != nil || rep.Created != created || rep.Updated != 1 {
			t.Fatalf("import: %+v %v", rep, err)
		}
		if n := count(); n != created+1 {
			t.Errorf("%d accounts, want %d", n, created+1)
		}
		if running, _ := f.db.RunningImports(f.ctx, time.Time{}); len(running) != 0 {
			t.Errorf("running imports after a finished one: %v", running)
		}
	})
}
