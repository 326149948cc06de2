package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// TestClockSkewMigration: a stored zero clock_skew (which meant the
// default) is unset; other values and other keys stay.
func TestClockSkewMigration(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	migrations, err := db.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var stmt string
	for _, m := range migrations {
		if strings.Contains(m.Name, "clock_skew_unset") {
			stmt = m.SQL
		}
	}
	raw, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "raw.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`CREATE TABLE tenants (id INTEGER PRIMARY KEY, sso_settings TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	rows := map[int]string{
		1: `{"jit":true,"clock_skew":"0s"}`,
		2: `{"jit":true,"clock_skew":0}`,
		3: `{"jit":true,"clock_skew":"3m0s"}`,
		4: `{"jit":true}`,
	}
	want := map[int]string{1: `{"jit":true}`, 2: `{"jit":true}`, 3: rows[3], 4: rows[4]}
	for id, s := range rows {
		if _, err := raw.Exec(`INSERT INTO tenants (id, sso_settings) VALUES (?, ?)`, id, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := raw.Exec(stmt); err != nil {
		t.Fatal(err)
	}
	for id, w := range want {
		var got string
		if err := raw.QueryRow(`SELECT sso_settings FROM tenants WHERE id = ?`, id).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != w {
			t.Errorf("tenant %d: %s, want %s", id, got, w)
		}
	}
}
