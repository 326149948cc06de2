// Package postgres opens Lanyard's store on a PostgreSQL database, through
// the pgx driver (github.com/jackc/pgx/v5/stdlib).
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lanyard-sso/lanyard/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is the PostgreSQL dialect of sqlstore.
var Dialect = sqlstore.Dialect{
	Name:       "postgres",
	Migrations: mustSub(migrations, "migrations"),
	// Any constant key will do, as long as nothing else in the database
	// uses it: it is "lanyard" in ASCII, read as a number.
	MigrationLock: `SELECT pg_advisory_xact_lock(30506424595477092)`,
	LockRow:       " FOR UPDATE",
	Classify:      classify,
}

// SQLSTATE codes the store reacts to.
const (
	uniqueViolation      = "23505"
	foreignKeyViolation  = "23503"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
)

// Open returns a store on the PostgreSQL database at url
// (postgres://user:password@host:port/dbname?sslmode=...). It does not
// connect: call Ping or Migrate. The pool holds up to 2×GOMAXPROCS+4
// connections.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		// The parse error may quote the URL, password included.
		return nil, errors.New("postgres: open: cannot parse the database URL (want postgres://user:password@host:port/dbname)")
	}
	db := stdlib.OpenDB(*cfg)
	conns := 2*runtime.GOMAXPROCS(0) + 4
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(time.Hour)
	_ = ctx // Open does not connect; ctx is for symmetry with sqlite.Open.
	return sqlstore.New(Dialect, sqlstore.Pools{Read: db, Write: db}), nil
}

// classify tells what a pgx error means.
func classify(err error) sqlstore.ErrorClass {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return sqlstore.ErrorOther
	}
	switch e.Code {
	case uniqueViolation:
		return sqlstore.ErrorUnique
	case foreignKeyViolation:
		return sqlstore.ErrorForeignKey
	case serializationFailure, deadlockDetected:
		return sqlstore.ErrorRetry
	}
	return sqlstore.ErrorOther
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(fmt.Sprintf("postgres: embedded migrations: %v", err))
	}
	return sub
}
