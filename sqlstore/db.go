// Package sqlstore implements lanyard.Store over database/sql. The SQL is
// written once, with $1-style placeholders, and shared by every engine; what
// differs between engines (the schema DDL, row locks, how driver errors are
// classified) is held by a Dialect, which the engine packages
// sqlstore/sqlite and sqlstore/postgres provide. This package imports no
// database driver.
//
// Times are stored as integer Unix nanoseconds (0 for the zero time), so they
// round-trip exactly on every engine, and are returned in UTC.
//
// Transactions: Atomic and the UpdateX methods run in a transaction that is
// run again, a bounded number of times, when the engine reports a transient
// failure (PostgreSQL serialization failure or deadlock, SQLite busy).
// UpdateX read the row with the dialect's row lock (SELECT ... FOR UPDATE on
// PostgreSQL; on SQLite the write transaction itself, begun IMMEDIATE, is
// the lock). A store bound to a transaction runs nested work, and each write
// that may conflict, in a savepoint, so that a caller can handle ErrConflict
// and go on with the transaction. UpdateUser outside a transaction writes
// optimistically when the roles do not change (see UpdateUser).
//
// Schema: the migrations of each engine (sqlstore/sqlite/migrations,
// sqlstore/postgres/migrations) are the reference. Logins and emails are
// matched through lower-cased columns (login_lower is unique per tenant);
// delete cascades follow the lanyard.Store docs; audit rows keep user IDs as
// plain values; triggers bump config_version on every write to tenants,
// tenant_domains, idp_connections and sp_keys.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/keyseal"
)

// ErrorClass says what a driver error means to the store.
type ErrorClass int

// Error classes.
const (
	// ErrorOther is any error the store does not treat specially.
	ErrorOther ErrorClass = iota
	// ErrorUnique is a unique or primary key violation.
	ErrorUnique
	// ErrorForeignKey is a foreign key violation.
	ErrorForeignKey
	// ErrorRetry is a transient failure after which the whole transaction
	// may be run again: a serialization failure, a deadlock, a busy database.
	// When the attempts run out it is an unavailable database too.
	ErrorRetry
	// ErrorUnavailable says the database cannot serve now but may soon: it
	// is unreachable, shutting down, out of disk space or failing I/O.
	ErrorUnavailable
)

// Dialect holds what differs between database engines.
type Dialect struct {
	// Name names the engine in messages, e.g. "sqlite" or "postgres".
	Name string
	// Migrations holds the schema migrations of the engine: files named
	// NNNN_description.sql at the root of the FS, applied in order of NNNN.
	// The list is append-only: a migration once released never changes.
	Migrations fs.FS
	// MigrationLock, when not empty, is run first in every migration
	// transaction to keep other processes migrating at the same time out
	// (PostgreSQL: an advisory transaction lock). SQLite needs none: its
	// write transactions start with BEGIN IMMEDIATE.
	MigrationLock string
	// LockRow is appended to a SELECT of a single table that reads a row
	// which the same transaction will update: " FOR UPDATE" on PostgreSQL,
	// empty on SQLite, where a write transaction already holds the lock.
	LockRow string
	// ByteOrder is appended to a text expression compared with < or > so
	// that both engines order by bytes: ` COLLATE "C"` on PostgreSQL,
	// empty on SQLite, whose default collation is already binary.
	ByteOrder string
	// Classify tells what a driver error means. It must look through
	// wrapped errors (errors.As).
	Classify func(error) ErrorClass
	// BulkRows is how many rows one multi-row INSERT of a bulk write
	// (CreateUsers, AppendAuditEvents) carries. Zero means 500, right for
	// a server reached over the network; an in-process engine, whose
	// parser cost grows faster than linearly with the statement, wants few.
	BulkRows int
	// BlobParam and BigIntParam wrap a placeholder ($n) where the engine
	// cannot infer its type, as in a VALUES list joined to a table
	// (PostgreSQL types it as text); nil leaves the placeholder bare.
	BlobParam, BigIntParam func(placeholder string) string
	// ArrayParams says the engine binds Go slices ([][]byte, []int64) as
	// SQL arrays (PostgreSQL): a batch then goes in one statement as
	// arrays; without it, as one JSON text (SQLite's json_each).
	ArrayParams bool
	// WritingCTE says a WITH clause may insert rows that the rest of the
	// statement reads (PostgreSQL), so that dependent inserts go in one
	// statement, one round trip.
	WritingCTE bool
}

// Pools are the connection pools of a DB.
type Pools struct {
	// Read serves reads made outside a transaction.
	Read *sql.DB
	// Write serves writes and transactions. It may be Read itself. On SQLite
	// it is a pool of one connection: SQLite runs one writer at a time, and
	// queueing in Go is much cheaper than SQLite's busy-waiting.
	Write *sql.DB
	// OnClose, when not nil, is called by Close after the pools are closed:
	// the engine stops there what it started beside them.
	OnClose func() error
	// SingleWriter says Write holds one connection (SQLite): transactions
	// that wait for it then share commits (see commitQueue).
	SingleWriter bool
	// Background, when not nil, is the engine's background work beside
	// the pools (SQLite: the checkpointer), whose failures are logged and
	// counted.
	Background Background
}

