package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

var _ lanyard.LDAPStore = (*DB)(nil)

const ldapDirectoryColumns = `tenant_id, settings, bind_password, updated_at`

func (d *DB) scanLDAPDirectory(r rowScanner) (lanyard.LDAPDirectory, error) {
	var (
		dir      lanyard.LDAPDirectory
		tenantID int64
		settings string
		sealed   []byte
		updated  int64
	)
	if err := r.Scan(&tenantID, &settings, &sealed, &updated); err != nil {
		return dir, err
	}
	if err := json.Unmarshal([]byte(settings), &dir); err != nil {
		return dir, fmt.Errorf("ldap directory of tenant %d: decode settings: %w", tenantID, err)
	}
	plain, err := d.sealer.Open(sealed, purposeLDAPBind)
	if err != nil {
		return dir, fmt.Errorf("ldap directory of tenant %d: bind password: %w", tenantID, err)
	}
	dir.TenantID, dir.BindPassword, dir.HasPassword, dir.UpdatedAt = tenantID, string(plain), len(plain) > 0, fromNanos(updated)
	return dir, nil
}

// LDAPDirectory returns the tenant's directory connection, its bind
// password opened. ErrNotFound.
func (d *DB) LDAPDirectory(ctx context.Context, tenantID int64) (lanyard.LDAPDirectory, error) {
	dir, err := d.scanLDAPDirectory(d.reader().QueryRowContext(ctx,
		`SELECT `+ldapDirectoryColumns+` FROM ldap_directories WHERE tenant_id = $1`, tenantID))
	if errors.Is(err, sql.ErrNoRows) {
		return dir, notFound("sqlstore.LDAPDirectory", "tenant %d has no LDAP directory", tenantID)
	}
	if err != nil {
		return dir, fmt.Errorf("sqlstore: ldap directory: %w", err)
	}
	return dir, nil
}

// LDAPDirectorySettings returns the tenant's directory settings without
// opening the bind password: what SSO logins read for the precedence
// rules, on their hot path. ErrNotFound.
func (d *DB) LDAPDirectorySettings(ctx context.Context, tenantID int64) (lanyard.LDAPDirectory, error) {
	var (
		dir      lanyard.LDAPDirectory
		settings string
	)
	err := d.reader().QueryRowContext(ctx, `SELECT settings FROM ldap_directories WHERE tenant_id = $1`, tenantID).Scan(&settings)
	if errors.Is(err, sql.ErrNoRows) {
		return dir, notFound("sqlstore.LDAPDirectorySettings", "tenant %d has no LDAP directory", tenantID)
	}
	if err != nil {
		return dir, fmt.Errorf("sqlstore: ldap directory: %w", err)
	}
	if err := json.Unmarshal([]byte(settings), &dir); err != nil {
		return dir, fmt.Errorf("ldap directory of tenant %d: decode settings: %w", tenantID, err)
	}
	dir.TenantID = tenantID
	return dir, nil
}

