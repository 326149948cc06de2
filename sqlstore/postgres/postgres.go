// Package postgres opens Lanyard's store on a PostgreSQL database, through
// the pgx driver (github.com/jackc/pgx/v5/stdlib).
package postgres

import (
	"context"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"runtime"
	"strings"
	"syscall"
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
	ByteOrder:     ` COLLATE "C"`,
	Classify:      classify,
	BlobParam:     func(p string) string { return p + "::bytea" },
	BigIntParam:   func(p string) string { return p + "::bigint" },
	ArrayParams:   true,
	WritingCTE:    true,
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
// connections; one more, of its own, analyzes the tables that outgrow
// their statistics (see statisticsKeeper) every few seconds.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	return open(ctx, url, statisticsInterval)
}

func open(ctx context.Context, url string, statsEvery time.Duration) (*sqlstore.DB, error) {
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
	keeper := startStatisticsKeeper(cfg, statsEvery)
	return sqlstore.New(Dialect, sqlstore.Pools{Read: db, Write: db, OnClose: keeper.stop, Background: keeper}), nil
}

// classify tells what a pgx error means.
func classify(err error) sqlstore.ErrorClass {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		if unreachable(err) {
			return sqlstore.ErrorUnavailable
		}
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
	// The server cannot serve now: classes 08 (connection exception), 53
	// (insufficient resources: disk full, out of memory, too many
	// connections), 57P (operator intervention: admin_shutdown 57P01,
	// crash_shutdown 57P02, cannot_connect_now 57P03) and 58 (system
	// error: I/O).
	switch {
	case strings.HasPrefix(e.Code, "08"), strings.HasPrefix(e.Code, "53"),
		strings.HasPrefix(e.Code, "57P"), strings.HasPrefix(e.Code, "58"):
		return sqlstore.ErrorUnavailable
	}
	return sqlstore.ErrorOther
}

// unreachable tells whether err, which carries no SQLSTATE, says the server
// could not be reached or the connection was lost: connection refused or
// reset, a failed connect, a bad connection database/sql gave up on.
func unreachable(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr), errors.As(err, &netErr),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	}
	// pgx says a connection it closed after a failure is closed, or that
	// a statement could not be sent, without a typed error.
	return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed")
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(fmt.Sprintf("postgres: embedded migrations: %v", err))
	}
	return sub
}