// Background is work an engine runs beside its pools.
type Background interface {
	// SetLogger sets where failures are logged (when they start, and when
	// the work succeeds again).
	SetLogger(*slog.Logger)
	// Failures counts the failures since the store was opened.
	Failures() uint64
}

// maxAttempts bounds how many times a transaction that fails with a
// retryable error (ErrorRetry) is run.
const maxAttempts = 8

// savepoint names the savepoint that a store bound to a transaction wraps
// around each nested unit of work. Savepoints of the same name nest.
const savepoint = "lanyard_nested"

// DB is a lanyard.Store over database/sql. A DB returned by New works on
// its pools; the DB that Atomic hands to its function is bound to one
// transaction.
type DB struct {
	dialect Dialect
	pools   Pools
	tx      *sql.Tx      // non-nil in a DB bound to a transaction
	queue   *commitQueue // nil when the write pool has several connections
	now     func() time.Time
	stmts   *stmtCache
	closed  *sync.Once
	health  *writeHealth
	sealer  *keyseal.Sealer // nil: private keys are written in the clear
	// replay holds, in a transaction of an engine with WritingCTE, the
	// replay mark MarkAssertionUsed deferred to a later statement.
	replay *deferredMark
}

var _ lanyard.Store = (*DB)(nil)

// New returns a store over the pools, speaking the dialect. It does not
// touch the database: call Migrate before use.
func New(d Dialect, p Pools) *DB {
	if p.Write == nil {
		p.Write = p.Read
	}
	db := &DB{
		dialect: d,
		pools:   p,
		now:     time.Now,
		stmts:   newStmtCache(),
		closed:  new(sync.Once),
		health:  new(writeHealth),
	}
	if p.SingleWriter {
		db.queue = newCommitQueue()
	}
	return db
}

// SetClock replaces the clock that stamps CreatedAt, UpdatedAt and similar
// fields (time.Now by default). Tests pin it; call it before use.
func (d *DB) SetClock(now func() time.Time) { d.now = now }

// SetLogger sets where the store's background work logs its failures
// (nowhere by default).
func (d *DB) SetLogger(l *slog.Logger) {
	if d.pools.Background != nil {
		d.pools.Background.SetLogger(l)
	}
}

// BackgroundFailures counts the failures of the store's background work
// (SQLite: WAL checkpoints; PostgreSQL: the statistics keeper) since it
// was opened.
func (d *DB) BackgroundFailures() uint64 {
	if d.pools.Background == nil {
		return 0
	}
	return d.pools.Background.Failures()
}

// Dialect returns the dialect of the store.
func (d *DB) Dialect() Dialect { return d.dialect }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if d.tx != nil {
		var one int
		if err := d.tx.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
			return fmt.Errorf("sqlstore: ping %s: %w", d.dialect.Name, d.mark(err))
		}
		return nil
	}
	if err := d.pools.Write.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping %s: %w", d.dialect.Name, d.mark(err))
	}
	return nil
}

// Close releases the database. On a DB bound to a transaction it does
// nothing: Atomic ends the transaction.
func (d *DB) Close() error {
	if d.tx != nil {
		return nil
	}
	var err error
	d.closed.Do(func() {
		d.stmts.close()
		err = d.pools.Write.Close()
		if d.pools.Read != d.pools.Write {
			err = errors.Join(err, d.pools.Read.Close())
		}
		if d.pools.OnClose != nil {
			err = errors.Join(err, d.pools.OnClose())
		}
	})
	return err
}

// Atomic runs fn in one transaction. See lanyard.Store. On a DB already
// bound to a transaction, fn joins it inside a savepoint: when fn fails,
// its changes are undone and the outer transaction can go on.
//
// On SQLite every transaction holds the only write connection: fn must make
// all its changes through tx, never through the DB that Atomic was called
// on, or it waits for itself.
func (d *DB) Atomic(ctx context.Context, fn func(tx lanyard.Store) error) error {
	return d.inTx(ctx, func(tx *DB) error { return fn(tx) })
}

// inTx runs fn with a DB bound to a transaction: a new transaction, run
// again (a bounded number of times) when it fails with a retryable error,
// or, when d is already bound to one, a savepoint in it.
func (d *DB) inTx(ctx context.Context, fn func(tx *DB) error) error {
	if d.tx != nil {
		return d.nested(ctx, fn)
	}
	// Statements first met inside a transaction are prepared once the
	// transaction has given its connection back.
	defer d.stmts.prepareWanted(ctx)
	if d.dialect.WritingCTE {
		fn = deferringReplayMarks(ctx, fn)
	}
	for attempt := 1; ; attempt++ {
		var err error
		if d.queue != nil {
			err = d.runQueued(ctx, fn)
		} else {
			err = d.runTx(ctx, fn)
		}
		if err == nil {
			d.health.wrote()
			return nil
		}
		if attempt == maxAttempts || !d.retryable(err) {
			return d.mark(err)
		}
		// Back off a little, with jitter, before the next attempt.
		pause := time.Duration(attempt)*2*time.Millisecond + rand.N(2*time.Millisecond)
		select {
		case <-ctx.Done():
			return d.mark(err)
		case <-time.After(pause):
		}
	}
}