// LDAPDirectories lists the directories of every tenant; the scheduler
// picks the enabled ones.
func (d *DB) LDAPDirectories(ctx context.Context) ([]lanyard.LDAPDirectory, error) {
	rows, err := d.reader().QueryContext(ctx, `SELECT `+ldapDirectoryColumns+` FROM ldap_directories ORDER BY tenant_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: ldap directories: %w", err)
	}
	defer rows.Close()
	var out []lanyard.LDAPDirectory
	for rows.Next() {
		dir, err := d.scanLDAPDirectory(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: ldap directories: %w", err)
		}
		out = append(out, dir)
	}
	return out, rows.Err()
}

// PutLDAPDirectory inserts or replaces the tenant's connection. An empty
// BindPassword keeps the stored one unless clearPassword.
func (d *DB) PutLDAPDirectory(ctx context.Context, dir *lanyard.LDAPDirectory, clearPassword bool) error {
	settings, err := json.Marshal(dir)
	if err != nil {
		return fmt.Errorf("sqlstore: ldap directory: encode: %w", err)
	}
	now := d.timestamp()
	return d.inTx(ctx, func(tx *DB) error {
		password := []byte(dir.BindPassword)
		if len(password) == 0 && !clearPassword {
			var stored []byte
			err := tx.writer().QueryRowContext(ctx, `SELECT bind_password FROM ldap_directories WHERE tenant_id = $1`, dir.TenantID).Scan(&stored)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("sqlstore: ldap directory: %w", err)
			}
			if err == nil {
				// Kept as stored (sealed or not): SealPrivateKeys reseals.
				_, err = tx.writer().ExecContext(ctx, `UPDATE ldap_directories SET settings = $1, updated_at = $2 WHERE tenant_id = $3`, string(settings), toNanos(now), dir.TenantID)
				if err != nil {
					return fmt.Errorf("sqlstore: ldap directory: %w", err)
				}
				p, err := tx.sealer.Open(stored, purposeLDAPBind)
				if err != nil {
					return fmt.Errorf("sqlstore: ldap directory: bind password: %w", err)
				}
				dir.HasPassword, dir.UpdatedAt = len(p) > 0, now
				return nil
			}
		}
		_, err := tx.writer().ExecContext(ctx,
			`INSERT INTO ldap_directories (tenant_id, settings, bind_password, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (tenant_id) DO UPDATE SET settings = excluded.settings, bind_password = excluded.bind_password, updated_at = excluded.updated_at`,
			dir.TenantID, string(settings), tx.seal(password, purposeLDAPBind), toNanos(now))
		if err != nil {
			return fmt.Errorf("sqlstore: ldap directory: %w", err)
		}
		dir.HasPassword, dir.UpdatedAt = len(password) > 0, now
		return nil
	})
}

// DeleteLDAPDirectory removes the connection and its history. ErrNotFound.
func (d *DB) DeleteLDAPDirectory(ctx context.Context, tenantID int64) error {
	return d.inTx(ctx, func(tx *DB) error {
		res, err := tx.writer().ExecContext(ctx, `DELETE FROM ldap_directories WHERE tenant_id = $1`, tenantID)
		if err != nil {
			return fmt.Errorf("sqlstore: delete ldap directory: %w", err)
		}
		if n, err := rowsAffected(res); err != nil || n == 0 {
			if err != nil {
				return err
			}
			return notFound("sqlstore.DeleteLDAPDirectory", "tenant %d has no LDAP directory", tenantID)
		}
		_, err = tx.writer().ExecContext(ctx, `DELETE FROM ldap_sync_runs WHERE tenant_id = $1`, tenantID)
		return err
	})
}

// LDAPSyncState returns what the sync remembers; zero when never run or
// when no directory is configured.
func (d *DB) LDAPSyncState(ctx context.Context, tenantID int64) (lanyard.LDAPSyncState, error) {
	var (
		s          lanyard.LDAPSyncState
		full, incr int64
	)
	err := d.reader().QueryRowContext(ctx,
		`SELECT mark, last_full_at, last_incr_at, last_status, last_message, pending_run_id FROM ldap_directories WHERE tenant_id = $1`, tenantID).
		Scan(&s.Mark, &full, &incr, &s.LastStatus, &s.LastMessage, &s.PendingRunID)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, fmt.Errorf("sqlstore: ldap sync state: %w", err)
	}
	s.LastFullAt, s.LastIncrAt = fromNanos(full), fromNanos(incr)
	return s, nil
}

// PutLDAPSyncState writes what the sync remembers. ErrNotFound when the
// tenant has no directory.
func (d *DB) PutLDAPSyncState(ctx context.Context, tenantID int64, s lanyard.LDAPSyncState) error {
	res, err := d.writer().ExecContext(ctx,
		`UPDATE ldap_directories SET mark = $1, last_full_at = $2, last_incr_at = $3, last_status = $4, last_message = $5, pending_run_id = $6 WHERE tenant_id = $7`,
		s.Mark, toNanos(s.LastFullAt), toNanos(s.LastIncrAt), s.LastStatus, s.LastMessage, s.PendingRunID, tenantID)
	if err != nil {
		return fmt.Errorf("sqlstore: ldap sync state: %w", d.mark(err))
	}
	if n, err := rowsAffected(res); err != nil || n == 0 {
		if err != nil {
			return err
		}
		return notFound("sqlstore.PutLDAPSyncState", "tenant %d has no LDAP directory", tenantID)
	}
	return nil
}

const ldapRunColumns = `id, tenant_id, kind, dry_run, status, actor, started_at, finished_at, seen, created, updated, deactivated, reactivated, message, report, confirmed`

func scanLDAPRun(r rowScanner) (lanyard.LDAPSyncRun, error) {
	var (
		run              lanyard.LDAPSyncRun
		started, finishd int64
		report           string
	)
	err := r.Scan(&run.ID, &run.TenantID, &run.Kind, &run.DryRun, &run.Status, &run.Actor, &started, &finishd,
		&run.Seen, &run.Created, &run.Updated, &run.Deactivated, &run.Reactivated, &run.Message, &report, &run.Confirmed)
	if err != nil {
		return run, err
	}
	run.StartedAt, run.FinishedAt = fromNanos(started), fromNanos(finishd)
	if report != "" {
		run.Report = strings.Split(report, "\n")
	}
	return run, nil
}

// AddLDAPSyncRun records a run and sets its ID.
func (d *DB) AddLDAPSyncRun(ctx context.Context, r *lanyard.LDAPSyncRun) error {
	for _, line := range r.Report {
		if strings.ContainsAny(line, "\r\n") {
			return fmt.Errorf("sqlstore: ldap sync run: a report line holds a line break: %q", line)
		}
	}
	err := d.writer().QueryRowContext(ctx,
		`INSERT INTO ldap_sync_runs (tenant_id, kind, dry_run, status, actor, started_at, finished_at, seen, created, updated, deactivated, reactivated, message, report, confirmed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		r.TenantID, r.Kind, r.DryRun, r.Status, r.Actor, toNanos(r.StartedAt), toNanos(r.FinishedAt), r.Seen, r.Created, r.Updated,
		r.Deactivated, r.Reactivated, r.Message, strings.Join(r.Report, "\n"), r.Confirmed).Scan(&r.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: ldap sync run: %w", d.mark(err))
	}
	return nil
}

// LDAPSyncRun returns one run of the tenant. ErrNotFound.
func (d *DB) LDAPSyncRun(ctx context.Context, tenantID, id int64) (lanyard.LDAPSyncRun, error) {
	run, err := scanLDAPRun(d.reader().QueryRowContext(ctx, `SELECT `+ldapRunColumns+` FROM ldap_sync_runs WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	if errors.Is(err, sql.ErrNoRows) {
		return run, notFound("sqlstore.LDAPSyncRun", "no LDAP sync run %d in this tenant", id)
	}
	if err != nil {
		return run, fmt.Errorf("sqlstore: ldap sync run: %w", err)
	}
	return run, nil
}

// LDAPSyncRuns lists a tenant's runs, newest first, at most limit.
func (d *DB) LDAPSyncRuns(ctx context.Context, tenantID int64, limit int) ([]lanyard.LDAPSyncRun, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := d.reader().QueryContext(ctx, `SELECT `+ldapRunColumns+` FROM ldap_sync_runs WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2`, tenantID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: ldap sync runs: %w", err)
	}
	defer rows.Close()
	var out []lanyard.LDAPSyncRun
	for rows.Next() {
		run, err := scanLDAPRun(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: ldap sync runs: %w", err)
		}
		out = append(out, run)
	}
	return out, rows.Err()
}

// MarkLDAPSyncRunConfirmed records an administrator's confirmation of a
// stopped run. ErrNotFound.
func (d *DB) MarkLDAPSyncRunConfirmed(ctx context.Context, tenantID, id int64) error {
	res, err := d.writer().ExecContext(ctx, `UPDATE ldap_sync_runs SET confirmed = $1 WHERE tenant_id = $2 AND id = $3`, true, tenantID, id)
	if err != nil {
		return fmt.Errorf("sqlstore: confirm ldap sync run: %w", d.mark(err))
	}
	if n, err := rowsAffected(res); err != nil || n == 0 {
		if err != nil {
			return err
		}
		return notFound("sqlstore.MarkLDAPSyncRunConfirmed", "no LDAP sync run %d in this tenant", id)
	}
	return nil
}

// ldapUserIDsSQL lists the IDs of tenant $1's directory accounts of
// status $2. The source is a literal: it implies the condition of the
// partial index users_ldap_status, which a parameter would not.
const ldapUserIDsSQL = `SELECT id FROM users WHERE tenant_id = $1 AND source = '` + string(lanyard.SourceLDAP) + `' AND status = $2 ORDER BY id`

// LDAPUserIDs lists the IDs of the tenant's active accounts owned by the
// directory.
func (d *DB) LDAPUserIDs(ctx context.Context, tenantID int64) ([]int64, error) {
	rows, err := d.reader().QueryContext(ctx, ldapUserIDsSQL, tenantID, string(lanyard.StatusActive))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: ldap accounts: %w", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlstore: ldap accounts: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// maxLoginsPerQuery bounds UsersByLogins (placeholders per statement).
const maxLoginsPerQuery = 1000

// UsersByLogins returns the tenant's accounts with one of the logins,
// case-insensitively, with their roles, in one query.
func (d *DB) UsersByLogins(ctx context.Context, tenantID int64, logins []string) ([]lanyard.User, error) {
	if len(logins) == 0 {
		return nil, nil
	}
	if len(logins) > maxLoginsPerQuery {
		return nil, fmt.Errorf("sqlstore: users by logins: %d logins, at most %d per call", len(logins), maxLoginsPerQuery)
	}
	args := []any{tenantID}
	marks := make([]string, len(logins))
	for i, l := range logins {
		args = append(args, strings.ToLower(strings.TrimSpace(l)))
		marks[i] = fmt.Sprintf("$%d", i+2)
	}
	us, err := d.userQuery(ctx, d.reader(), nil,
		`users u LEFT JOIN user_roles r ON r.user_id = u.id
		WHERE u.tenant_id = $1 AND u.login_lower IN (`+strings.Join(marks, ", ")+`) ORDER BY u.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: users by logins: %w", err)
	}
	return us, nil
}

// ClaimLDAPSync gives owner the tenant's sync lease until until when it
// is free (expired at now, or already owner's). ErrNotFound.
func (d *DB) ClaimLDAPSync(ctx context.Context, tenantID int64, owner string, now, until time.Time) (bool, error) {
	res, err := d.writer().ExecContext(ctx,
		`UPDATE ldap_directories SET lease_owner = $1, lease_until = $2 WHERE tenant_id = $3 AND (lease_until < $4 OR lease_owner = $1)`,
		owner, toNanos(until), tenantID, toNanos(now))
	if err != nil {
		return false, fmt.Errorf("sqlstore: claim ldap sync: %w", d.mark(err))
	}
	n, err := rowsAffected(res)
	if err != nil {
		return false, err
	}
	if n == 1 {
		return true, nil
	}
	var exists int
	err = d.reader().QueryRowContext(ctx, `SELECT 1 FROM ldap_directories WHERE tenant_id = $1`, tenantID).Scan(&exists)
	if errors.Is(err, sql.ErrNoRows) {
		return false, notFound("sqlstore.ClaimLDAPSync", "tenant %d has no LDAP directory", tenantID)
	}
	return false, err
}

// ReleaseLDAPSync frees the tenant's sync lease if owner holds it.
func (d *DB) ReleaseLDAPSync(ctx context.Context, tenantID int64, owner string) error {
	_, err := d.writer().ExecContext(ctx, `UPDATE ldap_directories SET lease_owner = '', lease_until = 0 WHERE tenant_id = $1 AND lease_owner = $2`, tenantID, owner)
	if err != nil {
		return fmt.Errorf("sqlstore: release ldap sync: %w", d.mark(err))
	}
	return nil
}
