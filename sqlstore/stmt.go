package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps one prepared statement per pool and query text, so a
// query is parsed and planned once per connection rather than once per call.
// A nil *stmtCache prepares nothing.
type stmtCache struct {
	mu     sync.Mutex
	stmts  map[stmtKey]*sql.Stmt
	wanted map[stmtKey]bool // missed inside transactions, to prepare after
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

func newStmtCache() *stmtCache {
	return &stmtCache{stmts: map[stmtKey]*sql.Stmt{}, wanted: map[stmtKey]bool{}}
}

// prepared returns the statement for query on pool, preparing it on first use.
func (c *stmtCache) prepared(ctx context.Context, pool *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{pool, query}
	c.mu.Lock()
	s, ok := c.stmts[key]
	c.mu.Unlock()
	if ok {
		return s, nil
	}
	s, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	old, ok := c.stmts[key]
	if !ok {
		c.stmts[key] = s
	}
	c.mu.Unlock()
	if ok {
		// Another caller prepared it meanwhile. Closing waits for every
		// connection the statement was prepared on, one of which may be
		// in a transaction that waits for c.mu (a row lock held by one
		// transaction, c.mu by this goroutine, the connection by another
		// one waiting for that row): never close under c.mu.
		_ = s.Close()
		return old, nil
	}
	return s, nil
}

// lookup returns the statement for query on pool if it is prepared
// already. A transaction must not prepare on the pool: on SQLite the
// transaction holds the pool's only connection.
func (c *stmtCache) lookup(pool *sql.DB, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	key := stmtKey{pool, query}
	s, ok := c.stmts[key]
	if !ok {
		c.wanted[key] = true
	}
	return s
}

// prepareWanted prepares the statements that transactions missed. Call it
// when no transaction holds a connection of the pool it prepares on.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	if c == nil {
		return
	}
	c.mu.Lock()
	if len(c.wanted) == 0 {
		c.mu.Unlock()
		return
	}
	keys := make([]stmtKey, 0, len(c.wanted))
	for k := range c.wanted {
		keys = append(keys, k)
	}
	clear(c.wanted)
	c.mu.Unlock()
	for _, k := range keys {
		// A failure here shows again, with its error, when the query runs.
		_, _ = c.prepared(ctx, k.pool, k.query)
	}
}

func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.mu.Lock()
	stmts := c.stmts
	c.stmts = map[stmtKey]*sql.Stmt{}
	c.mu.Unlock()
	for _, s := range stmts {
		_ = s.Close()
	}
}

// cachedDB runs queries on a pool through the statement cache.
type cachedDB struct {
	pool  *sql.DB
	cache *stmtCache
}

func (q cachedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if q.cache == nil {
		return q.pool.ExecContext(ctx, query, args...)
	}
	s, err := q.cache.prepared(ctx, q.pool, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (q cachedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if q.cache == nil {
		return q.pool.QueryContext(ctx, query, args...)
	}
	s, err := q.cache.prepared(ctx, q.pool, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (q cachedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if q.cache == nil {
		return q.pool.QueryRowContext(ctx, query, args...)
	}
	s, err := q.cache.prepared(ctx, q.pool, query)
	if err != nil {
		// *sql.Row cannot be built with an error from outside database/sql:
		// fall back to the unprepared query, which reports the same error.
		return q.pool.QueryRowContext(ctx, query, args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// cachedTx runs queries in a transaction, through the statements already
// cached for the pool the transaction belongs to.
type cachedTx struct {
	tx    *sql.Tx
	cache *stmtCache
	pool  *sql.DB
}

func (q cachedTx) stmt(ctx context.Context, query string) *sql.Stmt {
	s := q.cache.lookup(q.pool, query)
	if s == nil {
		return nil
	}
	return q.tx.StmtContext(ctx, s)
}

func (q cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := q.stmt(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, query, args...)
}

func (q cachedTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := q.stmt(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return q.tx.QueryContext(ctx, query, args...)
}

func (q cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := q.stmt(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, query, args...)
}
