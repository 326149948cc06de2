package testdb

import (
	"database/sql"
	"testing"

	"github.com/lanyard-sso/lanyard/internal/sqlcount"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// CountedSQLite returns a store over the migrated SQLite database at path
// whose every statement is counted into c at the driver, under the store:
// a write pool of one connection (BEGIN IMMEDIATE) and a read pool, as
// sqlite.Open makes them.
func CountedSQLite(tb testing.TB, path string, c *sqlcount.Counter) *sqlstore.DB {
	tb.Helper()
	driverOf, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { driverOf.Close() })
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)"
	write := sqlcount.Open(driverOf, dsn+"&_txlock=immediate", c)
	write.SetMaxOpenConns(1)
	read := sqlcount.Open(driverOf, dsn, c)
	db := sqlstore.New(sqlite.Dialect, sqlstore.Pools{Read: read, Write: write, SingleWriter: true})
	tb.Cleanup(func() { db.Close() })
	return db
}

// CountedPostgres returns a store over the migrated PostgreSQL database at
// dsn whose every statement is counted into c at the driver.
func CountedPostgres(tb testing.TB, dsn string, c *sqlcount.Counter) *sqlstore.DB {
	tb.Helper()
	driverOf, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { driverOf.Close() })
	pool := sqlcount.Open(driverOf, dsn, c)
	db := sqlstore.New(postgres.Dialect, sqlstore.Pools{Read: pool, Write: pool})
	tb.Cleanup(func() { db.Close() })
	return db
}
