package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lanyard.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Open does not migrate.
	if _, err := db.Tenants(ctx); err == nil {
		t.Fatal("Tenants works before Migrate: Open migrated")
	}
	migrations, err := db.Migrations()
	if err != nil || len(migrations) == 0 {
		t.Fatalf("Migrations: %v, %d", err, len(migrations))
	}
	// Concurrent and repeated runs, from two handles on the same file.
	other, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, d := range []interface{ Migrate(context.Context) error }{db, other} {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = d.Migrate(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := migrations[len(migrations)-1].Version; v != want {
		t.Fatalf("schema version %d, want %d", v, want)
	}
	if _, err := db.Tenants(ctx); err != nil {
		t.Fatalf("Tenants after Migrate: %v", err)
	}
}

func TestOpenCreatesPrivateFile(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "a", "b", "lanyard.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode&0o077 != 0 {
			t.Errorf("%s has mode %v, want no access for group and others", filepath.Base(p), mode)
		}
	}
}
