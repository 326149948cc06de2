package storetest

import (
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// testImportJournal: an import is recorded running; its undo entries come
// back newest first, with the accounts as they were; progress refreshes
// its time; its entries are deleted from a Seq on; an ended import is no
// longer running.
func testImportJournal(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	tn := mkTenant(t, s, "acme")
	bob := mkUser(t, s, tn.ID, "bob", "viewer")
	im := lanyard.UserImport{TenantID: tn.ID, Actor: "cli", RowsTotal: 3}
	must(t, s.StartImport(ctx, &im), "start import")
	if im.ID == 0 || im.State != lanyard.ImportRunning {
		t.Fatalf("started import: %+v", im)
	}
	running, err := s.RunningImports(ctx, time.Time{})
	must(t, err, "running imports")
	if len(running) != 1 || running[0].ID != im.ID || running[0].RowsTotal != 3 || running[0].Actor != "cli" {
		t.Fatalf("running imports: %+v", running)
	}
	if stale, err := s.RunningImports(ctx, running[0].UpdatedAt); err != nil || len(stale) != 0 {
		t.Fatalf("imports idle before their last chunk: %+v %v, want none", stale, err)
	}
	if stale, err := s.RunningImports(ctx, running[0].UpdatedAt.Add(time.Second)); err != nil || len(stale) != 1 {
		t.Fatalf("imports idle a second after their last chunk: %+v %v, want 1", stale, err)
	}

	must(t, s.Atomic(ctx, func(tx lanyard.Store) error {
		return tx.JournalImport(ctx, im.ID, 1, []lanyard.ImportUndo{{UserID: bob.ID, Before: &bob}})
	}), "journal chunk 1")
	must(t, s.JournalImport(ctx, im.ID, 3, []lanyard.ImportUndo{{UserID: 101}, {UserID: 102}}), "journal chunk 2")
	undo, err := s.LastImportUndo(ctx, im.ID, 10)
	must(t, err, "undo entries")
	if len(undo) != 3 || undo[0].UserID != 102 || undo[1].UserID != 101 || undo[2].UserID != bob.ID {
		t.Fatalf("undo entries: %+v", undo)
	}
	if undo[0].Seq <= undo[1].Seq || undo[0].Before != nil || undo[2].Before == nil {
		t.Fatalf("undo entries: %+v", undo)
	}
	if b := undo[2].Before; b.Login != "bob" || len(b.Roles) != 1 || b.Roles[0].Role != "viewer" {
		t.Errorf("bob as he was: %+v", b)
	}
	running, err = s.RunningImports(ctx, time.Time{})
	must(t, err, "running imports")
	if len(running) != 1 || running[0].RowsDone != 3 {
		t.Errorf("progress: %+v", running)
	}
	if two, err := s.LastImportUndo(ctx, im.ID, 2); err != nil || len(two) != 2 {
		t.Errorf("two last undo entries: %+v %v", two, err)
	}
	must(t, s.DeleteImportUndo(ctx, im.ID, undo[1].Seq), "delete undo entries")
	if left, err := s.LastImportUndo(ctx, im.ID, 10); err != nil || len(left) != 1 || left[0].UserID != bob.ID {
		t.Errorf("undo entries left: %+v %v", left, err)
	}
	must(t, s.EndImport(ctx, im.ID, lanyard.ImportDone), "end import")
	if running, err := s.RunningImports(ctx, time.Time{}); err != nil || len(running) != 0 {
		t.Errorf("running imports after the end: %+v %v", running, err)
	}
}
