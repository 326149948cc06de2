package postgres_test

import (
	"testing"

	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/storetest"
)

// BenchmarkLogin measures the store's part of one SSO login:
//
//	eval "$(scripts/pg.sh start)"
//	go test -run '^$' -bench Login ./sqlstore/postgres/
func BenchmarkLogin(b *testing.B) {
	storetest.BenchmarkLogin(b, testdb.Postgres(b), 4)
}

// BenchmarkLoginOneTransaction is BenchmarkLogin with one commit per login.
func BenchmarkLoginOneTransaction(b *testing.B) {
	storetest.BenchmarkLoginOneTransaction(b, testdb.Postgres(b), 4)
}
