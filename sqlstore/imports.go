package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// StartImport inserts im in state running and sets its ID and times.
func (d *DB) StartImport(ctx context.Context, im *lanyard.UserImport) error {
	now := d.timestamp()
	im.State, im.StartedAt, im.UpdatedAt = lanyard.ImportRunning, now, now
	err := d.writer().QueryRowContext(ctx,
		`INSERT INTO user_imports (tenant_id, actor, state, rows_total, rows_done, started_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		im.TenantID, im.Actor, im.State, im.RowsTotal, im.RowsDone, toNanos(now), toNanos(now)).Scan(&im.ID)
	if err != nil {
		return fmt.Errorf("sqlstore: start import: %w", err)
	}
	return nil
}

// undoColumns is how many columns an undo entry has.
const undoColumns = 4

// JournalImport appends the undo entries after the import's last one and
// records its progress.
func (d *DB) JournalImport(ctx context.Context, importID int64, rowsDone int, undo []lanyard.ImportUndo) error {
	return d.inTx(ctx, func(tx *DB) error {
		var last int64
		if err := tx.reader().QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM user_import_undo WHERE import_id = $1`, importID).Scan(&last); err != nil {
			return fmt.Errorf("sqlstore: journal import: %w", err)
		}
		for start := 0; start < len(undo); start += tx.bulkRows() {
			chunk := undo[start:min(start+tx.bulkRows(), len(undo))]
			args := make([]any, 0, len(chunk)*undoColumns)
			for _, u := range chunk {
				last++
				before := ""
				if u.Before != nil {
					b, err := json.Marshal(u.Before)
					if err != nil {
						return fmt.Errorf("sqlstore: journal import: %w", err)
					}
					before = string(b)
				}
				args = append(args, importID, last, u.UserID, before)
			}
			if _, err := tx.writer().ExecContext(ctx, `INSERT INTO user_import_undo (import_id, seq, user_id, before) VALUES `+values(len(chunk), undoColumns), args...); err != nil {
				return fmt.Errorf("sqlstore: journal import: %w", err)
			}
		}
		if _, err := tx.writer().ExecContext(ctx, `UPDATE user_imports SET rows_done = $1, updated_at = $2 WHERE id = $3`,
			rowsDone, toNanos(tx.timestamp()), importID); err != nil {
			return fmt.Errorf("sqlstore: journal import: %w", err)
		}
		return nil
	})
}

// EndImport sets the state of an import.
func (d *DB) EndImport(ctx context.Context, importID int64, state string) error {
	if _, err := d.writer().ExecContext(ctx, `UPDATE user_imports SET state = $1, updated_at = $2 WHERE id = $3`,
		state, toNanos(d.timestamp()), importID); err != nil {
		return fmt.Errorf("sqlstore: end import: %w", err)
	}
	return nil
}

// RunningImports returns the running imports whose last chunk committed
// before staleBefore (all of them when it is zero), oldest first.
func (d *DB) RunningImports(ctx context.Context, staleBefore time.Time) ([]lanyard.UserImport, error) {
	limit := int64(1<<62 - 1)
	if !staleBefore.IsZero() {
		limit = toNanos(staleBefore)
	}
	rows, err := d.reader().QueryContext(ctx,
		`SELECT id, tenant_id, actor, state, rows_total, rows_done, started_at, updated_at FROM user_imports
		WHERE state = $1 AND updated_at < $2 ORDER BY id`, lanyard.ImportRunning, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: running imports: %w", err)
	}
	defer rows.Close()
	var out []lanyard.UserImport
	for rows.Next() {
		var im lanyard.UserImport
		var started, updated int64
		if err := rows.Scan(&im.ID, &im.TenantID, &im.Actor, &im.State, &im.RowsTotal, &im.RowsDone, &started, &updated); err != nil {
			return nil, fmt.Errorf("sqlstore: running imports: %w", err)
		}
		im.StartedAt, im.UpdatedAt = fromNanos(started), fromNanos(updated)
		out = append(out, im)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: running imports: %w", err)
	}
	return out, nil
}

// LastImportUndo returns up to limit undo entries, highest Seq first.
func (d *DB) LastImportUndo(ctx context.Context, importID int64, limit int) ([]lanyard.ImportUndo, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT seq, user_id, before FROM user_import_undo WHERE import_id = $1 ORDER BY seq DESC LIMIT $2`, importID, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: import undo: %w", err)
	}
	defer rows.Close()
	var out []lanyard.ImportUndo
	for rows.Next() {
		var u lanyard.ImportUndo
		var before string
		if err := rows.Scan(&u.Seq, &u.UserID, &before); err != nil {
			return nil, fmt.Errorf("sqlstore: import undo: %w", err)
		}
		if before != "" {
			u.Before = new(lanyard.User)
			if err := json.Unmarshal([]byte(before), u.Before); err != nil {
				return nil, fmt.Errorf("sqlstore: import undo of user %d: %w", u.UserID, err)
			}
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: import undo: %w", err)
	}
	return out, nil
}

// DeleteImportUndo deletes the undo entries with Seq >= fromSeq.
func (d *DB) DeleteImportUndo(ctx context.Context, importID, fromSeq int64) error {
	_, err := d.deleteCount(ctx, "delete import undo", `DELETE FROM user_import_undo WHERE import_id = $1 AND seq >= $2`, importID, fromSeq)
	return err
}
