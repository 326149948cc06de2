package janitor_test

import (
	"context"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/janitor"
	"github.com/lanyard-sso/lanyard/session"
)

// TestJanitorPurgesExpiredRows lets a janitor run on its own, with a short
// interval, and waits for the rows that have expired to go: as in
// production, nothing calls Purge by hand.
func TestJanitorPurgesExpiredRows(t *testing.T) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			db := testdb.Open(t, engine)
			clock := testdb.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
			tenant := lanyard.Tenant{Slug: "acme"}
			if err := db.CreateTenant(ctx, &tenant); err != nil {
				t.Fatal(err)
			}
			user := lanyard.User{TenantID: tenant.ID, Login: "root", LoginMethod: lanyard.LoginPassword, WebAccess: true}
			user.Normalize()
			if err := db.CreateUser(ctx, &user); err != nil {
				t.Fatal(err)
			}
			sessions := session.NewManager(db, session.Options{Now: clock.Now})
			id, _, err := sessions.Open(ctx, tenant, user, lanyard.SessionPassword, session.Meta{ClientIP: "192.0.2.1"})
			if err != nil {
				t.Fatal(err)
			}
			if err := db.RecordFailure(ctx, "ip:192.0.2.9", clock.Now()); err != nil {
				t.Fatal(err)
			}
			clock.Advance(lanyard.DefaultSessionAbsolute + time.Minute)

			runCtx, stop := context.WithCancel(ctx)
			done := make(chan error, 1)
			j := &janitor.Janitor{Store: db.(janitor.Store), Now: clock.Now, Interval: 20 * time.Millisecond}
			go func() { done <- j.Run(runCtx) }()

			deadline := time.Now().Add(10 * time.Second)
			for {
				failures, err := db.Failures(ctx, "ip:192.0.2.9", time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				left, err := db.UserSessions(ctx, user.ID, time.Time{})
				if err != nil {
					t.Fatal(err)
				}
				if failures == 0 && len(left) == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("after 10 s of a janitor running every 20 ms: %d old failures and %d expired sessions left, want none", failures, len(left))
				}
				time.Sleep(10 * time.Millisecond)
			}
			if _, err := sessions.Lookup(ctx, id); err == nil {
				t.Error("an expired session is still found")
			}

			stop()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run returned %v when stopped, want nil", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Run did not return once its context was cancelled")
			}
		})
	}
}
