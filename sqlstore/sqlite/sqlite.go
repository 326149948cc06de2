// Package sqlite opens Lanyard's store on an SQLite database file, through
// the pure-Go driver modernc.org/sqlite.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lanyard-sso/lanyard/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is the SQLite dialect of sqlstore.
var Dialect = sqlstore.Dialect{
	Name:       "sqlite",
	Migrations: mustSub(migrations, "migrations"),
	Classify:   classify,
}

// busyTimeoutMillis is how long a connection waits for a lock held by
// another connection or process before failing with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// Open opens (creating it and its directory when needed) the SQLite
// database at path and returns a store over it. It does not migrate: call
// Migrate. Writes go through a pool of one connection whose transactions
// start with BEGIN IMMEDIATE; reads use a pool of several read-only
// connections, which WAL mode lets run beside the writer.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if path == "" {
		return nil, errors.New("sqlite: open: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
		}
	}
	pragmas := url.Values{}
	for _, p := range []string{
		"foreign_keys(1)",
		"journal_mode(WAL)",
		fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
		"synchronous(NORMAL)",
	} {
		pragmas.Add("_pragma", p)
	}
	writeDSN := dsn(path, pragmas, "_txlock", "immediate")
	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The first connection creates the file and switches it to WAL mode
	// before any reader opens it.
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readPragmas := url.Values{}
	for k, v := range pragmas {
		readPragmas[k] = append([]string(nil), v...)
	}
	readPragmas.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", dsn(path, readPragmas))
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	read.SetConnMaxLifetime(0)
	read.SetConnMaxIdleTime(0)
	return sqlstore.New(Dialect, sqlstore.Pools{Read: read, Write: write}), nil
}

// dsn builds a modernc.org/sqlite data source name for path.
func dsn(path string, q url.Values, extra ...string) string {
	q2 := url.Values{}
	for k, v := range q {
		q2[k] = v
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q2.Set(extra[i], extra[i+1])
	}
	return "file:" + path + "?" + q2.Encode()
}

// classify tells what a modernc.org/sqlite error means.
func classify(err error) sqlstore.ErrorClass {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return sqlstore.ErrorOther
	}
	switch code := e.Code(); code {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return sqlstore.ErrorUnique
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return sqlstore.ErrorForeignKey
	default:
		// Extended codes keep the primary code in the low byte
		// (SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE...).
		if primary := code & 0xff; primary == sqlite3.SQLITE_BUSY || primary == sqlite3.SQLITE_LOCKED {
			return sqlstore.ErrorRetry
		}
	}
	return sqlstore.ErrorOther
}

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err)
	}
	return sub
}
