package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// importLoginRows is how many rows TestImportDoesNotStopLogins imports;
// LANYARD_IMPORT_ROWS changes it.
const importLoginRows = 40000

// A large CSV import, run by another process on the same SQLite database
// (as `lanyard user import` does), never stops logins: a loop of real
// logins through the server's HTTP listener runs meanwhile and none fails.
// The waits are logged (median, max), not asserted: see BENCHMARKS.md.
func TestImportDoesNotStopLogins(t *testing.T) {
	rows := importLoginRows
	if v, err := strconv.Atoi(os.Getenv("LANYARD_IMPORT_ROWS")); err == nil && v > 0 {
		rows = v
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lanyard.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := newACSTenant(t, db, db)
	tn, idp := at.tenant, at.idp
	hs := httptest.NewServer(at.srv)
	defer hs.Close()
	// The logins: signed responses made beforehand, each a login of one of
	// 50 people (a first login creates the account, later ones update it).
	// Each worker pauses loginPause between logins, so that the responses
	// last the whole import (each is used once: a second use is a replay).
	const (
		maxLogins  = 5000
		loginPause = 10 * time.Millisecond
	)
	bodies := make([]string, maxLogins)
	for i := range bodies {
		user := fmt.Sprintf("sso%02d", i%50)
		resp, err := idp.Response(testidp.Login{
			Destination: at.acs, Audience: at.audience, NameID: user + "@acme.test",
			Attributes: [][2]string{{"uid", user}, {"mail", user + "@acme.test"}, {"givenName", "Name" + strconv.Itoa(i)}, {"sn", user}},
			Now:        time.Now(), Validity: time.Hour,
		})
		if err != nil {
			t.Fatal(err)
		}
		bodies[i] = url.Values{"SAMLResponse": {resp}}.Encode()
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}

	var csv strings.Builder
	csv.WriteString("login,email,firstname,lastname,roles\n")
	for i := range rows {
		fmt.Fprintf(&csv, "imported%05d@acme.com,imported%05d@acme.com,First%d,Last%d,viewer\n", i, i, i, i)
	}

	// The import runs on its own handle of the database, as another
	// process would.
	other, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	finished := make(chan struct{})
	var (
		importTook time.Duration
		importErr  error
	)
	go func() {
		defer close(finished)
		began := time.Now()
		_, importErr = admin.New(other, admin.Options{BaseURL: at.base}).ImportUsers(ctx, "cli", "acme", strings.NewReader(csv.String()), admin.ImportOptions{})
		importTook = time.Since(began)
	}()

	var (
		mu       sync.Mutex
		waits    []time.Duration
		failures []string
	)
	loop := func(worker int) {
		for i := worker; i < maxLogins; i += 2 {
			select {
			case <-finished:
				return
			default:
			}
			began := time.Now()
			time.Sleep(loginPause)
			resp, err := client.Post(hs.URL+"/t/acme/saml/acs", "application/x-www-form-urlencoded", strings.NewReader(bodies[i]))
			took := time.Since(began)
			mu.Lock()
			switch {
			case err != nil:
				failures = append(failures, err.Error())
			case resp.StatusCode != http.StatusSeeOther:
				failures = append(failures, fmt.Sprintf("login %d: status %d", i, resp.StatusCode))
			default:
				waits = append(waits, took)
			}
			mu.Unlock()
			if resp != nil {
				resp.Body.Close()
			}
		}
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); loop(w) }()
	}
	wg.Wait()
	<-finished
	if importErr != nil {
		t.Fatalf("import: %v", importErr)
	}
	n, err := db.CountUsers(ctx, lanyard.UserFilter{TenantID: tn.ID})
	if err != nil {
		t.Fatal(err)
	}
	if n < rows {
		t.Errorf("%d accounts after importing %d rows", n, rows)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d logins failed during the import, first: %s", len(failures), len(failures)+len(waits), failures[0])
	}
	slices.Sort(waits)
	if len(waits) == 0 {
		t.Fatal("no login ran during the import")
	}
	if len(waits)+len(failures) >= maxLogins {
		t.Log("the responses ran out before the import ended")
	}
	t.Logf("import of %d rows took %v; %d logins during it, %d failed: median %v, p99 %v, max %v",
		rows, importTook.Round(time.Millisecond), len(waits), len(failures), waits[len(waits)/2].Round(10*time.Microsecond),
		waits[len(waits)*99/100].Round(10*time.Microsecond), waits[len(waits)-1].Round(10*time.Microsecond))
}
