package sqlite_test

import (
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lanyard.Store { return testdb.SQLite(t) })
}
