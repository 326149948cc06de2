package login_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/login"
)

// TestLoginsInTransactionsNeedNoSecondConnection: a login resolved inside
// its transaction reads everything through it. On PostgreSQL reads and
// writes share one bounded pool: when every connection held a login's
// transaction and each login then read the tenant's directory beside it,
// all of them waited for a connection none would give back (logins hung
// until their clients gave up, at 8 clients).
func TestLoginsInTransactionsNeedNoSecondConnection(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		svc, tenant := setup(t, store, lanyard.SSOSettings{JIT: true})
		svc.Directory = store.(login.DirectoryStore)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		const logins = 24 // more than any pool's connections
		var wg sync.WaitGroup
		errs := make(chan error, logins)
		for i := range logins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs <- store.Atomic(ctx, func(tx lanyard.Store) error {
					// Hold the connection long enough that every one of
					// the pool is held before any login reads.
					time.Sleep(40 * time.Millisecond)
					_, err := svc.Resolve(ctx, tenant, assertion(fmt.Sprintf("nid-%d", i), map[string][]string{"uid": {fmt.Sprintf("u%d", i)}}), login.Options{In: tx})
					return err
				})
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("a login: %v", err)
			}
		}
	})
}
