package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// ActivitySetColumns returns the columns that RecordSessionActivity's
// statement sets.
func ActivitySetColumns() []string {
	set := strings.TrimPrefix(activitySet, "UPDATE sessions SET ")
	var cols []string
	for _, assignment := range strings.Split(set, ",") {
		name, _, _ := strings.Cut(assignment, "=")
		cols = append(cols, strings.TrimSpace(name))
	}
	return cols
}

// IndexedSessionColumns returns the columns of the sessions table that
// some index covers, as the engine's catalog tells.
func (d *DB) IndexedSessionColumns(ctx context.Context) ([]string, error) {
	query := `SELECT DISTINCT c.name FROM pragma_index_list('sessions') AS l, pragma_index_info(l.name) AS c`
	if d.dialect.Name == "postgres" {
		query = `SELECT DISTINCT a.attname FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			WHERE i.indrelid = 'sessions'::regclass`
	}
	rows, err := d.reader().QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// RecordActivityCountingUpdates records the activity in a transaction of
// its own and returns PostgreSQL's count, for that transaction, of the
// sessions rows it updated and of those it updated in place (heap-only:
// no index entry written).
func (d *DB) RecordActivityCountingUpdates(ctx context.Context, activity []lanyard.SessionActivity) (updated, inPlace int64, err error) {
	if d.dialect.Name != "postgres" {
		return 0, 0, fmt.Errorf("heap-only updates are PostgreSQL's")
	}
	// The view also holds the backend's counts not yet reported from its
	// earlier transactions: the difference is this transaction's.
	const counts = `SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'sessions'`
	err = d.inTx(ctx, func(tx *DB) error {
		var updatedBefore, inPlaceBefore int64
		if err := tx.writer().QueryRowContext(ctx, counts).Scan(&updatedBefore, &inPlaceBefore); err != nil {
			return err
		}
		if err := tx.RecordSessionActivity(ctx, activity); err != nil {
			return err
		}
		if err := tx.writer().QueryRowContext(ctx, counts).Scan(&updated, &inPlace); err != nil {
			return err
		}
		updated, inPlace = updated-updatedBefore, inPlace-inPlaceBefore
		return nil
	})
	return updated, inPlace, err
}
