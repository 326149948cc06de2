package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// TestACSReplayRefused posts a response that signed someone in again, and
// another one many times at once, through the whole server on each
// engine. Wherever the store finds the replay (PostgreSQL makes the mark
// with the account's lookup, SQLite at once), the user is told that the
// answer was used already, the administrator's trail says replay, and
// nothing of the replayed login is kept.
func TestACSReplayRefused(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db lanyard.Store) {
		ctx := context.Background()
		at := newACSTenant(t, db, db, "new_user.roles=staff")
		response := func(user string) string {
			t.Helper()
			resp, err := at.idp.Response(testidp.Login{
				Destination: at.acs, Audience: at.audience, NameID: user + "@acme.test",
				Attributes: [][2]string{{"uid", user}, {"mail", user + "@acme.test"}, {"givenName", "User"}, {"sn", user}},
				Now:        time.Now(), Validity: time.Hour,
			})
			if err != nil {
				t.Fatal(err)
			}
			return url.Values{"SAMLResponse": {resp}}.Encode()
		}
		post := func(body, client string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RemoteAddr = client
			rec := httptest.NewRecorder()
			at.srv.ServeHTTP(rec, req)
			return rec
		}
		isReplayRefusal := func(rec *httptest.ResponseRecorder) bool {
			return rec.Code == http.StatusBadRequest && strings.Contains(rec.Body.String(), "already been used") &&
				!strings.Contains(rec.Header().Get("Set-Cookie"), "session")
		}
		// sessionsOf checks that user has one account with want sessions
		// and as many successful login events.
		sessionsOf := func(user string, want int) {
			t.Helper()
			u, err := db.UserByLogin(ctx, at.tenant.ID, user)
			if err != nil {
				t.Fatalf("%s: %v", user, err)
			}
			sessions, err := db.UserSessions(ctx, u.ID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			events, err := db.AuditEvents(ctx, lanyard.AuditFilter{TenantID: at.tenant.ID, UserID: u.ID, Action: "sso.login", Outcome: lanyard.OutcomeSuccess})
			if err != nil {
				t.Fatal(err)
			}
			if len(sessions) != want || len(events) != want {
				t.Errorf("%s: %d sessions, %d successful login events; want %d of each", user, len(sessions), len(events), want)
			}
		}

		// Posted again: the first login (just in time) and a returning one.
		for i, user := range []string{"ada", "ada"} {
			body := response(user)
			if rec := post(body, "192.0.2.1:4000"); rec.Code != http.StatusSeeOther {
				t.Fatalf("login %d: %d\n%s", i, rec.Code, rec.Body.String())
			}
			if rec := post(body, "192.0.2.1:4000"); !isReplayRefusal(rec) {
				t.Fatalf("replay %d: %d\n%s", i, rec.Code, rec.Body.String())
			}
			sessionsOf(user, i+1)
		}
		refusals, err := db.AuditEvents(ctx, lanyard.AuditFilter{TenantID: at.tenant.ID, Action: "sso.login", Outcome: lanyard.OutcomeFailure, Reason: string(saml.ReasonReplay)})
		if err != nil {
			t.Fatal(err)
		}
		if len(refusals) != 2 {
			t.Errorf("%d replay refusals in the audit trail, want 2", len(refusals))
		}

		// Posted many times at once: one login, the others refused.
		for _, user := range []string{"bob", "bob"} {
			body := response(user)
			const copies = 6
			recs := make([]*httptest.ResponseRecorder, copies)
			var wg sync.WaitGroup
			for i := range copies {
				wg.Go(func() { recs[i] = post(body, fmt.Sprintf("198.51.100.%d:4000", i+1)) })
			}
			wg.Wait()
			signedIn := 0
			for i, rec := range recs {
				switch {
				case rec.Code == http.StatusSeeOther:
					signedIn++
				case !isReplayRefusal(rec):
					t.Errorf("copy %d: %d, want 303 or the replay refusal\n%s", i, rec.Code, rec.Body.String())
				}
			}
			if signedIn != 1 {
				t.Errorf("%d of %d copies signed in, want 1", signedIn, copies)
			}
		}
		sessionsOf("bob", 2)
	})
}
