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
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

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
	// SQLite runs in process: no round trips to save, and its parser slows
	// down on long statements.
	BulkRows: 16,
}

// mmapBytes is how much of the database file SQLite reads through a
// memory mapping: 1 GiB, the size of a store of a million users and
// sessions (a larger file reads its tail with pread).
const mmapBytes = 1 << 30

// cacheKiB is the page cache of each connection, in KiB: 2 MiB, SQLite's
// default. Reads go through the memory mapping, so the cache holds little
// beyond the pages a transaction writes; and a commit walks the writer's
// cache to drop the pages past the end of the database, so a larger cache
// costs every write: with 16 MiB that walk was 3.7% of a login's CPU, and
// a login took 7-13% more CPU than with 2 MiB.
const cacheKiB = 2 << 10

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
	if strings.Contains(path, "?") {
		return nil, fmt.Errorf("sqlite: open %s: the path may not contain '?'", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create directory for %s: %w", path, err)
	}
	// The database holds private keys: create it readable by its owner
	// only. SQLite gives the -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	f.Close()
	pragmas := url.Values{}
	for _, p := range []string{
		"foreign_keys(1)",
		"journal_mode(WAL)",
		fmt.Sprintf("busy_timeout(%d)", busyTimeoutMillis),
		"synchronous(NORMAL)",
		"wal_autocheckpoint(20000)", // pages; the checkpointer runs well before
		"journal_size_limit(67108864)",
		// Sized for a database of about 1 GB: reads map the file (no
		// pread and copy per page, and the pages are shared by every
		// connection through the OS page cache); each connection's own
		// page cache keeps the pages it writes (see cacheKiB).
		fmt.Sprintf("mmap_size(%d)", mmapBytes),
		fmt.Sprintf("cache_size(-%d)", cacheKiB),
	} {
		pragmas.Add("_pragma", p)
	}
	writePragmas := url.Values{}
	for k, v := range pragmas {
		writePragmas[k] = append([]string(nil), v...)
	}
	// The writer keeps its savepoint journals in memory: transactions
	// that share a commit each run in a savepoint, and the journal of a
	// group (the first change of each page, a few hundred KB at most)
	// would otherwise spill into a temporary file, created, written and
	// deleted per commit.
	writePragmas.Add("_pragma", "temp_store(MEMORY)")
	writeDSN := dsn(path, writePragmas, "_txlock", "immediate")
	write, err := sql.Open("sqlite", writeDSN)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)
	// The first connection switches the file to WAL mode before any reader
	// opens it.
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
	cp, err := startCheckpointer(ctx, path, pragmas)
	if err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	return sqlstore.New(Dialect, sqlstore.Pools{Read: read, Write: write, SingleWriter: true, OnClose: cp.stop, Background: cp}), nil
}

// checkpointInterval is how often the checkpointer copies the WAL into the
// database file.
const checkpointInterval = 100 * time.Millisecond

// checkpointer copies the write-ahead log into the database file from a
// connection of its own, in the background. A checkpoint waits for the disk
// (fsync); run by the writer, as SQLite does by default, it would stall
// every write behind it. The writer keeps a high wal_autocheckpoint as a
// safety net.
type checkpointer struct {
	db *sql.DB
	*sqlstore.Recurring
}

func startCheckpointer(ctx context.Context, path string, pragmas url.Values) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, pragmas))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s for checkpoints: %w", path, err)
	}
	cp := &checkpointer{db: db}
	// PASSIVE never blocks writers or readers; when it cannot copy
	// everything it copies what it can. A failure (SQLITE_BUSY while
	// another process checkpoints, a full disk) is retried at the next
	// tick.
	cp.Recurring = sqlstore.StartRecurring("sqlite: WAL checkpoint", checkpointInterval, func(ctx context.Context, _ *slog.Logger) error {
		_, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
		return err
	})
	return cp, nil
}

// stop ends the loop, checkpoints what remains and closes the connection.
func (cp *checkpointer) stop() error {
	cp.Stop()
	_, _ = cp.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return cp.db.Close()
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
		switch code & 0xff {
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return sqlstore.ErrorRetry
		// The disk is full, failing or gone; the file cannot be opened or
		// written (a read-only remount).
		case sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN,
			sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOMEM:
			return sqlstore.ErrorUnavailable
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
