package postgres

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lanyard-sso/lanyard/sqlstore"
)

// TestClassifyUnavailable: the errors of a database that cannot serve
// (stopped, unreachable, full, failing) are ErrorUnavailable, wrapped or
// not; the store's own classes stay as they were.
func TestClassifyUnavailable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	cases := []struct {
		name string
		err  error
		want sqlstore.ErrorClass
	}{
		{"admin shutdown 57P01", &pgconn.PgError{Code: "57P01"}, sqlstore.ErrorUnavailable},
		{"crash shutdown 57P02", &pgconn.PgError{Code: "57P02"}, sqlstore.ErrorUnavailable},
		{"cannot connect now 57P03", &pgconn.PgError{Code: "57P03"}, sqlstore.ErrorUnavailable},
		{"connection failure 08006", &pgconn.PgError{Code: "08006"}, sqlstore.ErrorUnavailable},
		{"connection does not exist 08003", &pgconn.PgError{Code: "08003"}, sqlstore.ErrorUnavailable},
		{"disk full 53100", &pgconn.PgError{Code: "53100"}, sqlstore.ErrorUnavailable},
		{"too many connections 53300", &pgconn.PgError{Code: "53300"}, sqlstore.ErrorUnavailable},
		{"I/O error 58030", &pgconn.PgError{Code: "58030"}, sqlstore.ErrorUnavailable},
		{"connection refused", refused, sqlstore.ErrorUnavailable},
		{"connection refused, wrapped", fmt.Errorf("sqlstore: get user: %w", refused), sqlstore.ErrorUnavailable},
		{"ECONNRESET", fmt.Errorf("read: %w", syscall.ECONNRESET), sqlstore.ErrorUnavailable},
		{"bad connection", driver.ErrBadConn, sqlstore.ErrorUnavailable},
		{"unexpected EOF", fmt.Errorf("receive: %w", io.ErrUnexpectedEOF), sqlstore.ErrorUnavailable},
		{"57P01, wrapped twice", fmt.Errorf("a: %w", fmt.Errorf("b: %w", &pgconn.PgError{Code: "57P01"})), sqlstore.ErrorUnavailable},
		{"unique violation", &pgconn.PgError{Code: "23505"}, sqlstore.ErrorUnique},
		{"foreign key violation", &pgconn.PgError{Code: "23503"}, sqlstore.ErrorForeignKey},
		{"serialization failure", &pgconn.PgError{Code: "40001"}, sqlstore.ErrorRetry},
		{"deadlock", &pgconn.PgError{Code: "40P01"}, sqlstore.ErrorRetry},
		{"syntax error", &pgconn.PgError{Code: "42601"}, sqlstore.ErrorOther},
		{"check violation", &pgconn.PgError{Code: "23514"}, sqlstore.ErrorOther},
		{"plain error", errors.New("something else"), sqlstore.ErrorOther},
	}
	for _, c := range cases {
		if got := classify(c.err); got != c.want {
			t.Errorf("%s: class %d, want %d", c.name, got, c.want)
		}
	}
}
