package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// TestSessionCopiesIndex: the index of session copies holds copies only
// (a login's session, which has no parent, writes no entry to it), and the
// lookup of the ON DELETE CASCADE of parent_hash (parent_hash = the
// deleted hash) still searches it rather than scanning the sessions.
func TestSessionCopiesIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lanyard.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var def string
	if err := raw.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'sessions_parent'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "WHERE parent_hash IS NOT NULL") {
		t.Errorf("sessions_parent holds every session: %s", def)
	}
	for _, q := range []string{
		`DELETE FROM sessions WHERE parent_hash = $1`, // the cascade's lookup
		`SELECT hash FROM sessions WHERE parent_hash = $1`,
	} {
		rows, err := raw.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, []byte("parent"))
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		if got := strings.Join(plan, "; "); !strings.Contains(got, "INDEX sessions_parent") {
			t.Errorf("%s: plan %q does not search sessions_parent", q, got)
		}
	}
}
