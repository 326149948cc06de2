package sqlstore

import "context"

// RawLDAPBindPassword returns the bind password column as the database
// holds it.
func (d *DB) RawLDAPBindPassword(ctx context.Context, tenantID int64) ([]byte, error) {
	var v []byte
	err := d.reader().QueryRowContext(ctx, `SELECT bind_password FROM ldap_directories WHERE tenant_id = $1`, tenantID).Scan(&v)
	return v, err
}
