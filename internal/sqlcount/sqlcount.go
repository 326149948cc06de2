// Package sqlcount wraps a database/sql driver to count the statements that
// reach the database, for tests of how many round trips and writes an
// operation costs.
package sqlcount

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strings"
	"sync"
	"sync/atomic"
)

// Counter counts statements run through connections of a wrapped driver.
type Counter struct {
	queries, writes atomic.Int64
	mu              sync.Mutex
	log             []string
}

// Counts are the statements run: all of them (round trips), and those
// that write (anything but SELECT, transaction control included).
type Counts struct {
	Statements int64
	Writes     int64
}

// Counts returns the statements run so far.
func (c *Counter) Counts() Counts {
	return Counts{Statements: c.queries.Load(), Writes: c.writes.Load()}
}

// Log returns the text of the statements run so far.
func (c *Counter) Log() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.log...)
}

func (c *Counter) count(query string) {
	c.queries.Add(1)
	q := strings.ToUpper(strings.TrimSpace(query))
	if !strings.HasPrefix(q, "SELECT") && !strings.HasPrefix(q, "WITH") {
		c.writes.Add(1)
	}
	c.mu.Lock()
	c.log = append(c.log, query)
	c.mu.Unlock()
}

// Open returns a pool over the driver of db (as sql.Open returned it) that
// counts into c. The dsn is the driver's.
func Open(db *sql.DB, dsn string, c *Counter) *sql.DB {
	return sql.OpenDB(connector{drv: db.Driver(), dsn: dsn, counter: c})
}

type connector struct {
	drv     driver.Driver
	dsn     string
	counter *Counter
}

func (k connector) Connect(context.Context) (driver.Conn, error) {
	c, err := k.drv.Open(k.dsn)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, counter: k.counter}, nil
}

func (k connector) Driver() driver.Driver { return k.drv }

// conn offers only Prepare and transactions, so that database/sql runs
// every statement through a counted stmt.
type conn struct {
	driver.Conn
	counter *Counter
}

func (c *conn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		s   driver.Stmt
		err error
	)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		s, err = p.PrepareContext(ctx, query)
	} else {
		s, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &stmt{Stmt: s, query: query, counter: c.counter}, nil
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	c.counter.count("BEGIN")
	var (
		tx  driver.Tx
		err error
	)
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		//lint:ignore SA1019 the driver offers nothing else
		tx, err = c.Conn.Begin()
	}
	if err != nil {
		return nil, err
	}
	return &txn{Tx: tx, counter: c.counter}, nil
}

// CheckNamedValue lets the driver take the values it binds itself (pgx:
// Go slices as arrays), as it does without the wrapper.
func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

type txn struct {
	driver.Tx
	counter *Counter
}

func (t *txn) Commit() error { t.counter.count("COMMIT"); return t.Tx.Commit() }

func (t *txn) Rollback() error { t.counter.count("ROLLBACK"); return t.Tx.Rollback() }

type stmt struct {
	driver.Stmt
	query   string
	counter *Counter
}

func (s *stmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	s.counter.count(s.query)
	if e, ok := s.Stmt.(driver.StmtExecContext); ok {
		return e.ExecContext(ctx, args)
	}
	//lint:ignore SA1019 the driver offers nothing else
	return s.Stmt.Exec(values(args))
}

func (s *stmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	s.counter.count(s.query)
	if q, ok := s.Stmt.(driver.StmtQueryContext); ok {
		return q.QueryContext(ctx, args)
	}
	//lint:ignore SA1019 the driver offers nothing else
	return s.Stmt.Query(values(args))
}

func values(args []driver.NamedValue) []driver.Value {
	out := make([]driver.Value, len(args))
	for i, a := range args {
		out[i] = a.Value
	}
	return out
}
