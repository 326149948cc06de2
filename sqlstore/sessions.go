package sqlstore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

const sessionColumns = `hash, tenant_id, user_id, kind, idp_entity_id, name_id, name_id_format, session_index,
	created_at, last_seen_at, idle_expires_at, abs_expires_at, client_ip, user_agent, last_refresh_at, csrf_secret, origin, parent_hash, authn_context`

func scanSession(r rowScanner) (lanyard.Session, error) {
	var (
		s lanyard.Session
		v sessionScan
	)
	if err := r.Scan(v.dest(&s)...); err != nil {
		return s, err
	}
	v.finish(&s)
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
	args := d.sessionInsertArgs(s)
	// No savepoint in a transaction: a hash of 256 random bits does not
	// collide, and a session that cannot be written fails the login whose
	// transaction it is part of (a savepoint costs two round trips).
	err := d.write(ctx, false, func(q querier) error {
		_, err := q.ExecContext(ctx, insertSessionSQL, args...)
		return err
	})
	return d.sessionInsertError(err, s)
}

// CreateSessionWithAudit inserts s, then e (setting its ID). See
// lanyard.SessionAuditCreator. Where a WITH clause may insert
// (PostgreSQL) both are one statement.
func (d *DB) CreateSessionWithAudit(ctx context.Context, s *lanyard.Session, e *lanyard.AuditEvent) error {
	if !d.dialect.WritingCTE {
		both := func(tx *DB) error {
			if err := tx.CreateSession(ctx, s); err != nil {
				return err
			}
			return tx.AppendAudit(ctx, e)
		}
		if d.tx != nil {
			return both(d)
		}
		return d.inTx(ctx, both)
	}
	args := append(d.sessionInsertArgs(s), d.auditInsertArgs(e)...)
	var id int64
	err := d.write(ctx, false, func(q querier) error {
		return q.QueryRowContext(ctx, insertSessionWithAuditSQL, args...).Scan(&id)
	})
	if err != nil {
		if c := d.class(err); c == ErrorUnique || c == ErrorForeignKey {
			return d.sessionInsertError(err, s)
		}
		return fmt.Errorf("sqlstore: create session with audit event %q: %w", e.Action, err)
	}
	e.ID = id
	return nil
}

// insertSessionSQL inserts a session: its arguments are sessionInsertArgs.
const insertSessionSQL = `INSERT INTO sessions (hash, tenant_id, user_id, kind, idp_entity_id, name_id, name_id_format,
		session_index, created_at, last_seen_at, idle_expires_at, abs_expires_at, purge_after,
		client_ip, user_agent, last_refresh_at, csrf_secret, origin, parent_hash, authn_context)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)`

// insertSessionWithAuditSQL inserts a session and an audit event and
// returns the event's ID: the arguments of the session, then the event's.
var insertSessionWithAuditSQL = `WITH s AS (` + insertSessionSQL + `)
	` + insertAuditSQL(21)

// sessionInsertArgs sets s's CreatedAt when zero, normalises its times
// and returns the arguments of insertSessionSQL.
func (d *DB) sessionInsertArgs(s *lanyard.Session) []any {
	if s.CreatedAt.IsZero() {
		s.CreatedAt = d.now()
	}
	normalizeSessionTimes(s)
	return []any{s.Hash, s.TenantID, s.UserID, string(s.Kind), s.IdPEntityID, s.NameID, s.NameIDFormat,
		s.SessionIndex, toNanos(s.CreatedAt), toNanos(s.LastSeenAt), toNanos(s.IdleExpiresAt),
		toNanos(s.AbsExpiresAt), toNanos(s.ExpiresAt()), s.ClientIP, s.UserAgent,
		toNanos(s.LastRefreshAt), s.CSRFSecret, s.Origin, nilIfEmpty(s.ParentHash), s.AuthnContext}
}

// sessionInsertError explains the error of a statement that inserts s.
func (d *DB) sessionInsertError(err error, s *lanyard.Session) error {
	const op = "sqlstore.CreateSession"
	if err == nil {
		return nil
	}
	switch d.class(err) {
	case ErrorUnique:
		return conflict(err, op, "session already exists")
	case ErrorForeignKey:
		return invalid(err, op, "user %d or tenant %d does not exist", s.UserID, s.TenantID)
	}
	return fmt.Errorf("sqlstore: create session: %w", err)
}

