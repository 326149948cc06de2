package postgres

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lanyard-sso/lanyard/sqlstore"
)

// statisticsInterval is how often the statistics keeper looks for tables
// that outgrew their statistics.
const statisticsInterval = 5 * time.Second

// statisticsMinPages is the least growth, in pages (8 KB each), for which
// a table is analyzed: a table never analyzed is from this size on, as
// below it PostgreSQL's plans hardly depend on the statistics.
const statisticsMinPages = 8

// outgrownTablesSQL lists the tables of the store's schema that have at
// least doubled (by $1 pages at least) since PostgreSQL last counted their
// pages (relpages: ANALYZE, VACUUM, CREATE INDEX), leaving out those whose
// autovacuum was turned off, whose statistics are the DBA's to keep, and
// those the role does not own, which ANALYZE would skip with a warning.
const outgrownTablesSQL = `SELECT c.oid::bigint, c.oid::regclass::text, c.relpages,
		pg_relation_size(c.oid) / current_setting('block_size')::bigint AS pages
	FROM pg_class c
	WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
		AND pg_has_role(current_user, c.relowner, 'USAGE')
		AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) AS o
			WHERE o ~* '^autovacuum_enabled=(f|fa|fal|fals|false|n|no|of|off|0)$')
		AND pg_relation_size(c.oid) / current_setting('block_size')::bigint >= 2 * c.relpages + $1
	ORDER BY 1`

// statisticsKeeper analyzes the tables that have outgrown their
// statistics, from a connection of its own, in the background.
//
// PostgreSQL keeps a prepared statement's generic plan until the
// statistics of a table it reads change. A plan made while a table was new
// and nearly empty, when every index costs about the same, can read a whole
// tenant for a lookup of one row (an index that starts with tenant_id, say,
// for an account by email), and keeps doing so as the table grows, until
// autovacuum's next pass (a minute apart by default; it analyzes a table
// after 10% of changes). A new store's first wave of logins comes before
// that. The keeper analyzes a table each time it doubles in size, which
// makes PostgreSQL plan again; once autovacuum keeps the statistics
// current, the keeper finds nothing to do: one catalog query per interval.
type statisticsKeeper struct {
	db *sql.DB
	*sqlstore.Recurring
}

func startStatisticsKeeper(cfg *pgx.ConnConfig, interval time.Duration) *statisticsKeeper {
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	// The connection stays between passes while they come often enough.
	db.SetConnMaxIdleTime(2 * interval)
	k := &statisticsKeeper{db: db}
	k.Recurring = sqlstore.StartRecurring("postgres: looking for tables that outgrew their statistics", interval, k.pass)
	return k
}

// pass analyzes each table that has outgrown its statistics, once.
func (k *statisticsKeeper) pass(ctx context.Context, logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	type outgrown struct {
		oid             int64
		table           string
		counted, actual int64
	}
	rows, err := k.db.QueryContext(ctx, outgrownTablesSQL, statisticsMinPages)
	if err != nil {
		return err
	}
	var tables []outgrown
	for rows.Next() {
		var t outgrown
		if err := rows.Scan(&t.oid, &t.table, &t.counted, &t.actual); err != nil {
			rows.Close()
			return err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, t := range tables {
		// The name comes from regclass, quoted where it needs to be. A
		// table that another ANALYZE or a VACUUM holds is skipped, not
		// waited for; the next pass finds it again if it still needs it.
		if _, err := k.db.ExecContext(ctx, "ANALYZE (SKIP_LOCKED) "+t.table); err != nil {
			return err
		}
		// ANALYZE counts the pages again; a skipped table keeps its count
		// and is only worth a debug line, since it may come back at every
		// pass of a long VACUUM.
		var counted int64
		err := k.db.QueryRowContext(ctx, `SELECT relpages FROM pg_class WHERE oid = $1::bigint::oid`, t.oid).Scan(&counted)
		if errors.Is(err, sql.ErrNoRows) {
			continue // dropped meanwhile
		}
		if err != nil {
			return err
		}
		if counted == t.counted {
			logger.Debug("postgres: a table that outgrew its statistics is busy; analyzing it at a later pass", "table", t.table)
			continue
		}
		logger.Info("postgres: analyzed a table that outgrew its statistics", "table", t.table, "pages", counted, "pages_at_last_count", t.counted)
	}
	return nil
}

// stop ends the loop and closes the connection.
func (k *statisticsKeeper) stop() error {
	k.Stop()
	return k.db.Close()
}
