package sqlstore

import (
	"context"
	"database/sql"
)

// The statements whose plans tests read.
const (
	UserByLinkOrLoginSQL = userByLinkOrLoginSQL
	LDAPUserIDsSQL       = ldapUserIDsSQL
	UsersByEmailSQL      = `SELECT ` + userColumns + `, r.role, r.source FROM ` + usersByEmailFrom
)

// ReadConn returns a connection of the read pool, for tests that ask the
// engine how it runs the store's statements.
func (d *DB) ReadConn(ctx context.Context) (*sql.Conn, error) { return d.pools.Read.Conn(ctx) }
