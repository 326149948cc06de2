package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
	"github.com/lanyard-sso/lanyard/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lanyard.Store { return openTemp(t) })
}

// openTemp opens a migrated store in a fresh temporary directory.
func openTemp(tb testing.TB) lanyard.Store {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(tb.TempDir(), "sub", "lanyard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}
