package postgres_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
)

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	url := testdb.PostgresURL(t)
	var dbs []*sqlstore.DB
	for i := 0; i < 3; i++ {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		dbs = append(dbs, db)
	}
	// Open does not migrate.
	if _, err := dbs[0].Tenants(ctx); err == nil {
		t.Fatal("Tenants works before Migrate: Open migrated")
	}
	// Concurrent runs from three processes' worth of pools, then again.
	var wg sync.WaitGroup
	errs := make([]error, len(dbs))
	for i, db := range dbs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = db.Migrate(ctx) }()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Migrate: %v", err)
		}
	}
	if err := dbs[0].Migrate(ctx); err != nil {
		t.Fatalf("Migrate again: %v", err)
	}
	migrations, err := dbs[0].Migrations()
	if err != nil {
		t.Fatal(err)
	}
	v, err := dbs[0].SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := migrations[len(migrations)-1].Version; v != want {
		t.Fatalf("schema version %d, want %d", v, want)
	}
	if _, err := dbs[1].Tenants(ctx); err != nil {
		t.Fatalf("Tenants after Migrate: %v", err)
	}
}

func TestOpenBadURL(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://user:secret@host:notaport/db")
	if err == nil {
		t.Fatal("Open accepted a malformed URL")
	}
	if got := err.Error(); strings.Contains(got, "secret") {
		t.Fatalf("error quotes the password: %s", got)
	}
}
