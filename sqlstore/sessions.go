package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lanyard-sso/lanyard"
)

const sessionColumns = `hash, tenant_id, user_id, kind, idp_entity_id, name_id, name_id_format, session_index,
	created_at, last_seen_at, idle_expires_at, abs_expires_at, client_ip, user_agent, last_refresh_at, csrf_secret, origin, parent_hash, authn_context`

func scanSession(r rowScanner) (lanyard.Session, error) {
	var (
		s                                       lanyard.Session
		kind                                    string
		created, seen, idle, abs, lastRefreshed int64
	)
	err := r.Scan(&s.Hash, &s.TenantID, &s.UserID, &kind, &s.IdPEntityID, &s.NameID, &s.NameIDFormat,
		&s.SessionIndex, &created, &seen, &idle, &abs, &s.ClientIP, &s.UserAgent, &lastRefreshed, &s.CSRFSecret, &s.Origin, &s.ParentHash, &s.AuthnContext)
	if err != nil {
		return s, err
	}
	s.Kind = lanyard.SessionKind(kind)
	s.CreatedAt, s.LastSeenAt = fromNanos(created), fromNanos(seen)
	s.IdleExpiresAt, s.AbsExpiresAt = fromNanos(idle), fromNanos(abs)
	s.LastRefreshAt = fromNanos(lastRefreshed)
	return s, nil
}

// normalizeSessionTimes makes s's times what the store will read back.
func normalizeSessionTimes(s *lanyard.Session) {
	for _, t := range []*time.Time{&s.CreatedAt, &s.LastSeenAt, &s.IdleExpiresAt, &s.AbsExpiresAt, &s.LastRefreshAt} {
		*t = fromNanos(toNanos(*t))
	}
}

// CreateSession inserts s (CreatedAt is set when zero). ErrConflict when
// the hash exists.
func (d *DB) CreateSession(ctx context.Context, s *lanyard.Session) error {
	const op = "sqlstore.CreateSession"
	if s.CreatedAt.IsZero() {
		s.CreatedAt = d.now()
	}
	normalizeSessionTimes(s)
	// No savepoint in a transaction: a hash of 256 random bits does not
	// collide, and a session that cannot be written fails the login whose
	// transaction it is part of (a savepoint costs two round trips).
	err := d.write(ctx, false, func(q querier) error {
		_, err := q.ExecContext(ctx,
			`INSERT INTO sessions (hash, tenant_id, user_id, kind, idp_entity_id, name_id, name_id_format,
				session_index, created_at, last_seen_at, idle_expires_at, abs_expires_at, expires_at,
				client_ip, user_agent, last_refresh_at, csrf_secret, origin, parent_hash, authn_context)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`,
			s.Hash, s.TenantID, s.UserID, string(s.Kind), s.IdPEntityID, s.NameID, s.NameIDFormat,
			s.SessionIndex, toNanos(s.CreatedAt), toNanos(s.LastSeenAt), toNanos(s.IdleExpiresAt),
			toNanos(s.AbsExpiresAt), toNanos(s.ExpiresAt()), s.ClientIP, s.UserAgent,
			toNanos(s.LastRefreshAt), s.CSRFSecret, s.Origin, nilIfEmpty(s.ParentHash), s.AuthnContext)
		return err
	})
	if err != nil {
		switch d.class(err) {
		case ErrorUnique:
			return conflict(err, op, "session already exists")
		case ErrorForeignKey:
			return invalid(err, op, "user %d does not exist", s.UserID)
		}
		return fmt.Errorf("sqlstore: create session: %w", err)
	}
	return nil
}

