package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// errTransient stands for a serialization failure or a busy database.
var errTransient = errors.New("transient failure")

// openRetrying opens a store on SQLite whose dialect also classifies
// errTransient as retryable.
func openRetrying(t *testing.T) *sqlstore.DB {
	t.Helper()
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "db")+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	pool.SetMaxOpenConns(1)
	d := sqlite.Dialect
	d.Classify = func(err error) sqlstore.ErrorClass {
		if errors.Is(err, errTransient) {
			return sqlstore.ErrorRetry
		}
		return sqlite.Dialect.Classify(err)
	}
	db := sqlstore.New(d, sqlstore.Pools{Read: pool})
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestAtomicRetries(t *testing.T) {
	ctx := context.Background()
	db := openRetrying(t)
	attempts := 0
	err := db.Atomic(ctx, func(tx lanyard.Store) error {
		attempts++
		tn := lanyard.Tenant{Slug: "retried"}
		if err := tx.CreateTenant(ctx, &tn); err != nil {
			return err
		}
		if attempts < 3 {
			return errTransient
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Atomic: %v", err)
	}
	if attempts != 3 {
		t.Fatalf("fn ran %d times, want 3", attempts)
	}
	tenants, err := db.Tenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(tenants) != 1 {
		t.Fatalf("%d tenants after two failed attempts and a good one, want 1", len(tenants))
	}
}

func TestAtomicGivesUp(t *testing.T) {
	ctx := context.Background()
	db := openRetrying(t)
	attempts := 0
	err := db.Atomic(ctx, func(tx lanyard.Store) error { attempts++; return errTransient })
	if !errors.Is(err, errTransient) {
		t.Fatalf("Atomic: got %v, want the transient error", err)
	}
	if attempts < 2 || attempts > 10 {
		t.Fatalf("fn ran %d times: want a few retries, bounded", attempts)
	}
	// Other errors are not retried, and nested calls do not retry on their own.
	attempts = 0
	boom := errors.New("boom")
	err = db.Atomic(ctx, func(tx lanyard.Store) error {
		return tx.Atomic(ctx, func(lanyard.Store) error { attempts++; return boom })
	})
	if !errors.Is(err, boom) || attempts != 1 {
		t.Fatalf("Atomic with a plain error: %v after %d attempts, want boom after 1", err, attempts)
	}
}
