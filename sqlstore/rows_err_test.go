package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// lostConnDriver is a database whose connection is lost under every
// query's rows: the query starts, the first row never comes.
type lostConnDriver struct{}

func (lostConnDriver) Open(string) (driver.Conn, error) { return lostConnConn{}, nil }

type lostConnConn struct{}

func (lostConnConn) Prepare(string) (driver.Stmt, error) { return lostConnStmt{}, nil }
func (lostConnConn) Close() error                        { return nil }
func (lostConnConn) Begin() (driver.Tx, error)           { return nil, errors.New("no transactions") }

type lostConnStmt struct{}

func (lostConnStmt) Close() error                               { return nil }
func (lostConnStmt) NumInput() int                              { return -1 }
func (lostConnStmt) Exec([]driver.Value) (driver.Result, error) { return nil, errors.New("no writes") }
func (lostConnStmt) Query([]driver.Value) (driver.Rows, error)  { return lostConnRows{}, nil }

type lostConnRows struct{}

func (lostConnRows) Columns() []string { return []string{"c"} }
func (lostConnRows) Close() error      { return nil }

// Next fails as a connection reset in the middle of a result does.
func (lostConnRows) Next([]driver.Value) error { return io.ErrUnexpectedEOF }

func init() { sql.Register("lanyard-lost-connection", lostConnDriver{}) }

// TestRowsErrorUnavailable: an error met while iterating over a query's
// rows (the connection lost after the query started) is marked unavailable
// like a failed query, so that the caller answers 503 with Retry-After,
// not 500; for every kind of list read.
func TestRowsErrorUnavailable(t *testing.T) {
	pool, err := sql.Open("lanyard-lost-connection", "")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	d := New(Dialect{Name: "test", Classify: func(err error) ErrorClass {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return ErrorUnavailable
		}
		return ErrorOther
	}}, Pools{Read: pool})
	ctx := context.Background()
	reads := []struct {
		name string
		read func() error
	}{
		{"Tenants", func() error { _, err := d.Tenants(ctx); return err }},
		{"AuditEvents", func() error { _, err := d.AuditEvents(ctx, lanyard.AuditFilter{TenantID: 1}); return err }},
		{"APITokens", func() error { _, err := d.APITokens(ctx); return err }},
		{"SigningKeys", func() error { _, err := d.SigningKeys(ctx, time.Now()); return err }},
		{"ProxyRoutes", func() error { _, err := d.ProxyRoutes(ctx); return err }},
		{"UserSessions", func() error { _, err := d.UserSessions(ctx, 1, time.Now()); return err }},
	}
	for _, r := range reads {
		err := r.read()
		if err == nil {
			t.Errorf("%s: no error from rows that failed", r.name)
			continue
		}
		if lanyard.ErrorKind(err) != lanyard.KindUnavailable {
			t.Errorf("%s: %v: kind %v, want unavailable", r.name, err, lanyard.ErrorKind(err))
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: %v does not wrap the driver's error", r.name, err)
		}
	}
}
