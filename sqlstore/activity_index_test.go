package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

// TestSessionActivityWritesNoIndex: recording a session's activity (the
// background write behind every session check that misses the cache)
// sets no column that an index covers, so that it rewrites the row only;
// on PostgreSQL each row is updated in place, as the engine counts it.
func TestSessionActivityWritesNoIndex(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, engine)
			indexed, err := db.IndexedSessionColumns(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(indexed, "hash") || !slices.Contains(indexed, "purge_after") {
				t.Fatalf("indexed session columns %v: the catalog query misses some", indexed)
			}
			for _, c := range sqlstore.ActivitySetColumns() {
				if slices.Contains(indexed, c) {
					t.Errorf("recording activity sets %s, which an index covers (%v)", c, indexed)
				}
			}
			if engine != "postgres" {
				return
			}
			// Enough sessions to fill pages as a busy store has them. Each
			// round records the activity of one session in 25, so that a
			// page (about 20 rows) gets at most one update a round, as the
			// random sessions of a busy store's flush do; three rounds fit
			// the room the pages keep without waiting for PostgreSQL to
			// prune the versions they leave.
			tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
			if err := db.CreateTenant(ctx, &tenant); err != nil {
				t.Fatal(err)
			}
			user := lanyard.User{TenantID: tenant.ID, Login: "ada", Email: "ada@example.com", WebAccess: true}
			user.Normalize()
			if err := db.CreateUser(ctx, &user); err != nil {
				t.Fatal(err)
			}
			now := time.Now()
			sessions := make([]*lanyard.Session, 2000)
			for i := range sessions {
				sessions[i] = &lanyard.Session{Hash: lanyard.HashSessionID(fmt.Sprint("s", i)), TenantID: tenant.ID, UserID: user.ID,
					Kind: lanyard.SessionSSO, CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsExpiresAt: now.Add(8 * time.Hour),
					ClientIP: "127.0.0.1", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"}
			}
			if err := db.CreateSessions(ctx, sessions); err != nil {
				t.Fatal(err)
			}
			const spread = 25
			for round := 1; round <= 3; round++ {
				var activity []lanyard.SessionActivity
				seen := now.Add(time.Duration(round) * time.Minute)
				for i := round % spread; i < len(sessions); i += spread {
					activity = append(activity, lanyard.SessionActivity{Hash: sessions[i].Hash, LastSeenAt: seen, IdleExpiresAt: seen.Add(time.Hour)})
				}
				updated, inPlace, err := db.RecordActivityCountingUpdates(ctx, activity)
				if err != nil {
					t.Fatal(err)
				}
				t.Logf("round %d: %d rows updated, %d in place", round, updated, inPlace)
				if updated != int64(len(activity)) || inPlace != updated {
					t.Fatalf("round %d: %d rows updated, %d of them in place; want all %d in place", round, updated, inPlace, len(activity))
				}
			}
		})
	}
}

// openMigrated opens an empty database of the engine at the latest schema.
func openMigrated(t *testing.T, engine string) *sqlstore.DB {
	t.Helper()
	return testdb.Open(t, engine).(*sqlstore.DB)
}
