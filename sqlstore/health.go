package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// unavailableMessage is what a user is told when the database cannot serve.
const unavailableMessage = "The database is unavailable. Please try again in a few seconds."

// writeHealth remembers whether the database took the last write: a failure
// that says the database cannot serve (ErrorUnavailable, or ErrorRetry once
// the attempts run out) counts until a later write succeeds. Reads that
// succeed prove nothing about writes (a full disk still reads), so only
// writes clear a failure.
type writeHealth struct {
	mu       sync.Mutex
	failure  error // nil: the last outcome was a successful write
	failedAt time.Time
}

func (h *writeHealth) wrote() {
	h.mu.Lock()
	h.failure = nil
	h.mu.Unlock()
}

func (h *writeHealth) failed(err error) {
	h.mu.Lock()
	h.failure, h.failedAt = err, time.Now()
	h.mu.Unlock()
}

// WriteHealth returns the error that says why the database cannot take
// writes now: the last failure of the database itself (unreachable, full,
// locked...), until a write succeeds after it; nil when the last outcome
// was a successful write.
func (d *DB) WriteHealth() error {
	d.health.mu.Lock()
	defer d.health.mu.Unlock()
	if d.health.failure == nil {
		return nil
	}
	return fmt.Errorf("since %s: %w", d.health.failedAt.UTC().Format(time.RFC3339), d.health.failure)
}

// ProbeWrite commits one small write (the row of node in node_probes), so
// that a database which can no longer take writes shows before a login
// needs it. Its outcome counts for WriteHealth like any write's.
func (d *DB) ProbeWrite(ctx context.Context, node string) error {
	return d.inTx(ctx, func(tx *DB) error {
		_, err := tx.writer().ExecContext(ctx,
			`INSERT INTO node_probes (node, written_at) VALUES ($1, $2)
			 ON CONFLICT (node) DO UPDATE SET written_at = excluded.written_at`, node, toNanos(d.now()))
		if err != nil {
			return fmt.Errorf("sqlstore: probe write: %w", err)
		}
		return nil
	})
}

// mark returns err as an unavailable *lanyard.Error (wrapping it, so the
// driver's error stays reachable with errors.As) when the dialect says the
// database cannot serve, and records the failure for WriteHealth. Other
// errors come back as they are.
func (d *DB) mark(err error) error {
	if err == nil {
		return nil
	}
	if lanyard.ErrorKind(err) == lanyard.KindUnavailable {
		return err
	}
	switch d.dialect.Classify(err) {
	case ErrorUnavailable:
	case ErrorRetry:
		// Inside a transaction a busy database is retried by inTx, which
		// marks the error once the attempts run out.
		if d.tx != nil {
			return err
		}
	default:
		return err
	}
	marked := &lanyard.Error{Op: "sqlstore", Kind: lanyard.KindUnavailable, Message: unavailableMessage, Err: err}
	d.health.failed(marked)
	return marked
}

// marking is a querier whose errors go through mark.
type marking struct {
	q sqlQuerier
	d *DB
}

func (m marking) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := m.q.ExecContext(ctx, query, args...)
	return r, m.d.mark(err)
}

func (m marking) QueryContext(ctx context.Context, query string, args ...any) (*markedRows, error) {
	r, err := m.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, m.d.mark(err)
	}
	return &markedRows{r, m.d}, nil
}

// markedRows are the rows of a query through marking: the connection may
// fail between rows too, and that error is marked like the query's.
type markedRows struct {
	*sql.Rows
	d *DB
}

func (r *markedRows) Scan(dest ...any) error { return r.d.mark(r.Rows.Scan(dest...)) }

func (r *markedRows) Err() error { return r.d.mark(r.Rows.Err()) }

func (m marking) QueryRowContext(ctx context.Context, query string, args ...any) rowScanner {
	return markedRow{m.q.QueryRowContext(ctx, query, args...), m.d}
}

type markedRow struct {
	r *sql.Row
	d *DB
}

func (r markedRow) Scan(dest ...any) error {
	err := r.r.Scan(dest...)
	if errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return r.d.mark(err)
}
