package sqlstore

import (
	"context"
	"fmt"

	"github.com/lanyard-sso/lanyard/keyseal"
)

// The purposes private keys are sealed for: a value sealed for one column
// does not open in another.
const (
	purposeSPKey      = "sp_keys.private_key_pem"
	purposeSigningKey = "signing_keys.private_key"
	purposeLDAPBind   = "ldap_directories.bind_password"
)

// SetSealer makes the store seal the private keys it writes (SP keys and
// identity signing keys) with s, and open the sealed ones it reads. Without
// it, keys are written in the clear and sealed keys cannot be read. Call it
// before the store is used.
func (d *DB) SetSealer(s *keyseal.Sealer) { d.sealer = s }

func (d *DB) seal(plain []byte, purpose string) []byte {
	if d.sealer == nil {
		return plain
	}
	return d.sealer.Seal(plain, purpose)
}

func (d *DB) sealText(plain, purpose string) string {
	return string(d.seal([]byte(plain), purpose))
}

// SealPrivateKeys checks every private key in the database and seals with
// the current secret key, in one transaction, those still in the clear
// (written before a secret key was configured) or sealed with a previous
// secret key; it returns how many it sealed. A sealed key that the
// configured secret key cannot open (or any sealed key, when none is
// configured) is an error that says so, so that serve refuses to start
// rather than fail logins later.
func (d *DB) SealPrivateKeys(ctx context.Context) (int, error) {
	sealed := 0
	err := d.inTx(ctx, func(tx *DB) error {
		sealed = 0 // the transaction may be run again
		for _, c := range []struct{ table, idColumn, keyColumn, purpose string }{
			{"sp_keys", "id", "private_key_pem", purposeSPKey},
			{"signing_keys", "kid", "private_key", purposeSigningKey},
			{"ldap_directories", "tenant_id", "bind_password", purposeLDAPBind},
		} {
			n, err := tx.sealColumn(ctx, c.table, c.idColumn, c.keyColumn, c.purpose)
			if err != nil {
				return err
			}
			sealed += n
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sqlstore: private keys: %w", err)
	}
	return sealed, nil
}

// sealColumn does SealPrivateKeys for one table.
func (d *DB) sealColumn(ctx context.Context, table, idColumn, keyColumn, purpose string) (int, error) {
	type keyToSeal struct {
		id    any
		plain []byte
	}
	var toSeal []keyToSeal
	rows, err := d.writer().QueryContext(ctx, `SELECT `+idColumn+`, `+keyColumn+` FROM `+table)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	for rows.Next() {
		var id any
		var stored []byte
		if err := rows.Scan(&id, &stored); err != nil {
			return 0, fmt.Errorf("read %s: %w", table, err)
		}
		if d.sealer.IsCurrent(stored) {
			if _, err := d.sealer.Open(stored, purpose); err != nil {
				return 0, fmt.Errorf("%s %v: %w", table, id, err)
			}
			continue
		}
		// In the clear, or sealed with a previous secret key (or with one
		// this node does not have: Open says so).
		plain, err := d.sealer.Open(stored, purpose)
		if err != nil {
			return 0, fmt.Errorf("%s %v: %w", table, id, err)
		}
		if d.sealer != nil {
			toSeal = append(toSeal, keyToSeal{id, plain})
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", table, err)
	}
	rows.Close()
	for _, k := range toSeal {
		if _, err := d.writer().ExecContext(ctx, `UPDATE `+table+` SET `+keyColumn+` = $1 WHERE `+idColumn+` = $2`, d.sealAs(k.plain, purpose, keyColumn == "private_key_pem"), k.id); err != nil {
			return 0, fmt.Errorf("seal %s %v: %w", table, k.id, err)
		}
	}
	return len(toSeal), nil
}

// sealAs seals plain for a TEXT column (asText) or a binary one.
func (d *DB) sealAs(plain []byte, purpose string, asText bool) any {
	if asText {
		return d.sealText(string(plain), purpose)
	}
	return d.seal(plain, purpose)
}
