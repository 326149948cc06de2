package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// This file holds the short-lived records: the replay cache, pending
// AuthnRequests, one-time tokens and login failure counters. Each operation
// is a single statement, atomic on its own.

// MarkAssertionUsed records id until expires. It reports false when id was
// already recorded and has not expired at now: a replay. An expired entry is
// replaced in the same statement.
//
// In a transaction on an engine with WritingCTE (PostgreSQL) the mark is
// deferred: the login's account lookup makes it (UserByLinkOrLogin), one
// round trip fewer per login, or else it is made before the commit. A
// replay is then ErrReplayed (see lanyard.ReplayCache).
func (d *DB) MarkAssertionUsed(ctx context.Context, id string, expires, now time.Time) (bool, error) {
	if d.replay != nil && !d.replay.pending {
		*d.replay = deferredMark{pending: true, id: id, expires: toNanos(expires), now: toNanos(now)}
		return true, nil
	}
	return d.markAssertionUsed(ctx, id, toNanos(expires), toNanos(now))
}

func (d *DB) markAssertionUsed(ctx context.Context, id string, expires, now int64) (bool, error) {
	res, err := d.writer().ExecContext(ctx, `INSERT INTO replay_cache (id, expires_at) VALUES ($1, $2)
		ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replay_cache.expires_at <= $3`, id, expires, now)
	if err != nil {
		return false, fmt.Errorf("sqlstore: mark assertion used: %w", err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return false, fmt.Errorf("sqlstore: mark assertion used: %w", err)
	}
	return n == 1, nil
}

// deferredMark is a replay mark a transaction has yet to make.
type deferredMark struct {
	pending bool
	id      string
	expires int64
	now     int64
}

// deferringReplayMarks runs fn with a transaction that defers its replay
// mark, and makes the mark before the commit if no lookup made it.
func deferringReplayMarks(ctx context.Context, fn func(tx *DB) error) func(tx *DB) error {
	return func(tx *DB) error {
		own := *tx
		own.replay = &deferredMark{}
		if err := fn(&own); err != nil {
			return err
		}
		m, ok := own.replay.take()
		if !ok {
			return nil
		}
		first, err := own.markAssertionUsed(ctx, m.id, m.expires, m.now)
		if err != nil {
			return err
		}
		if !first {
			return replayed(m.id)
		}
		return nil
	}
}

// take returns the pending mark, if any, and clears it.
func (m *deferredMark) take() (deferredMark, bool) {
	if m == nil || !m.pending {
		return deferredMark{}, false
	}
	out := *m
	*m = deferredMark{}
	return out, true
}

// replayed is the error of a deferred mark that found id used.
func replayed(id string) error {
	return fmt.Errorf("sqlstore: assertion %q: %w", id, lanyard.ErrReplayed)
}

// replayMarkCTE makes a deferred replay mark in front of a statement of
// four parameters (the account lookup): the ID $5 until $6, at $7. The first insert is
// MarkAssertionUsed's; when it writes nothing (a replay), the second
// inserts the same ID again, which fails with a unique violation: the
// statement fails, and so does the transaction.
const replayMarkCTE = `WITH mark AS (INSERT INTO replay_cache (id, expires_at) VALUES ($5, $6)
		ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at
		WHERE replay_cache.expires_at <= $7 RETURNING 1),
	replayed AS (INSERT INTO replay_cache (id, expires_at) SELECT $5, $6 WHERE NOT EXISTS (SELECT 1 FROM mark))
	`

// PurgeReplay deletes entries expired at now and reports how many.
func (d *DB) PurgeReplay(ctx context.Context, now time.Time) (int, error) {
	return d.deleteCount(ctx, "purge replay cache", `DELETE FROM replay_cache WHERE expires_at <= $1`, toNanos(now))
}

// SavePendingRequest inserts r (CreatedAt is set when zero). ErrConflict
// when the ID exists.
func (d *DB) SavePendingRequest(ctx context.Context, r *lanyard.PendingRequest) error {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = d.now()
	}
	r.CreatedAt, r.ExpiresAt = fromNanos(toNanos(r.CreatedAt)), fromNanos(toNanos(r.ExpiresAt))
	err := d.write(ctx, true, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO pending_requests (id, tenant_id, idp_entity_id, return_to, binding, passive, created_at, expires_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			r.ID, r.TenantID, r.IdPEntityID, r.ReturnTo, r.Binding, r.Passive, toNanos(r.CreatedAt), toNanos(r.ExpiresAt))
		return err
	})
	if err != nil {
		if d.class(err) == ErrorUnique {
			return conflict(err, "sqlstore.SavePendingRequest", "request %q already exists", r.ID)
		}
		return fmt.Errorf("sqlstore: save pending request: %w", err)
	}
	return nil
}

// TakePendingRequest returns and deletes the request, once: a second take,
// or a take after expiry at now, is ErrNotFound. An expired request is
// deleted too.
func (d *DB) TakePendingRequest(ctx context.Context, id string, now time.Time) (lanyard.PendingRequest, error) {
	const op = "sqlstore.TakePendingRequest"
	var (
		r                lanyard.PendingRequest
		created, expires int64
	)
	err := d.writer().QueryRowContext(ctx,
		`DELETE FROM pending_requests WHERE id = $1
		RETURNING id, tenant_id, idp_entity_id, return_to, binding, passive, created_at, expires_at`, id).
		Scan(&r.ID, &r.TenantID, &r.IdPEntityID, &r.ReturnTo, &r.Binding, &r.Passive, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return lanyard.PendingRequest{}, notFound(op, "request %q not found or already answered", id)
	}
	if err != nil {
		return lanyard.PendingRequest{}, fmt.Errorf("sqlstore: take pending request: %w", err)
	}
	r.CreatedAt, r.ExpiresAt = fromNanos(created), fromNanos(expires)
	if !now.Before(r.ExpiresAt) {
		return lanyard.PendingRequest{}, notFound(op, "request %q expired", id)
	}
	return r, nil
}

