package sqlstore

import (
	"context"
	"fmt"

	"github.com/lanyard-sso/lanyard"
)

// SetSPKeyNext marks a key as the next one or not. ErrNotFound.
func (d *DB) SetSPKeyNext(ctx context.Context, id int64, next bool) error {
	res, err := d.writer().ExecContext(ctx, `UPDATE sp_keys SET next = $1 WHERE id = $2`, next, id)
	if err != nil {
		return fmt.Errorf("sqlstore: set sp key %d next: %w", id, err)
	}
	if n, err := rowsAffected(res); err != nil {
		return fmt.Errorf("sqlstore: set sp key %d next: %w", id, err)
	} else if n == 0 {
		return notFound("sqlstore.SetSPKeyNext", "SP key %d not found", id)
	}
	return nil
}

// RecordMetadataFetch creates or updates the requester's row, then drops
// the tenant's requesters beyond the lanyard.MaxMetadataFetchers most
// recent.
func (d *DB) RecordMetadataFetch(ctx context.Context, f lanyard.MetadataFetch) error {
	at := f.LastAt
	if at.IsZero() {
		at = d.timestamp()
	}
	return d.inTx(ctx, func(tx *DB) error {
		if _, err := tx.writer().ExecContext(ctx,
			`INSERT INTO sp_metadata_fetches (tenant_id, requester, user_agent, first_at, last_at, fetches)
			VALUES ($1, $2, $3, $4, $4, 1)
			ON CONFLICT (tenant_id, requester) DO UPDATE SET user_agent = excluded.user_agent,
				last_at = excluded.last_at, fetches = sp_metadata_fetches.fetches + 1`,
			f.TenantID, f.Requester, f.UserAgent, toNanos(at)); err != nil {
			if d.class(err) == ErrorForeignKey {
				return invalid(err, "sqlstore.RecordMetadataFetch", "tenant %d does not exist", f.TenantID)
			}
			return fmt.Errorf("sqlstore: record metadata fetch: %w", err)
		}
		if _, err := tx.writer().ExecContext(ctx,
			`DELETE FROM sp_metadata_fetches WHERE tenant_id = $1 AND requester NOT IN (
				SELECT requester FROM sp_metadata_fetches WHERE tenant_id = $1 ORDER BY last_at DESC, requester LIMIT $2)`,
			f.TenantID, lanyard.MaxMetadataFetchers); err != nil {
			return fmt.Errorf("sqlstore: trim metadata fetches: %w", err)
		}
		return nil
	})
}

// MetadataFetches lists the requesters of a tenant's SP metadata, the most
// recent first.
func (d *DB) MetadataFetches(ctx context.Context, tenantID int64) ([]lanyard.MetadataFetch, error) {
	rows, err := d.reader().QueryContext(ctx,
		`SELECT requester, user_agent, first_at, last_at, fetches FROM sp_metadata_fetches
		WHERE tenant_id = $1 ORDER BY last_at DESC, requester`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list metadata fetches: %w", err)
	}
	defer rows.Close()
	var out []lanyard.MetadataFetch
	for rows.Next() {
		f := lanyard.MetadataFetch{TenantID: tenantID}
		var first, last int64
		if err := rows.Scan(&f.Requester, &f.UserAgent, &first, &last, &f.Count); err != nil {
			return nil, fmt.Errorf("sqlstore: list metadata fetches: %w", err)
		}
		f.FirstAt, f.LastAt = fromNanos(first), fromNanos(last)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list metadata fetches: %w", err)
	}
	return out, nil
}
