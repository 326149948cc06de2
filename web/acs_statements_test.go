package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/internal/sqlcount"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// countedStore opens a migrated store of the engine whose every statement
// is counted at the driver, under the store.
func countedStore(t *testing.T, engine string) (*sqlstore.DB, *sqlcount.Counter) {
	t.Helper()
	ctx := context.Background()
	counter := &sqlcount.Counter{}
	var db *sqlstore.DB
	switch engine {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "lanyard.db")
		plain, err := sqlite.Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if err := plain.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		plain.Close()
		db = testdb.CountedSQLite(t, path, counter)
	case "postgres":
		dsn := testdb.PostgresURL(t)
		plain, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		if err := plain.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		plain.Close()
		db = testdb.CountedPostgres(t, dsn, counter)
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	return db, counter
}

// TestACSLoginStatements counts what a login at the ACS sends to the
// database, through the whole server with the real store of each engine.
// A just-in-time login is one transaction of one statement per row it
// writes (the replay mark, the account, its role, its link, the session,
// the audit event) and one read that looks for the account by its link
// and by its login name at once; on PostgreSQL the replay mark goes with
// that read, the account, its role and its link in one statement, the
// session and the audit event in another. A returning user's login reads
// the account once. No savepoints: the inserts that may meet a concurrent
// login's row skip it instead of failing, so a conflict needs no nested
// transaction (each cost two round trips on PostgreSQL, and a
// subtransaction).
func TestACSLoginStatements(t *testing.T) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, counter := countedStore(t, engine)
			at := newACSTenant(t, db, db, "new_user.roles=staff")
			idp, srv := at.idp, at.srv
			loginOf := func(user string) []string {
				t.Helper()
				resp, err := idp.Response(testidp.Login{
					Destination: at.acs, Audience: at.audience, NameID: user + "@acme.test",
					Attributes: [][2]string{{"uid", user}, {"mail", user + "@acme.test"}, {"givenName", "User"}, {"sn", user}},
					Now:        time.Now(), Validity: time.Hour,
				})
				if err != nil {
					t.Fatal(err)
				}
				before := counter.Counts().Statements
				req := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusSeeOther {
					t.Fatalf("login of %s: status %d\n%s", user, rec.Code, rec.Body.String())
				}
				var kinds []string
				for _, q := range counter.Log()[before:] {
					kinds = append(kinds, statementKind(q))
				}
				return kinds
			}
			for _, c := range []struct {
				user string
				want []string
			}{
				{"ada", jitStatements[engine]},
				{"ada", returningStatements[engine]},
			} {
				got := loginOf(c.user)
				if strings.Join(got, "; ") != strings.Join(c.want, "; ") {
					t.Errorf("login of %s: %d statements\n%s\nwant %d\n%s", c.user, len(got), strings.Join(got, "\n"), len(c.want), strings.Join(c.want, "\n"))
				}
			}
			u, err := db.UserByLogin(ctx, mustTenantID(t, db, "acme"), "ada")
			if err != nil || !u.HasRole("staff") {
				t.Fatalf("the JIT account: %+v, %v", u, err)
			}
		})
	}
}

// jitStatements are a JIT login's statements on each engine: on
// PostgreSQL the replay mark goes with the account's lookup (its second
// insert writes only on a replay, to fail), the account, its roles and
// its link in one statement (WITH ... INSERT), and the session and the
// audit event in another, four round trips fewer.
var jitStatements = map[string][]string{
	"sqlite":   {"BEGIN", "INSERT replay_cache", "SELECT", "INSERT users", "INSERT user_roles", "INSERT user_links", "INSERT sessions", "INSERT audit_events", "COMMIT"},
	"postgres": {"BEGIN", "WITH replay_cache+replay_cache", "WITH users+user_roles+user_links", "WITH sessions+audit_events", "COMMIT"},
}

// returningStatements are the statements of a returning user's login.
var returningStatements = map[string][]string{
	"sqlite":   {"BEGIN", "INSERT replay_cache", "SELECT", "INSERT sessions", "INSERT audit_events", "COMMIT"},
	"postgres": {"BEGIN", "WITH replay_cache+replay_cache", "WITH sessions+audit_events", "COMMIT"},
}

// statementKind names a statement by its verb and, for an insert, its table.
func statementKind(q string) string {
	f := strings.Fields(q)
	if len(f) == 0 {
		return ""
	}
	verb := strings.ToUpper(f[0])
	switch {
	case verb == "INSERT" && len(f) >= 3:
		return fmt.Sprintf("INSERT %s", f[2])
	case verb == "WITH":
		// The tables a WITH clause inserts into, in order.
		var tables []string
		for i := 0; i+2 < len(f); i++ {
			if strings.EqualFold(strings.TrimLeft(f[i], "("), "INSERT") && strings.EqualFold(f[i+1], "INTO") {
				tables = append(tables, f[i+2])
			}
		}
		return "WITH " + strings.Join(tables, "+")
	}
	return verb
}

func mustTenantID(t *testing.T, db *sqlstore.DB, slug string) int64 {
	t.Helper()
	tn, err := db.Tenant(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}
