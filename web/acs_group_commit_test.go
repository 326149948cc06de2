package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
)

// Logins that reach SQLite's single writer at the same time share commits,
// and each still gets its account and session: concurrent browsers post
// to the ACS over HTTP, and /metrics shows fewer commits than transactions.
func TestConcurrentLoginsShareCommits(t *testing.T) {
	ctx := context.Background()
	db := testdb.SQLite(t)
	at := newACSTenant(t, db, db)
	ts := httptest.NewServer(at.srv)
	defer ts.Close()

	// Four: the ACS serves at most four requests of one client address at once.
	const clients, perClient = 4, 20
	bodies := make([][]string, clients)
	for c := range clients {
		for i := range perClient {
			user := fmt.Sprintf("user%d-%d", c, i)
			resp, err := at.idp.Response(testidp.Login{
				Destination: at.acs, Audience: at.audience, NameID: user + "@acme.test",
				Attributes: [][2]string{{"uid", user}, {"mail", user + "@acme.test"}, {"givenName", "User"}, {"sn", user}},
				Now:        time.Now(), Validity: time.Hour,
			})
			if err != nil {
				t.Fatal(err)
			}
			bodies[c] = append(bodies[c], url.Values{"SAMLResponse": {resp}}.Encode())
		}
	}
	before := commitMetrics(t, ts.URL)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var wg sync.WaitGroup
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, body := range bodies[c] {
				resp, err := client.Post(ts.URL+"/t/acme/saml/acs", "application/x-www-form-urlencoded", strings.NewReader(body))
				if err != nil {
					t.Errorf("login %d-%d: %v", c, i, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusSeeOther {
					t.Errorf("login %d-%d: status %d", c, i, resp.StatusCode)
				}
			}
		}()
	}
	wg.Wait()
	after := commitMetrics(t, ts.URL)
	transactions, commits := after[0]-before[0], after[1]-before[1]
	if transactions < clients*perClient {
		t.Errorf("%d transactions committed, want at least the %d logins", transactions, clients*perClient)
	}
	if commits >= transactions {
		t.Errorf("%d transactions in %d commits: concurrent logins shared none", transactions, commits)
	}
	t.Logf("%d transactions in %d commits", transactions, commits)

	n, err := db.CountUsers(ctx, lanyard.UserFilter{TenantID: at.tenant.ID})
	if err != nil || n != clients*perClient {
		t.Errorf("%d accounts (%v), want %d", n, err, clients*perClient)
	}
	for c := range clients {
		u, err := db.UserByLogin(ctx, at.tenant.ID, fmt.Sprintf("user%d-%d", c, perClient-1))
		if err != nil {
			t.Fatalf("the last account of client %d: %v", c, err)
		}
		sessions, err := db.UserSessions(ctx, u.ID, time.Now())
		if err != nil || len(sessions) != 1 {
			t.Errorf("sessions of %s: %d (%v), want 1", u.Login, len(sessions), err)
		}
	}
}

var commitMetricLine = regexp.MustCompile(`(?m)^lanyard_store_(transactions|commits)_total (\d+)$`)

// commitMetrics reads the store's transactions and commits from /metrics.
func commitMetrics(t *testing.T, base string) [2]int {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var out [2]int
	found := 0
	for _, m := range commitMetricLine.FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.Atoi(m[2])
		if m[1] == "transactions" {
			out[0] = v
		} else {
			out[1] = v
		}
		found++
	}
	if found != 2 {
		t.Fatalf("/metrics: %d of the store's commit counters\n%s", found, body)
	}
	return out
}