// Session returns the session with the hash if it has not expired at now.
// ErrNotFound when absent or expired.
func (d *DB) Session(ctx context.Context, hash []byte, now time.Time) (lanyard.Session, error) {
	s, err := scanSession(d.reader().QueryRowContext(ctx,
		`SELECT `+sessionColumns+` FROM sessions WHERE hash = $1 AND `+sessionLive, hash, toNanos(now)))
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
				purge_after = $9, client_ip = $10, user_agent = $11, last_refresh_at = $12, csrf_secret = $13
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
		`SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1 AND `+sessionLive+`
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

// sessionLive is the condition that a session has not expired at $2: its
// expiry is the earlier of the idle and absolute ones. purge_after, which
// activity does not move, is no expiry.
const sessionLive = `idle_expires_at > $2 AND abs_expires_at > $2`

// PurgeExpiredSessions deletes sessions expired at now and reports how
// many. It looks only at sessions whose purge_after has passed: those that
// expired are deleted, and the others (active since purge_after was set)
// get their expiry as their new purge_after, so that each live session is
// looked at once per expiry it outlives rather than its activity moving an
// index entry.
func (d *DB) PurgeExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	var n int
	err := d.inTx(ctx, func(tx *DB) error {
		var err error
		n, err = tx.deleteCount(ctx, "purge sessions",
			`DELETE FROM sessions WHERE purge_after <= $1 AND (idle_expires_at <= $1 OR abs_expires_at <= $1)`, toNanos(now))
		if err != nil {
			return err
		}
		if _, err := tx.writer().ExecContext(ctx,
			`UPDATE sessions SET purge_after = CASE WHEN idle_expires_at < abs_expires_at THEN idle_expires_at ELSE abs_expires_at END
			WHERE purge_after <= $1`, toNanos(now)); err != nil {
			return fmt.Errorf("sqlstore: purge sessions: %w", err)
		}
		return nil
	})
	return n, err
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

// SessionHolder reads the session with the hash and its account (with the
// account's roles) in one query, whether or not the session has expired:
// the caller decides, knowing activity it has not written yet.
// ErrNotFound when there is no such session.
func (d *DB) SessionHolder(ctx context.Context, hash []byte) (lanyard.Session, lanyard.User, error) {
	const op = "sqlstore.SessionHolder"
	rows, err := d.reader().QueryContext(ctx, sessionHolderQuery, hash)
	if err != nil {
		return lanyard.Session{}, lanyard.User{}, fmt.Errorf("sqlstore: read session holder: %w", err)
	}
	defer rows.Close()
	var (
		s     lanyard.Session
		u     lanyard.User
		found bool
	)
	for rows.Next() {
		var (
			role, source sql.NullString
			version      int64
		)
		// One row per role: the session and the account repeat.
		rs, err := scanSessionUser(rows, &version, &role, &source)
		if err != nil {
			return lanyard.Session{}, lanyard.User{}, fmt.Errorf("sqlstore: read session holder: %w", err)
		}
		if !found {
			s, u, found = rs.session, rs.user, true
		}
		if role.Valid {
			u.Roles = append(u.Roles, lanyard.RoleGrant{Role: role.String, Source: lanyard.RoleSource(source.String)})
		}
	}
	if err := rows.Err(); err != nil {
		return lanyard.Session{}, lanyard.User{}, fmt.Errorf("sqlstore: read session holder: %w", err)
	}
	if !found {
		return lanyard.Session{}, lanyard.User{}, notFound(op, "session not found")
	}
	normalizeUserRoles(&u)
	return s, u, nil
}

type sessionUser struct {
	session lanyard.Session
	user    lanyard.User
}

// scanSessionUser scans a row of sessionColumnsAs followed by userColumns
// and extra.
func scanSessionUser(r rowScanner, version *int64, extra ...any) (sessionUser, error) {
	var out sessionUser
	var sessionDest sessionScan
	var userDest userScan
	dest := make([]any, 0, sessionScanColumns+userScanColumns+len(extra))
	dest = sessionDest.appendDest(dest, &out.session)
	dest = userDest.appendDest(dest, &out.user, version)
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return out, err
	}
	sessionDest.finish(&out.session)
	userDest.finish(&out.user)
	return out, nil
}

// sessionHolderQuery reads a session, its account and the account's roles:
// one row per role (one row when there is none). Built once: a miss of
// the session check runs it, and its text keys the prepared statement.
var sessionHolderQuery = `SELECT ` + sessionColumnsAs("s") + `, ` + userColumns + `, r.role, r.source
	FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN user_roles r ON r.user_id = u.id
	WHERE s.hash = $1`

// sessionColumnsAs is sessionColumns qualified with alias.
func sessionColumnsAs(alias string) string {
	cols := strings.Split(sessionColumns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// The number of destinations of sessionScan.dest and userScan.dest.
const sessionScanColumns, userScanColumns = 19, 18

// sessionScan holds a session row's columns that need converting.
type sessionScan struct {
	kind                                    string
	created, seen, idle, abs, lastRefreshed int64
}

func (v *sessionScan) dest(s *lanyard.Session) []any {
	return v.appendDest(make([]any, 0, sessionScanColumns), s)
}

func (v *sessionScan) appendDest(dst []any, s *lanyard.Session) []any {
	return append(dst, &s.Hash, &s.TenantID, &s.UserID, &v.kind, &s.IdPEntityID, &s.NameID, &s.NameIDFormat,
		&s.SessionIndex, &v.created, &v.seen, &v.idle, &v.abs, &s.ClientIP, &s.UserAgent, &v.lastRefreshed, &s.CSRFSecret, &s.Origin, &s.ParentHash, &s.AuthnContext)
}

func (v *sessionScan) finish(s *lanyard.Session) {
	s.Kind = lanyard.SessionKind(v.kind)
	s.CreatedAt, s.LastSeenAt = fromNanos(v.created), fromNanos(v.seen)
	s.IdleExpiresAt, s.AbsExpiresAt = fromNanos(v.idle), fromNanos(v.abs)
	s.LastRefreshAt = fromNanos(v.lastRefreshed)
}

// userScan holds a user row's columns that need converting.
type userScan struct {
	status, method, source      string
	created, updated, lastLogin int64
}

func (v *userScan) dest(u *lanyard.User, version *int64) []any {
	return v.appendDest(make([]any, 0, userScanColumns), u, version)
}

func (v *userScan) appendDest(dst []any, u *lanyard.User, version *int64) []any {
	return append(dst, &u.ID, &u.TenantID, &u.Login, &u.Email, &u.FirstName, &u.LastName, &v.status, &u.Locked,
		&v.method, &u.WebAccess, &v.source, &u.IdPSourced, &u.PasswordHash, &u.AutoLogin,
		&v.created, &v.updated, &v.lastLogin, version)
}

func (v *userScan) finish(u *lanyard.User) {
	u.Status, u.LoginMethod, u.Source = lanyard.UserStatus(v.status), lanyard.LoginMethod(v.method), lanyard.UserSource(v.source)
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromNanos(v.created), fromNanos(v.updated), fromNanos(v.lastLogin)
}

// activityRowsPerStatement bounds the sessions one statement of
// RecordSessionActivity carries, so that a statement's argument stays a
// few hundred kilobytes: a flush of up to this many sessions, the usual
// one, is one statement.
const activityRowsPerStatement = 4096

// The statement of RecordSessionActivity, one per engine: the batch is one
// argument (arrays on PostgreSQL, a JSON array on SQLite), so that the text
// is the same whatever the batch's size and is prepared once. It sets no
// indexed column (purge_after stays: see PurgeExpiredSessions), so that a
// session's activity rewrites its row only. A session whose stored
// LastSeenAt is as late is left alone.
const (
	activitySet       = `UPDATE sessions SET last_seen_at = a.seen, idle_expires_at = a.idle`
	activityWhere     = ` WHERE sessions.hash = a.hash AND sessions.last_seen_at < a.seen`
	activityFromJSON  = ` FROM (SELECT unhex(value ->> 0) AS hash, value ->> 1 AS seen, value ->> 2 AS idle FROM json_each($1)) AS a`
	activityFromArray = ` FROM unnest($1::bytea[], $2::bigint[], $3::bigint[]) AS a (hash, seen, idle)`
)

// RecordSessionActivity writes the sessions' activity in one transaction
// and one statement (one per activityRowsPerStatement sessions). A session
// whose stored LastSeenAt is already as late is left alone, and so is one
// that no longer exists.
func (d *DB) RecordSessionActivity(ctx context.Context, activity []lanyard.SessionActivity) error {
	if len(activity) == 0 {
		return nil
	}
	return d.inTx(ctx, func(tx *DB) error {
		for start := 0; start < len(activity); start += activityRowsPerStatement {
			batch := activity[start:min(start+activityRowsPerStatement, len(activity))]
			var err error
			if tx.dialect.ArrayParams {
				hashes, seen, idle := make([][]byte, len(batch)), make([]int64, len(batch)), make([]int64, len(batch))
				for i, a := range batch {
					hashes[i], seen[i], idle[i] = a.Hash, toNanos(a.LastSeenAt), toNanos(a.IdleExpiresAt)
				}
				_, err = tx.writer().ExecContext(ctx, activitySet+activityFromArray+activityWhere, hashes, seen, idle)
			} else {
				_, err = tx.writer().ExecContext(ctx, activitySet+activityFromJSON+activityWhere, activityJSON(batch))
			}
			if err != nil {
				return fmt.Errorf("sqlstore: record session activity: %w", err)
			}
		}
		return nil
	})
}

// activityJSON encodes activity as [["hex hash", seen, idle], ...], times
// in Unix nanoseconds.
func activityJSON(activity []lanyard.SessionActivity) string {
	b := make([]byte, 0, len(activity)*(2*32+50))
	b = append(b, '[')
	for i, a := range activity {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `["`...)
		b = hex.AppendEncode(b, a.Hash)
		b = append(b, `",`...)
		b = strconv.AppendInt(b, toNanos(a.LastSeenAt), 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, toNanos(a.IdleExpiresAt), 10)
		b = append(b, ']')
	}
	return string(append(b, ']'))
}