// Session returns the session with the hash if it has not expired at now.
// ErrNotFound when absent or expired.
func (d *DB) Session(ctx context.Context, hash []byte, now time.Time) (lanyard.Session, error) {
	s, err := scanSession(d.reader().QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE hash = $1 AND expires_at > $2`, hash, toNanos(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return s, notFound("sqlstore.Session", "session not found or expired")
	}
	if err != nil {
		return s, fmt.Errorf("sqlstore: read session: %w", err)
	}
	return s, nil
}

// UpdateSession applies fn to the session in one transaction; fn may run
// more than once. The hash, tenant, user and CreatedAt are kept. ErrNotFound.
func (d *DB) UpdateSession(ctx context.Context, hash []byte, fn func(*lanyard.Session) error) (lanyard.Session, error) {
	const op = "sqlstore.UpdateSession"
	var out lanyard.Session
	err := d.inTx(ctx, func(tx *DB) error {
		q := tx.writer()
		s, err := scanSession(q.QueryRowContext(ctx,
			`SELECT `+sessionColumns+` FROM sessions WHERE hash = $1`+tx.lockRow(), hash))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(op, "session not found")
		}
		if err != nil {
			return fmt.Errorf("sqlstore: update session: %w", err)
		}
		keep := s
		if err := fn(&s); err != nil {
			return err
		}
		s.Hash, s.TenantID, s.UserID, s.CreatedAt = keep.Hash, keep.TenantID, keep.UserID, keep.CreatedAt
		s.Origin, s.ParentHash = keep.Origin, keep.ParentHash
		normalizeSessionTimes(&s)
		_, err = q.ExecContext(ctx,
			`UPDATE sessions SET kind = $1, idp_entity_id = $2, name_id = $3, name_id_format = $4,
				session_index = $5, last_seen_at = $6, idle_expires_at = $7, abs_expires_at = $8,
				expires_at = $9, client_ip = $10, user_agent = $11, last_refresh_at = $12, csrf_secret = $13
			WHERE hash = $14`,
			string(s.Kind), s.IdPEntityID, s.NameID, s.NameIDFormat, s.SessionIndex, toNanos(s.LastSeenAt),
			toNanos(s.IdleExpiresAt), toNanos(s.AbsExpiresAt), toNanos(s.ExpiresAt()), s.ClientIP,
			s.UserAgent, toNanos(s.LastRefreshAt), s.CSRFSecret, hash)
		if err != nil {
			return fmt.Errorf("sqlstore: update session: %w", err)
		}
		out = s
		return nil
	})
	if err != nil {
		return lanyard.Session{}, err
	}
	return out, nil
}

// DeleteSession ends one session. Deleting an absent session is not an error.
func (d *DB) DeleteSession(ctx context.Context, hash []byte) error {
	if _, err := d.writer().ExecContext(ctx, `DELETE FROM sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("sqlstore: delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions ends every session of a user and reports how many.
func (d *DB) DeleteUserSessions(ctx context.Context, userID int64) (int, error) {
	return d.deleteCount(ctx, "delete user sessions", `DELETE FROM sessions WHERE user_id = $1`, userID)
}

// DeleteSessionsByNameID ends the SSO sessions of an IdP identity; an
// empty sessionIndex matches every session index. Reports how many.
func (d *DB) DeleteSessionsByNameID(ctx context.Context, tenantID int64, idpEntityID, nameID, sessionIndex string) (int, error) {
	if sessionIndex == "" {
		return d.deleteCount(ctx, "delete sessions by name id",
			`DELETE FROM sessions WHERE tenant_id = $1 AND idp_entity_id = $2 AND name_id = $3 AND parent_hash IS NULL`,
			tenantID, idpEntityID, nameID)
	}
	return d.deleteCount(ctx, "delete sessions by name id",
		`DELETE FROM sessions WHERE tenant_id = $1 AND idp_entity_id = $2 AND name_id = $3 AND session_index = $4 AND parent_hash IS NULL`,
		tenantID, idpEntityID, nameID, sessionIndex)
}

// UserSessions lists the live sessions of a user at now, newest first.
func (d *DB) UserSessions(ctx context.Context, userID int64, now time.Time) ([]lanyard.Session, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 AND expires_at > $2
		ORDER BY created_at DESC, hash`, userID, toNanos(now))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list user sessions: %w", err)
	}
	defer rows.Close()
	var out []lanyard.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: list user sessions: %w", err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list user sessions: %w", err)
	}
	return out, nil
}

// PurgeExpiredSessions deletes sessions expired at now and reports how many.
func (d *DB) PurgeExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return d.deleteCount(ctx, "purge sessions", `DELETE FROM sessions WHERE expires_at <= $1`, toNanos(now))
}

// deleteCount runs a DELETE and reports how many rows it removed.
func (d *DB) deleteCount(ctx context.Context, what, query string, args ...any) (int, error) {
	res, err := d.writer().ExecContext(ctx, query, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	n, err := rowsAffected(res)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: %s: %w", what, err)
	}
	return n, nil
}

// nilIfEmpty stores an absent hash as NULL, which the foreign key allows.
func nilIfEmpty(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
