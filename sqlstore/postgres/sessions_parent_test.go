package postgres_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
)

// TestSessionCopiesIndex: the index of session copies holds copies only
// (a login's session, which has no parent, writes no entry to it), and the
// lookup of the ON DELETE CASCADE of parent_hash (parent_hash = the
// deleted hash, a parameter) can still use it.
func TestSessionCopiesIndex(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.PostgresURL(t)
	db, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var def string
	if err := conn.QueryRowContext(ctx, `SELECT indexdef FROM pg_indexes WHERE indexname = 'sessions_parent'`).Scan(&def); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(def, "WHERE (parent_hash IS NOT NULL)") {
		t.Errorf("sessions_parent holds every session: %s", def)
	}
	// An empty table is scanned whatever the indexes: forbid the scan to
	// see whether the index can serve the lookup, with a generic plan as
	// the cascade's prepared query has.
	for _, q := range []string{
		`SET enable_seqscan = off`,
		`SET plan_cache_mode = force_generic_plan`,
		`PREPARE cascade_lookup(bytea) AS DELETE FROM ONLY sessions WHERE $1 OPERATOR(pg_catalog.=) parent_hash`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := conn.QueryContext(ctx, `EXPLAIN EXECUTE cascade_lookup('\x00')`)
	if err != nil {
		t.Fatal(err)
	}
	var plan []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, line)
	}
	rows.Close()
	if got := strings.Join(plan, "\n"); !strings.Contains(got, "sessions_parent") {
		t.Errorf("the cascade's lookup does not use sessions_parent:\n%s", got)
	}
}
