package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
)

// maxGroup bounds how many transactions share one commit, so that the
// first of them does not wait behind an unbounded line.
const maxGroup = 16

// groupSavepoint names the savepoint around each transaction of a group.
const groupSavepoint = "lanyard_group"

// commitQueue lets the transactions that wait for a single write
// connection share a commit. Most of a small transaction's cost on SQLite
// is its commit: the WAL frames of every page it changed, two writes and a
// checksum each, and the pages that consecutive transactions change are
// largely the same (the last leaf of each table and index that grows in
// order). The transaction that takes the write token first runs every
// transaction then waiting, each in a savepoint so that one that fails
// undoes only its own changes, and commits them once. Each caller learns
// its outcome only after that commit, so what it was told never differs
// from what is on disk.
type commitQueue struct {
	token chan struct{} // the right to run transactions; capacity 1

	mu      sync.Mutex
	waiting []*queuedTx

	transactions atomic.Uint64 // committed transactions
	commits      atomic.Uint64 // commits that carried them
}

func newCommitQueue() *commitQueue {
	return &commitQueue{token: make(chan struct{}, 1)}
}

// queuedTx is one transaction in the queue, until a leader has run it.
type queuedTx struct {
	ctx  context.Context
	fn   func(tx *DB) error
	done chan struct{} // closed once err and panicValue are final

	err        error
	panicked   bool
	panicValue any
}

// withdraw takes t out of the queue when no leader has taken it yet.
func (q *commitQueue) withdraw(t *queuedTx) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, w := range q.waiting {
		if w == t {
			q.waiting = append(q.waiting[:i], q.waiting[i+1:]...)
			return true
		}
	}
	return false
}

// take removes up to maxGroup waiting transactions, oldest first.
func (q *commitQueue) take() []*queuedTx {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := min(len(q.waiting), maxGroup)
	batch := make([]*queuedTx, n)
	copy(batch, q.waiting)
	q.waiting = append(q.waiting[:0], q.waiting[n:]...)
	return batch
}

// runQueued runs fn once, in a transaction that may share its commit with
// others waiting at the same time, and returns its outcome as runTx does.
func (d *DB) runQueued(ctx context.Context, fn func(tx *DB) error) error {
	q := d.queue
	t := &queuedTx{ctx: ctx, fn: fn, done: make(chan struct{})}
	q.mu.Lock()
	q.waiting = append(q.waiting, t)
	q.mu.Unlock()
	select {
	case q.token <- struct{}{}:
	case <-t.done:
		return t.outcome()
	case <-ctx.Done():
		if q.withdraw(t) {
			return fmt.Errorf("sqlstore: begin transaction: %w", ctx.Err())
		}
		// A leader runs it now: its outcome is on its way.
		<-t.done
		return t.outcome()
	}
	// The token is ours. A leader that ran t released it only after t
	// was done, so t is either done or still waiting: lead until it is.
	for {
		select {
		case <-t.done:
			<-q.token
			return t.outcome()
		default:
			d.lead(q.take())
		}
	}
}

// outcome returns the error of t, or panics again with its panic.
func (t *queuedTx) outcome() error {
	if t.panicked {
		panic(t.panicValue)
	}
	return t.err
}

// lead runs batch, holding the write token, and closes each one's done.
func (d *DB) lead(batch []*queuedTx) {
	for len(batch) > 0 {
		if len(batch) == 1 {
			t := batch[0]
			t.err = runGuarded(t, func() error { return d.runTx(t.ctx, t.fn) })
			if t.err == nil {
				d.queue.transactions.Add(1)
				d.queue.commits.Add(1)
			}
			close(t.done)
			return
		}
		batch = d.runGroup(batch)
	}
}

// runGuarded runs f, catching a panic into t.
func runGuarded(t *queuedTx, f func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			t.panicked, t.panicValue = true, p
			err = fmt.Errorf("sqlstore: transaction panicked: %v", p)
		}
	}()
	return f()
}

// runGroup runs batch in one transaction and commits it. It returns the
// transactions to run again in a new one: when one of them lost the whole
// transaction (an interrupted write, a full disk), that one fails, and
// those that had succeeded before it and those not yet run go again. Each
// call thus settles at least one transaction.
func (d *DB) runGroup(batch []*queuedTx) (again []*queuedTx) {
	// The transaction belongs to the whole group: no caller's context
	// may end it. Each caller's statements still run under its own.
	bg := context.Background()
	finish := func(ts []*queuedTx, err error) {
		for _, t := range ts {
			t.err = err
			close(t.done)
		}
	}
	sqlTx, err := d.pools.Write.BeginTx(bg, nil)
	if err != nil {
		finish(batch, fmt.Errorf("sqlstore: begin transaction: %w", d.mark(err)))
		return nil
	}
	lost := func(i int, t *queuedTx, err error) []*queuedTx {
		_ = sqlTx.Rollback()
		finish([]*queuedTx{t}, err)
		return batch[i+1:]
	}
	bound := *d
	bound.tx = sqlTx
	var succeeded []*queuedTx
	for i, t := range batch {
		if err := t.ctx.Err(); err != nil {
			finish([]*queuedTx{t}, fmt.Errorf("sqlstore: begin transaction: %w", err))
			continue
		}
		if _, err := sqlTx.ExecContext(bg, "SAVEPOINT "+groupSavepoint); err != nil {
			return append(succeeded, lost(i, t, fmt.Errorf("sqlstore: savepoint: %w", d.mark(err)))...)
		}
		ferr := runGuarded(t, func() error {
			each := bound
			return t.fn(&each)
		})
		if ferr == nil {
			if _, err := sqlTx.ExecContext(bg, "RELEASE SAVEPOINT "+groupSavepoint); err != nil {
				return append(succeeded, lost(i, t, fmt.Errorf("sqlstore: release savepoint: %w", d.mark(err)))...)
			}
			succeeded = append(succeeded, t)
			continue
		}
		// ROLLBACK TO leaves the savepoint open; RELEASE closes it. When
		// either fails, t's failure ended the whole transaction.
		_, rerr := sqlTx.ExecContext(bg, "ROLLBACK TO SAVEPOINT "+groupSavepoint)
		if rerr == nil {
			_, rerr = sqlTx.ExecContext(bg, "RELEASE SAVEPOINT "+groupSavepoint)
		}
		if rerr != nil {
			return append(succeeded, lost(i, t, ferr)...)
		}
		finish([]*queuedTx{t}, ferr)
	}
	if err := sqlTx.Commit(); err != nil {
		finish(succeeded, fmt.Errorf("sqlstore: commit: %w", d.mark(err)))
		return nil
	}
	if len(succeeded) > 0 {
		d.queue.transactions.Add(uint64(len(succeeded)))
		d.queue.commits.Add(1)
	}
	finish(succeeded, nil)
	return nil
}

// CommitCounts returns the write transactions the store committed since
// it was opened and the commits that carried them: fewer commits than
// transactions when waiting transactions shared commits. Both are zero when
// the store does not share commits (its write pool has several
// connections).
func (d *DB) CommitCounts() (transactions, commits uint64) {
	if d.queue == nil {
		return 0, 0
	}
	return d.queue.transactions.Load(), d.queue.commits.Load()
}
