package postgres_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
)

// TestStatisticsKeeperReplansLookups: a lookup prepared while the users
// table is new and nearly empty (as a new store's first logins prepare
// it) gets PostgreSQL's generic plan of that moment, here through the
// index (tenant_id, login_lower) for an account by email. Without fresh
// statistics the plan stays as the tenant grows, and reads every account
// of the tenant; the keeper, passing every 100 ms here as it passes every
// few seconds in production, analyzes the table as it doubles and
// PostgreSQL plans the lookup again.
func TestStatisticsKeeperReplansLookups(t *testing.T) {
	for _, c := range []struct {
		name  string
		every time.Duration
	}{
		{"keeper", 100 * time.Millisecond},
		{"no keeper", time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := testdb.PostgresURL(t)
			db, err := postgres.OpenWithStatisticsInterval(ctx, url, c.every)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
			if err := db.CreateTenant(ctx, &tenant); err != nil {
				t.Fatal(err)
			}
			raw, err := sql.Open("pgx", url)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			conn, err := raw.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if c.name == "no keeper" {
				// Nor autovacuum, which might pass during the test.
				if _, err := conn.ExecContext(ctx, `ALTER TABLE users SET (autovacuum_enabled = off)`); err != nil {
					t.Fatal(err)
				}
			}
			// The shape of the store's lookup of accounts by email.
			if _, err := conn.ExecContext(ctx, `PREPARE by_email (bigint, text) AS
				SELECT u.id, r.role FROM users u LEFT JOIN user_roles r ON r.user_id = u.id
				WHERE u.tenant_id = $1 AND u.email_lower = $2 ORDER BY u.login_lower, u.id`); err != nil {
				t.Fatal(err)
			}
			byEmail := func(email string) string { return fmt.Sprintf(`EXECUTE by_email (%d, '%s')`, tenant.ID, email) }
			for i := range 8 {
				if _, err := conn.ExecContext(ctx, byEmail(fmt.Sprint("early", i, "@example.com"))); err != nil {
					t.Fatal(err)
				}
			}
			const accounts = 3000
			for i := range accounts {
				u := lanyard.User{TenantID: tenant.ID, Login: fmt.Sprintf("user%04d", i), Email: fmt.Sprintf("user%04d@example.com", i), WebAccess: true, Source: lanyard.SourceIdP}
				u.Normalize()
				if _, err := db.CreateLinkedUser(ctx, &u, lanyard.Link{TenantID: tenant.ID, IdPEntityID: "https://idp.example.com", NameID: u.Email}); err != nil {
					t.Fatal(err)
				}
			}
			if c.name == "keeper" {
				// Until the keeper has analyzed the grown table.
				deadline := time.Now().Add(10 * time.Second)
				for {
					var stale bool
					if err := conn.QueryRowContext(ctx, `SELECT pg_relation_size('users') / current_setting('block_size')::bigint >= 2 * relpages + 8
						FROM pg_class WHERE oid = 'users'::regclass`).Scan(&stale); err != nil {
						t.Fatal(err)
					}
					if !stale {
						break
					}
					if time.Now().After(deadline) {
						t.Fatal("the keeper did not analyze users within 10 s")
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			removed, node, plan, err := testdb.RowsRemoved(ctx, conn, byEmail("newcomer@example.com"))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case c.name == "keeper" && removed > 1:
				t.Errorf("with the keeper, the lookup read %v rows it did not want in %s, among %d accounts:\n%s", removed, node, accounts, plan)
			case c.name == "no keeper" && removed < accounts/2:
				// What the keeper is for: PostgreSQL keeps the plan it
				// made on the empty table.
				t.Errorf("without the keeper, the lookup read only %v rows it did not want (%s); the case the keeper is for did not arise:\n%s", removed, node, plan)
			}
		})
	}
}

// TestStatisticsKeeperFailureIsLoggedOnce: a keeper that cannot reach the
// database counts each failed pass and logs when it starts failing, not at
// every pass.
func TestStatisticsKeeperFailureIsLoggedOnce(t *testing.T) {
	ctx := context.Background()
	// A loopback port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	db, err := postgres.OpenWithStatisticsInterval(ctx, "postgres://nobody@"+addr+"/none?sslmode=disable&connect_timeout=1", 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	db.SetLogger(slog.New(slog.NewTextHandler(&lockedWriter{&mu, &buf}, nil)))
	deadline := time.Now().Add(10 * time.Second)
	for db.BackgroundFailures() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d failures counted in 10 s", db.BackgroundFailures())
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "outgrew their statistics failed"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// TestStatisticsKeeperSkipsABusyTable: a table that a VACUUM or another
// ANALYZE holds is passed over, not waited for: the keeper goes on with
// the other tables, counts no failure, and analyzes the busy one once it
// is free.
func TestStatisticsKeeperSkipsABusyTable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.PostgresURL(t)
	db, err := postgres.OpenWithStatisticsInterval(ctx, url, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		buf bytes.Buffer
	)
	db.SetLogger(slog.New(slog.NewTextHandler(&lockedWriter{&mu, &buf}, nil)))
	raw, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	holder, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Rollback()
	// The lock a VACUUM or an ANALYZE takes; inserts go on beside it.
	if _, err := holder.ExecContext(ctx, `LOCK TABLE users IN SHARE UPDATE EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
	if err := db.CreateTenant(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	// users comes before user_links in the keeper's order (by creation).
	for i := range 1000 {
		u := lanyard.User{TenantID: tenant.ID, Login: fmt.Sprintf("user%04d", i), Email: fmt.Sprintf("user%04d@example.com", i), WebAccess: true, Source: lanyard.SourceIdP}
		u.Normalize()
		if _, err := db.CreateLinkedUser(ctx, &u, lanyard.Link{TenantID: tenant.ID, IdPEntityID: "https://idp.example.com", NameID: u.Email}); err != nil {
			t.Fatal(err)
		}
	}
	relpages := func(table string) int64 {
		t.Helper()
		var n int64
		if err := raw.QueryRowContext(ctx, `SELECT relpages FROM pg_class WHERE oid = $1::regclass`, table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	waitAnalyzed := func(table string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for relpages(table) == 0 {
			if time.Now().After(deadline) {
				mu.Lock()
				defer mu.Unlock()
				t.Fatalf("%s not analyzed within 10 s (users locked: %v)\n%s", table, table != "users", buf.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitAnalyzed("user_links")
	if n := relpages("users"); n != 0 {
		t.Errorf("users, locked, was analyzed (%d pages counted)", n)
	}
	if n := db.BackgroundFailures(); n != 0 {
		t.Errorf("%d failures counted for a busy table", n)
	}
	if err := holder.Commit(); err != nil {
		t.Fatal(err)
	}
	waitAnalyzed("users")
	// The keeper logs once it has read the new count back.
	logged := func(table string) bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(buf.String(), `outgrew its statistics" table=`+table+" ")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !(logged("users") && logged("user_links")) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, table := range []string{"users", "user_links"} {
		if !logged(table) {
			mu.Lock()
			t.Errorf("no log line of %s analyzed:\n%s", table, buf.String())
			mu.Unlock()
		}
	}
}