// runTx runs fn once in a new transaction and commits it.
func (d *DB) runTx(ctx context.Context, fn func(tx *DB) error) (err error) {
	sqlTx, err := d.pools.Write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlstore: begin transaction: %w", d.mark(err))
	}
	bound := *d
	bound.tx = sqlTx
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&bound); err != nil {
		if rerr := sqlTx.Rollback(); rerr != nil && !errors.Is(rerr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("sqlstore: roll back: %w", rerr))
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("sqlstore: commit: %w", d.mark(err))
	}
	return nil
}

// nested runs fn inside a savepoint of d's transaction.
func (d *DB) nested(ctx context.Context, fn func(tx *DB) error) error {
	if _, err := d.tx.ExecContext(ctx, "SAVEPOINT "+savepoint); err != nil {
		return fmt.Errorf("sqlstore: savepoint: %w", err)
	}
	var mark deferredMark
	if d.replay != nil {
		mark = *d.replay
	}
	if err := fn(d); err != nil {
		// A deferred replay mark made inside the savepoint is undone with
		// it: it is pending again, as it was.
		if d.replay != nil {
			*d.replay = mark
		}
		// ROLLBACK TO leaves the savepoint open; RELEASE closes it.
		_, rerr := d.tx.ExecContext(ctx, "ROLLBACK TO SAVEPOINT "+savepoint)
		if rerr == nil {
			_, rerr = d.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+savepoint)
		}
		if rerr != nil {
			return errors.Join(err, fmt.Errorf("sqlstore: roll back to savepoint: %w", rerr))
		}
		return err
	}
	if _, err := d.tx.ExecContext(ctx, "RELEASE SAVEPOINT "+savepoint); err != nil {
		return fmt.Errorf("sqlstore: release savepoint: %w", err)
	}
	return nil
}

// write runs a write of a single statement. Outside a transaction it runs
// directly; inside one it runs in a savepoint when it may fail with a
// conflict, so that a caller which handles the conflict can go on with the
// transaction (PostgreSQL aborts a transaction on any failed statement).
func (d *DB) write(ctx context.Context, mayConflict bool, fn func(q querier) error) error {
	if d.tx == nil {
		err := fn(d.writer())
		if err == nil {
			d.health.wrote()
		}
		return err
	}
	if !mayConflict {
		return fn(d.writer())
	}
	return d.nested(ctx, func(tx *DB) error { return fn(tx.writer()) })
}

func (d *DB) retryable(err error) bool {
	return d.dialect.Classify(err) == ErrorRetry
}

func (d *DB) class(err error) ErrorClass { return d.dialect.Classify(err) }

// sqlQuerier is what *sql.DB and *sql.Tx have in common, behind the
// statement cache.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// querier is how the store's methods run SQL: a sqlQuerier whose errors
// are marked unavailable when the database cannot serve (see mark).
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*markedRows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) rowScanner
}

// reader returns the querier for reads.
func (d *DB) reader() querier {
	if d.tx != nil {
		return marking{cachedTx{d.tx, d.stmts, d.pools.Write}, d}
	}
	return marking{cachedDB{d.pools.Read, d.stmts}, d}
}

// writer returns the querier for writes.
func (d *DB) writer() querier {
	if d.tx != nil {
		return marking{cachedTx{d.tx, d.stmts, d.pools.Write}, d}
	}
	return marking{cachedDB{d.pools.Write, d.stmts}, d}
}

// lockRow returns the clause that locks the rows a SELECT reads.
func (d *DB) lockRow() string { return d.dialect.LockRow }

// timestamp returns the current time as it will read back from the store.
func (d *DB) timestamp() time.Time { return fromNanos(toNanos(d.now())) }

// toNanos converts t to the stored form: Unix nanoseconds, 0 for the zero time.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos converts the stored form back to a UTC time.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// notFound returns an error of kind not found with a user-safe message.
func notFound(op, format string, args ...any) error {
	return &lanyard.Error{Op: op, Kind: lanyard.KindNotFound, Message: fmt.Sprintf(format, args...)}
}

// conflict returns an error of kind conflict with a user-safe message,
// wrapping the driver error.
func conflict(err error, op, format string, args ...any) error {
	return &lanyard.Error{Op: op, Kind: lanyard.KindConflict, Message: fmt.Sprintf(format, args...), Err: err}
}

// invalid returns an error of kind invalid with a user-safe message,
// wrapping the driver error.
func invalid(err error, op, format string, args ...any) error {
	return &lanyard.Error{Op: op, Kind: lanyard.KindInvalid, Message: fmt.Sprintf(format, args...), Err: err}
}

// rowsAffected returns how many rows a statement changed.
func rowsAffected(res sql.Result) (int, error) {
	n, err := res.RowsAffected()
	return int(n), err
}