// CountPendingRequests counts the requests live at now, up to limit: the
// count stops there, so its cost is bounded whatever the table holds.
func (d *DB) CountPendingRequests(ctx context.Context, now time.Time, limit int) (int, error) {
	var n int
	err := d.reader().QueryRowContext(ctx,
		`SELECT COUNT(*) FROM (SELECT 1 FROM pending_requests WHERE expires_at > $1 LIMIT $2) live`,
		toNanos(now), limit).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count pending requests: %w", err)
	}
	return n, nil
}

// PurgePendingRequests deletes requests expired at now and reports how many.
func (d *DB) PurgePendingRequests(ctx context.Context, now time.Time) (int, error) {
	return d.deleteCount(ctx, "purge pending requests", `DELETE FROM pending_requests WHERE expires_at <= $1`, toNanos(now))
}

// SaveToken inserts t (CreatedAt is set when zero). ErrConflict when the
// hash exists.
func (d *DB) SaveToken(ctx context.Context, t *lanyard.OneTimeToken) error {
	const op = "sqlstore.SaveToken"
	if t.CreatedAt.IsZero() {
		t.CreatedAt = d.now()
	}
	t.CreatedAt, t.ExpiresAt = fromNanos(toNanos(t.CreatedAt)), fromNanos(toNanos(t.ExpiresAt))
	err := d.write(ctx, true, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO one_time_tokens (hash, purpose, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)`,
			t.Hash, t.Purpose, t.UserID, toNanos(t.CreatedAt), toNanos(t.ExpiresAt))
		return err
	})
	if err != nil {
		switch d.class(err) {
		case ErrorUnique:
			return conflict(err, op, "token already exists")
		case ErrorForeignKey:
			return invalid(err, op, "user %d does not exist", t.UserID)
		}
		return fmt.Errorf("sqlstore: save token: %w", err)
	}
	return nil
}

// TakeToken returns and deletes the token of the purpose, once. ErrNotFound
// when absent, already used, or expired at now (an expired token is deleted).
func (d *DB) TakeToken(ctx context.Context, hash []byte, purpose string, now time.Time) (lanyard.OneTimeToken, error) {
	const op = "sqlstore.TakeToken"
	var (
		t                lanyard.OneTimeToken
		created, expires int64
	)
	err := d.writer().QueryRowContext(ctx,
		`DELETE FROM one_time_tokens WHERE hash = $1 AND purpose = $2
		RETURNING hash, purpose, user_id, created_at, expires_at`, hash, purpose).
		Scan(&t.Hash, &t.Purpose, &t.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return lanyard.OneTimeToken{}, notFound(op, "link not found or already used")
	}
	if err != nil {
		return lanyard.OneTimeToken{}, fmt.Errorf("sqlstore: take token: %w", err)
	}
	t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
	if !now.Before(t.ExpiresAt) {
		return lanyard.OneTimeToken{}, notFound(op, "link expired")
	}
	return t, nil
}

// RecordFailure adds a failure for key at time at.
func (d *DB) RecordFailure(ctx context.Context, key string, at time.Time) error {
	_, err := d.writer().ExecContext(ctx,
		`INSERT INTO login_failures (throttle_key, failed_at) VALUES ($1, $2)`, key, toNanos(at))
	if err != nil {
		return fmt.Errorf("sqlstore: record failure: %w", err)
	}
	return nil
}

// Failures counts the failures for key at or after since.
func (d *DB) Failures(ctx context.Context, key string, since time.Time) (int, error) {
	var n int
	err := d.reader().QueryRowContext(ctx,
		`SELECT COUNT(*) FROM login_failures WHERE throttle_key = $1 AND failed_at >= $2`, key, toNanos(since)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count failures: %w", err)
	}
	return n, nil
}

// ClearFailures forgets the failures for key (after a success).
func (d *DB) ClearFailures(ctx context.Context, key string) error {
	if _, err := d.writer().ExecContext(ctx, `DELETE FROM login_failures WHERE throttle_key = $1`, key); err != nil {
		return fmt.Errorf("sqlstore: clear failures: %w", err)
	}
	return nil
}

// ClearFailuresWithPrefix forgets the failures of every key that starts
// with prefix. It reads the whole table, which the janitor keeps to the
// last quarter of an hour; it runs when a password is set, not per login.
func (d *DB) ClearFailuresWithPrefix(ctx context.Context, prefix string) error {
	if _, err := d.writer().ExecContext(ctx,
		`DELETE FROM login_failures WHERE substr(throttle_key, 1, length($1)) = $1`, prefix); err != nil {
		return fmt.Errorf("sqlstore: clear failures: %w", err)
	}
	return nil
}

// PurgeFailures forgets failures older than before and reports how many.
func (d *DB) PurgeFailures(ctx context.Context, before time.Time) (int, error) {
	return d.deleteCount(ctx, "purge failures", `DELETE FROM login_failures WHERE failed_at < $1`, toNanos(before))
}

// DeleteUserTokens deletes the user's tokens of the purpose and reports how
// many.
func (d *DB) DeleteUserTokens(ctx context.Context, userID int64, purpose string) (int, error) {
	return d.deleteCount(ctx, "delete tokens of a user", `DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = $2`, userID, purpose)
}
