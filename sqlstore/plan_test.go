package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

// TestLoginLookupOnAFreshStore: the lookup of a login's account, prepared
// while the users table is new and small (as a new store's first logins
// prepare it), still reads one account once the tenant has thousands.
// PostgreSQL keeps a prepared statement's generic plan until the table's
// statistics change, and before the first ANALYZE it costed any index
// that starts with tenant_id level with the unique (tenant_id,
// login_lower): the lookup went through (tenant_id, source, status) and
// read every account of the tenant at each login, until autovacuum came.
// (The statistics keeper now also makes such a plan short-lived; this
// test holds the index choice itself.)
func TestLoginLookupOnAFreshStore(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, "postgres")
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
	if err := db.CreateTenant(ctx, &tenant); err != nil {
		t.Fatal(err)
	}
	conn, err := db.ReadConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const idp = "https://idp.example.com/saml"
	run := func(q string) {
		t.Helper()
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Autovacuum would refresh the statistics within its minute, and the
	// store's statistics keeper within seconds; turning autovacuum off for
	// the table holds both back (the keeper leaves such a table to the
	// DBA), so that the plan is the one the lookup alone gets.
	run(`ALTER TABLE users SET (autovacuum_enabled = off)`)
	run(`PREPARE lookup (bigint, text, text, text) AS ` + sqlstore.UserByLinkOrLoginSQL)
	lookup := func(login string) string {
		return fmt.Sprintf(`EXECUTE lookup (%d, '%s', '%s@example.com', '%s')`, tenant.ID, idp, login, login)
	}
	// Logins of new people on the small table: from the sixth, the engine
	// may keep a generic plan.
	for i := range 8 {
		run(lookup(fmt.Sprint("early", i)))
	}
	const accounts = 2000
	for i := range accounts {
		u := lanyard.User{TenantID: tenant.ID, Login: fmt.Sprintf("user%04d", i), Email: fmt.Sprintf("user%04d@example.com", i), WebAccess: true, Source: lanyard.SourceIdP}
		u.Normalize()
		if _, err := db.CreateLinkedUser(ctx, &u, lanyard.Link{TenantID: tenant.ID, IdPEntityID: idp, NameID: u.Email}); err != nil {
			t.Fatal(err)
		}
	}
	for _, login := range []string{"newcomer", "user1234"} {
		removed, node, plan, err := testdb.RowsRemoved(ctx, conn, lookup(login))
		if err != nil {
			t.Fatal(err)
		}
		if removed > 1 {
			t.Errorf("the lookup of %s read %v rows it did not want in %s, among %d accounts:\n%s", login, removed, node, accounts, plan)
		}
	}
}

// TestLookupsOfALoginManyTenantsShare: a login and an email that many
// tenants share ("admin") are found in one tenant by reading that
// tenant's row alone, with real statistics and the generic plan that a
// prepared lookup keeps. Before migration 0160, PostgreSQL went through
// (login_lower) or (email_lower), which its statistics cost as finding
// one row, and read one row per tenant.
func TestLookupsOfALoginManyTenantsShare(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, "postgres")
	const tenants = 1000
	var users []*lanyard.User
	var ids []int64
	for i := range tenants {
		tn := lanyard.Tenant{Slug: fmt.Sprintf("t%04d", i), DisplayName: "Tenant"}
		if err := db.CreateTenant(ctx, &tn); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, tn.ID)
		// Each tenant's other logins are its own, as most are: the
		// statistics then say that a login is nearly unique.
		logins := []string{"admin"}
		for j := range 20 {
			logins = append(logins, fmt.Sprintf("user%04d-%02d", i, j))
		}
		for _, login := range logins {
			u := &lanyard.User{TenantID: tn.ID, Login: login, Email: login + "@example.com", WebAccess: true, Source: lanyard.SourceIdP}
			u.Normalize()
			users = append(users, u)
		}
	}
	if err := db.CreateUsers(ctx, users); err != nil {
		t.Fatal(err)
	}
	conn, err := db.ReadConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{`ANALYZE users`, `SET plan_cache_mode = force_generic_plan`,
		`PREPARE by_link_or_login (bigint, text, text, text) AS ` + sqlstore.UserByLinkOrLoginSQL,
		`PREPARE by_email (bigint, text) AS ` + sqlstore.UsersByEmailSQL} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	tenant := ids[tenants/2]
	for _, q := range []string{
		fmt.Sprintf(`EXECUTE by_link_or_login (%d, 'https://idp.example.com/saml', 'admin@example.com', 'admin')`, tenant),
		fmt.Sprintf(`EXECUTE by_email (%d, 'admin@example.com')`, tenant),
	} {
		removed, node, plan, err := testdb.RowsRemoved(ctx, conn, q)
		if err != nil {
			t.Fatal(err)
		}
		if removed > 1 {
			t.Errorf("%s read %v rows it did not want in %s, with %d tenants sharing the login:\n%s", q, removed, node, tenants, plan)
		}
	}
}

// TestSQLiteFindsAccountsByTheirKeys: SQLite, which keeps no statistics,
// finds an account by login or by email within a tenant through an index
// on both, never by reading the tenant's accounts in some index's order.
func TestSQLiteFindsAccountsByTheirKeys(t *testing.T) {
	ctx := context.Background()
	db := openMigrated(t, "sqlite")
	conn, err := db.ReadConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	whole := regexp.MustCompile(`^(SCAN (u|users)\b|SEARCH (u|users) USING .*\(tenant_id=\?\)$)`)
	for _, c := range []struct {
		query string
		args  []any
	}{
		{sqlstore.UserByLinkOrLoginSQL, []any{1, "https://idp.example.com/saml", "admin@example.com", "admin"}},
		{sqlstore.UsersByEmailSQL, []any{1, "admin@example.com"}},
	} {
		rows, err := conn.QueryContext(ctx, `EXPLAIN QUERY PLAN `+c.query, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, step := range plan {
			if whole.MatchString(step) {
				t.Errorf("%s reads the tenant's accounts (%s):\n%s", c.query, step, strings.Join(plan, "\n"))
			}
		}
	}
}

// TestLDAPReconciliationUsesItsIndex: the list of the directory's accounts
// still finds them through the partial index that holds those alone.
func TestLDAPReconciliationUsesItsIndex(t *testing.T) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, engine)
			conn, err := db.ReadConn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var rows *sql.Rows
			if engine == "sqlite" {
				rows, err = conn.QueryContext(ctx, `EXPLAIN QUERY PLAN `+sqlstore.LDAPUserIDsSQL, 1, string(lanyard.StatusActive))
			} else {
				// An empty table is scanned whatever its indexes: forbid
				// the scan to see whether the index can serve, with a
				// generic plan as the prepared statement has.
				for _, q := range []string{`SET enable_seqscan = off`, `SET plan_cache_mode = force_generic_plan`,
					`PREPARE ldap_ids (bigint, text) AS ` + sqlstore.LDAPUserIDsSQL} {
					if _, err := conn.ExecContext(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				rows, err = conn.QueryContext(ctx, `EXPLAIN EXECUTE ldap_ids (1, 'active')`)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			var plan []string
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, fmt.Sprint(vals[len(vals)-1]))
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(plan, "\n"); !strings.Contains(got, "users_ldap_status") {
				t.Errorf("the directory's accounts are not listed through users_ldap_status:\n%s", got)
			}
		})
	}
}
