package sqlite_test

import (
	"testing"

	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/storetest"
)

// BenchmarkLogin measures the store's part of one SSO login:
//
//	go test -run '^$' -bench Login ./sqlstore/sqlite/
func BenchmarkLogin(b *testing.B) {
	storetest.BenchmarkLogin(b, testdb.SQLite(b), 4)
}

// BenchmarkLoginOneTransaction is BenchmarkLogin with one commit per login.
func BenchmarkLoginOneTransaction(b *testing.B) {
	storetest.BenchmarkLoginOneTransaction(b, testdb.SQLite(b), 4)
}
