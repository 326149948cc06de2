package sqlite_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// TestClassifyUnavailable provokes real SQLite errors and checks their
// class: a full database, a read-only one and one that cannot be opened
// are unavailable; a busy one is retried (and unavailable once the
// attempts run out); a broken rule is not.
func TestClassifyUnavailable(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.db")
	open := func(dsn string) *sql.DB {
		t.Helper()
		db, err := sql.Open("sqlite", dsn)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		return db
	}
	w := open("file:" + path + "?_pragma=busy_timeout(0)")
	if _, err := w.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL CHECK (v <> ''))`); err != nil {
		t.Fatal(err)
	}
	class := func(err error) sqlstore.ErrorClass {
		t.Helper()
		if err == nil {
			t.Fatal("no error")
		}
		return sqlite.Dialect.Classify(fmt.Errorf("wrapped: %w", err))
	}

	// A full database: max_page_count caps it as a full disk would.
	full := open("file:" + filepath.Join(dir, "full.db"))
	if _, err := full.Exec(`CREATE TABLE t (v TEXT)`); err != nil {
		t.Fatal(err)
	}
	if _, err := full.Exec(`PRAGMA max_page_count = 2`); err != nil {
		t.Fatal(err)
	}
	_, err := full.Exec(`INSERT INTO t SELECT printf('%.1000c', 'x') FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 100) SELECT i FROM n)`)
	if got := class(err); got != sqlstore.ErrorUnavailable {
		t.Errorf("full database (%v): class %d, want unavailable", err, got)
	}

	// Read-only.
	ro := open("file:" + path + "?mode=ro")
	_, err = ro.Exec(`INSERT INTO t (v) VALUES ('x')`)
	if got := class(err); got != sqlstore.ErrorUnavailable {
		t.Errorf("read-only database (%v): class %d, want unavailable", err, got)
	}

	// Cannot open: a directory that does not exist.
	gone := open("file:" + filepath.Join(dir, "no", "such", "dir.db") + "?mode=rw")
	_, err = gone.Exec(`SELECT 1`)
	if got := class(err); got != sqlstore.ErrorUnavailable {
		t.Errorf("database that cannot be opened (%v): class %d, want unavailable", err, got)
	}

	// Busy: another connection holds the write lock.
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO t (v) VALUES ('held')`); err != nil {
		t.Fatal(err)
	}
	other := open("file:" + path + "?_pragma=busy_timeout(0)")
	_, err = other.Exec(`INSERT INTO t (v) VALUES ('y')`)
	if got := class(err); got != sqlstore.ErrorRetry {
		t.Errorf("busy database (%v): class %d, want retry", err, got)
	}
	_ = tx.Rollback()

	// A broken rule is the caller's problem, not an outage.
	_, err = w.Exec(`INSERT INTO t (v) VALUES ('')`)
	if got := class(err); got != sqlstore.ErrorOther {
		t.Errorf("check constraint (%v): class %d, want other", err, got)
	}
}
