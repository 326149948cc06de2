package sqlstore

import "context"

// RawPrivateKeys returns the private key columns as the database holds
// them, for tests that check what a copy of the database gives away.
func (d *DB) RawPrivateKeys(ctx context.Context) ([][]byte, error) {
	var out [][]byte
	for _, q := range []string{`SELECT private_key_pem FROM sp_keys ORDER BY id`, `SELECT private_key FROM signing_keys ORDER BY kid`} {
		rows, err := d.reader().QueryContext(ctx, q)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var v []byte
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SwapSealedKey copies the sealed signing key over the SP key's private
// key, as an attacker with write access to the database might.
func (d *DB) SwapSealedKey(ctx context.Context, spKeyID int64, kid string) error {
	var v []byte
	if err := d.reader().QueryRowContext(ctx, `SELECT private_key FROM signing_keys WHERE kid = $1`, kid).Scan(&v); err != nil {
		return err
	}
	_, err := d.writer().ExecContext(ctx, `UPDATE sp_keys SET private_key_pem = $1 WHERE id = $2`, string(v), spKeyID)
	return err
}

// Pools returns the database's pools, for tests that write rows of an
// older schema version.
func (d *DB) Pools() Pools { return d.pools }

// QueuedTransactions returns how many transactions wait for the write
// token, for tests that line transactions up behind a held one.
func (d *DB) QueuedTransactions() int {
	d.queue.mu.Lock()
	defer d.queue.mu.Unlock()
	return len(d.queue.waiting)
}

// ExecInTransaction runs query in the transaction tx is bound to.
func ExecInTransaction(ctx context.Context, tx any, query string) error {
	_, err := tx.(*DB).tx.ExecContext(ctx, query)
	return err
}

// WriterPragma reads a pragma on the write connection.
func (d *DB) WriterPragma(ctx context.Context, name string) (string, error) {
	var v string
	err := d.pools.Write.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v)
	return v, err
}
