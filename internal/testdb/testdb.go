// Package testdb opens real, migrated stores for tests: SQLite in a
// temporary directory, and PostgreSQL in a fresh database of the server
// that scripts/test.sh starts (LANYARD_TEST_POSTGRES_URL). Without that
// variable the PostgreSQL half skips with a clear message, or fails in CI.
package testdb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the admin connection that creates test databases

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// Engines names the engines Each runs on.
var Engines = []string{"sqlite", "postgres"}

// Each runs fn once per engine as a subtest, each with a fresh store.
func Each(t *testing.T, fn func(t *testing.T, store lanyard.Store)) {
	for _, engine := range Engines {
		t.Run(engine, func(t *testing.T) { fn(t, Open(t, engine)) })
	}
}

// Open returns a fresh migrated store of the engine, closed (and, for
// PostgreSQL, dropped) when the test ends.
func Open(tb testing.TB, engine string) lanyard.Store {
	tb.Helper()
	switch engine {
	case "sqlite":
		return SQLite(tb)
	case "postgres":
		return Postgres(tb)
	}
	tb.Fatalf("testdb: unknown engine %q", engine)
	return nil
}

// SQLite opens a migrated store in a new temporary directory.
func SQLite(tb testing.TB) lanyard.Store {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "lanyard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}

// PostgresAdminURL returns LANYARD_TEST_POSTGRES_URL, or skips the test
// (fails it in CI) when it is not set.
func PostgresAdminURL(tb testing.TB) string {
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

// PostgresURL creates a database of the test's own, dropped when the test
// ends, and returns its URL.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	admin := PostgresAdminURL(tb)
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

// Postgres opens a migrated store on a database of the test's own.
func Postgres(tb testing.TB) lanyard.Store {
	tb.Helper()
	ctx := context.Background()
	db, err := postgres.Open(ctx, PostgresURL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}
