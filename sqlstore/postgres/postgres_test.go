package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/storetest"
)

func TestStore(t *testing.T) {
	adminURL(t) // skip (or fail on CI) once, not in every subtest
	storetest.Run(t, func(t *testing.T) lanyard.Store { return openFresh(t) })
}

// adminURL returns LANYARD_TEST_POSTGRES_URL, or skips the test (fails it
// on CI) when it is not set.
func adminURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("LANYARD_TEST_POSTGRES_URL")
	if u == "" {
		const msg = "LANYARD_TEST_POSTGRES_URL not set: run scripts/test.sh, which starts PostgreSQL"
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return u
}

// openFresh opens a migrated store on a database of the test's own.
func openFresh(tb testing.TB) lanyard.Store {
	tb.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, freshDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

// freshDatabase creates an empty database for the test, dropped at the
// end, and returns its URL.
func freshDatabase(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	admin := adminURL(tb)
	adminDB, err := sql.Open("pgx", admin)
	if err != nil {
		tb.Fatal(err)
	}
	defer adminDB.Close()
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "lanyard_test_" + hex.EncodeToString(b[:])
	if _, err := adminDB.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create test database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		adminDB, err := sql.Open("pgx", admin)
		if err != nil {
			tb.Error(err)
			return
		}
		defer adminDB.Close()
		if _, err := adminDB.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop test database: %v", err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		tb.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
