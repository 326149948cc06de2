package postgres_test

import (
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/storetest"
)

// TestStore runs on the server of LANYARD_TEST_POSTGRES_URL (scripts/pg.sh),
// each test in a database of its own.
func TestStore(t *testing.T) {
	testdb.PostgresAdminURL(t) // skip (or fail on CI) once, not in every subtest
	storetest.Run(t, func(t *testing.T) lanyard.Store { return testdb.Postgres(t) })
}