// CreateSessions inserts the sessions in one transaction, a few hundred
// rows per statement (seeding, imports). ErrConflict when a hash exists.
func (d *DB) CreateSessions(ctx context.Context, sessions []*lanyard.Session) error {
	const op = "sqlstore.CreateSessions"
	const cols = 19
	if len(sessions) == 0 {
		return nil
	}
	return d.inTx(ctx, func(tx *DB) error {
		for start := 0; start < len(sessions); start += tx.bulkRows() {
			chunk := sessions[start:min(start+tx.bulkRows(), len(sessions))]
			args := make([]any, 0, len(chunk)*cols)
			for _, s := range chunk {
				if s.CreatedAt.IsZero() {
					s.CreatedAt = d.now()
				}
				normalizeSessionTimes(s)
				args = append(args, s.Hash, s.TenantID, s.UserID, string(s.Kind), s.IdPEntityID, s.NameID, s.NameIDFormat,
					s.SessionIndex, toNanos(s.CreatedAt), toNanos(s.LastSeenAt), toNanos(s.IdleExpiresAt),
					toNanos(s.AbsExpiresAt), toNanos(s.ExpiresAt()), s.ClientIP, s.UserAgent,
					toNanos(s.LastRefreshAt), s.CSRFSecret, s.Origin, nilIfEmpty(s.ParentHash))
			}
			_, err := tx.writer().ExecContext(ctx,
				`INSERT INTO sessions (hash, tenant_id, user_id, kind, idp_entity_id, name_id, name_id_format,
					session_index, created_at, last_seen_at, idle_expires_at, abs_expires_at, purge_after,
					client_ip, user_agent, last_refresh_at, csrf_secret, origin, parent_hash)
				VALUES `+values(len(chunk), cols), args...)
			if err != nil {
				switch tx.class(err) {
				case ErrorUnique:
					return conflict(err, op, "a session already exists")
				case ErrorForeignKey:
					return invalid(err, op, "a session's user does not exist")
				}
				return fmt.Errorf("sqlstore: create sessions: %w", err)
			}
		}
		return nil
	})
}
