package web_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/web"
)

// errInjected is the failure faultyStore injects.
var errInjected = errors.New("injected store failure")

// faultyStore counts the writes made inside its transactions and fails the
// one numbered failAt (1-based; 0 fails none).
type faultyStore struct {
	lanyard.Store
	mu     sync.Mutex
	failAt int
	writes []string // the writes of the last transaction, in order
}

func (f *faultyStore) arm(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.writes = n, nil
}

func (f *faultyStore) written() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

// write records a write and says whether it must fail.
func (f *faultyStore) write(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, name)
	if len(f.writes) == f.failAt {
		return fmt.Errorf("%s: %w", name, errInjected)
	}
	return nil
}

func (f *faultyStore) Atomic(ctx context.Context, fn func(tx lanyard.Store) error) error {
	return f.Store.Atomic(ctx, func(tx lanyard.Store) error {
		f.mu.Lock()
		f.writes = nil // a retried transaction counts again
		f.mu.Unlock()
		return fn(&faultyTx{Store: tx, f: f})
	})
}

// faultyTx is a transaction whose login writes go through faultyStore.write.
type faultyTx struct {
	lanyard.Store
	f *faultyStore
}

func (t *faultyTx) MarkAssertionUsed(ctx context.Context, id string, expires, now time.Time) (bool, error) {
	if err := t.f.write("MarkAssertionUsed"); err != nil {
		return false, err
	}
	return t.Store.MarkAssertionUsed(ctx, id, expires, now)
}

func (t *faultyTx) TakePendingRequest(ctx context.Context, id string, now time.Time) (lanyard.PendingRequest, error) {
	if err := t.f.write("TakePendingRequest"); err != nil {
		return lanyard.PendingRequest{}, err
	}
	return t.Store.TakePendingRequest(ctx, id, now)
}

func (t *faultyTx) CreateUser(ctx context.Context, u *lanyard.User) error {
	if err := t.f.write("CreateUser"); err != nil {
		return err
	}
	return t.Store.CreateUser(ctx, u)
}

func (t *faultyTx) UpdateUser(ctx context.Context, id int64, fn func(*lanyard.User) error) (lanyard.User, error) {
	if err := t.f.write("UpdateUser"); err != nil {
		return lanyard.User{}, err
	}
	return t.Store.UpdateUser(ctx, id, fn)
}

func (t *faultyTx) LinkUser(ctx context.Context, l lanyard.Link) error {
	if err := t.f.write("LinkUser"); err != nil {
		return err
	}
	return t.Store.LinkUser(ctx, l)
}

func (t *faultyTx) CreateSession(ctx context.Context, s *lanyard.Session) error {
	if err := t.f.write("CreateSession"); err != nil {
		return err
	}
	return t.Store.CreateSession(ctx, s)
}

func (t *faultyTx) AppendAudit(ctx context.Context, e *lanyard.AuditEvent) error {
	if err := t.f.write("AppendAudit"); err != nil {
		return err
	}
	return t.Store.AppendAudit(ctx, e)
}

// A login's writes commit together: a failure at any of them leaves no
// account without its link and audit event, no session without its audit
// event, the assertion not marked used; the same response then logs in.
func TestSSOLoginIsOneTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db lanyard.Store) {
		ctx := context.Background()
		fs := &faultyStore{Store: db}
		at := newACSTenant(t, db, fs)
		tn, idp, svc, base, srv, acs := at.tenant, at.idp, at.svc, at.base, at.srv, at.acs
		post := func(body string) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			return rec
		}
		response := func(user string, now time.Time) string {
			resp, err := idp.Response(testidp.Login{
				Destination: acs, Audience: at.audience, NameID: user + "@acme.test",
				Attributes: [][2]string{{"uid", user}, {"mail", user + "@acme.test"}, {"givenName", "Ann"}, {"sn", user}},
				Now:        now, Validity: time.Hour,
			})
			if err != nil {
				t.Fatal(err)
			}
			return url.Values{"SAMLResponse": {resp}}.Encode()
		}
		// checkWhole asserts that the account of user, if any, has its link,
		// and as many sessions as successful sso.login events.
		checkWhole := func(user string, wantAccount bool, wantLogins int) {
			t.Helper()
			u, err := db.UserByLogin(ctx, tn.ID, user)
			if !wantAccount {
				if !errors.Is(err, lanyard.ErrNotFound) {
					t.Fatalf("%s: an account remains after the failed login (err %v)", user, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s: no account: %v", user, err)
			}
			if _, err := db.UserByLink(ctx, tn.ID, "https://idp.acme.test", user+"@acme.test"); err != nil {
				t.Errorf("%s: account without its link: %v", user, err)
			}
			sessions, err := db.UserSessions(ctx, u.ID, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			events, err := db.AuditEvents(ctx, lanyard.AuditFilter{TenantID: tn.ID, UserID: u.ID, Action: "sso.login", Outcome: lanyard.OutcomeSuccess})
			if err != nil {
				t.Fatal(err)
			}
			if len(sessions) != wantLogins || len(events) != wantLogins {
				t.Errorf("%s: %d sessions and %d successful login events, want %d of each", user, len(sessions), len(events), wantLogins)
			}
		}

		// A first login writes, in order, these (just-in-time account).
		fs.arm(0)
		if rec := post(response("probe", time.Now())); rec.Code != http.StatusSeeOther {
			t.Fatalf("login: %d %s", rec.Code, rec.Body.String())
		}
		steps := fs.written()
		want := []string{"MarkAssertionUsed", "CreateUser", "LinkUser", "CreateSession", "AppendAudit"}
		if strings.Join(steps, ",") != strings.Join(want, ",") {
			t.Fatalf("a first login writes %v, want %v", steps, want)
		}
		checkWhole("probe", true, 1)

		for n := 1; n <= len(want); n++ {
			t.Run(fmt.Sprintf("first login, %s fails", want[n-1]), func(t *testing.T) {
				user := fmt.Sprintf("first%d", n)
				body := response(user, time.Now())
				fs.arm(n)
				rec := post(body)
				if rec.Code != http.StatusInternalServerError {
					t.Fatalf("status %d, want 500", rec.Code)
				}
				if len(rec.Result().Cookies()) > 0 && strings.Contains(rec.Header().Get("Set-Cookie"), "session") {
					t.Errorf("a failed login set a session cookie: %s", rec.Header().Get("Set-Cookie"))
				}
				checkWhole(user, false, 0)
				// The same response logs in: the failed attempt did not use it.
				fs.arm(0)
				if rec := post(body); rec.Code != http.StatusSeeOther {
					t.Fatalf("retry: status %d, want 303\n%s", rec.Code, rec.Body.String())
				}
				checkWhole(user, true, 1)
				// And only once.
				if rec := post(body); rec.Code == http.StatusSeeOther {
					t.Fatalf("replayed response accepted")
				}
				checkWhole(user, true, 1)
			})
		}

		// An SP-initiated login also takes its pending request, in the
		// same transaction: a failed login leaves it pending.
		startLogin := func() (requestID string, cookies []*http.Cookie) {
			t.Helper()
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/acme/saml/login?return_to=/app", nil))
			loc, err := url.Parse(rec.Header().Get("Location"))
			if rec.Code != http.StatusFound || err != nil {
				t.Fatalf("start login: %d %q", rec.Code, rec.Header().Get("Location"))
			}
			raw, err := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLRequest"))
			if err != nil {
				t.Fatal(err)
			}
			xml, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			id := regexp.MustCompile(`ID="([^"]+)"`).FindSubmatch(xml)
			if id == nil {
				t.Fatalf("AuthnRequest without ID: %s", xml)
			}
			return string(id[1]), rec.Result().Cookies()
		}
		postWith := func(body string, cookies []*http.Cookie) *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for _, c := range cookies {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			return rec
		}
		spResponse := func(user, requestID string) string {
			resp, err := idp.Response(testidp.Login{
				Destination: acs, Audience: at.audience, NameID: user + "@acme.test", InResponseTo: requestID,
				Attributes: [][2]string{{"uid", user}, {"mail", user + "@acme.test"}, {"givenName", "Ann"}, {"sn", user}},
				Now:        time.Now(), Validity: time.Hour,
			})
			if err != nil {
				t.Fatal(err)
			}
			return url.Values{"SAMLResponse": {resp}}.Encode()
		}
		wantSP := []string{"TakePendingRequest", "MarkAssertionUsed", "CreateUser", "LinkUser", "CreateSession", "AppendAudit"}
		for n := 0; n <= len(wantSP); n++ {
			name := "SP-initiated first login"
			if n > 0 {
				name += ", " + wantSP[n-1] + " fails"
			}
			t.Run(name, func(t *testing.T) {
				user := fmt.Sprintf("sp%d", n)
				id, cookies := startLogin()
				body := spResponse(user, id)
				if n > 0 {
					fs.arm(n)
					if rec := postWith(body, cookies); rec.Code != http.StatusInternalServerError {
						t.Fatalf("status %d, want 500", rec.Code)
					}
					checkWhole(user, false, 0)
				}
				fs.arm(0)
				rec := postWith(body, cookies)
				if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/app" {
					t.Fatalf("login: status %d to %q, want 303 to /app\n%s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
				}
				if n == 0 && strings.Join(fs.written(), ",") != strings.Join(wantSP, ",") {
					t.Fatalf("an SP-initiated first login writes %v, want %v", fs.written(), wantSP)
				}
				checkWhole(user, true, 1)
			})
		}

		// A later login of an existing account: the last login is
		// rewritten when older than a minute, so the IdP's changed name
		// forces the account write.
		t.Run("later login", func(t *testing.T) {
			fs.arm(0)
			if rec := post(response("again", time.Now())); rec.Code != http.StatusSeeOther {
				t.Fatalf("login: %d", rec.Code)
			}
			version := 0
			changed := func() string {
				version++
				resp, err := idp.Response(testidp.Login{
					Destination: acs, Audience: at.audience, NameID: "again@acme.test",
					Attributes: [][2]string{{"uid", "again"}, {"mail", "again@acme.test"}, {"givenName", fmt.Sprintf("Name%d", version)}, {"sn", "again"}},
					Now:        time.Now(), Validity: time.Hour,
				})
				if err != nil {
					t.Fatal(err)
				}
				return url.Values{"SAMLResponse": {resp}}.Encode()
			}
			body := changed()
			fs.arm(0)
			if rec := post(body); rec.Code != http.StatusSeeOther {
				t.Fatalf("login: %d", rec.Code)
			}
			later := fs.written()
			wantLater := []string{"MarkAssertionUsed", "UpdateUser", "CreateSession", "AppendAudit"}
			if strings.Join(later, ",") != strings.Join(wantLater, ",") {
				t.Fatalf("a later login writes %v, want %v", later, wantLater)
			}
			checkWhole("again", true, 2)
			for n := 1; n <= len(wantLater); n++ {
				body := changed()
				fs.arm(n)
				if rec := post(body); rec.Code != http.StatusInternalServerError {
					t.Fatalf("%s fails: status %d, want 500", wantLater[n-1], rec.Code)
				}
				checkWhole("again", true, 2+n-1)
				fs.arm(0)
				if rec := post(body); rec.Code != http.StatusSeeOther {
					t.Fatalf("%s failed, retry: status %d", wantLater[n-1], rec.Code)
				}
				checkWhole("again", true, 2+n)
			}
		})

		// A first login refused by policy after its account was created
		// just in time, inactive: the replay mark, the account and the
		// refusal's audit event commit together. A failure at any of them
		// leaves neither the account nor its event, and the same response
		// is then refused once, recorded once.
		t.Run("refused first login", func(t *testing.T) {
			if _, _, err := svc.SetTenant(ctx, "acme", "acme", []string{"new_user.inactive=true"}); err != nil {
				t.Fatal(err)
			}
			// A new server reads the tenant's configuration anew.
			srv := web.New(web.Config{BaseURL: base, Store: fs, Admin: svc})
			srv.SetReady()
			// Each person from an address of their own: the budget of
			// refusals recorded in full is per client.
			client := ""
			post := func(body string) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.RemoteAddr = client
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				return rec
			}
			// checkRefused asserts that user has an inactive account with
			// one refusal event, or neither.
			checkRefused := func(user string, want bool) {
				t.Helper()
				events, err := db.AuditEvents(ctx, lanyard.AuditFilter{TenantID: tn.ID, Action: "sso.login", Outcome: lanyard.OutcomeFailure, Reason: "account_inactive"})
				if err != nil {
					t.Fatal(err)
				}
				var mine []lanyard.AuditEvent
				for _, e := range events {
					if e.Subject == user {
						mine = append(mine, e)
					}
				}
				u, err := db.UserByLogin(ctx, tn.ID, user)
				switch {
				case !want && (err == nil || len(mine) > 0):
					t.Fatalf("%s: after the failed login: account error %v, %d refusal events; want neither", user, err, len(mine))
				case want && err != nil:
					t.Fatalf("%s: no account: %v", user, err)
				case want && (len(mine) != 1 || mine[0].UserID != u.ID || u.Status != lanyard.StatusInactive):
					t.Fatalf("%s: account %d (%s) with %d refusal events %+v, want an inactive account with one", user, u.ID, u.Status, len(mine), mine)
				}
			}
			wantRefused := []string{"MarkAssertionUsed", "CreateUser", "AppendAudit"}
			for n := 0; n <= len(wantRefused); n++ {
				user := fmt.Sprintf("refused%d", n)
				client = fmt.Sprintf("198.51.100.%d:4000", n+1)
				body := response(user, time.Now())
				if n > 0 {
					fs.arm(n)
					if rec := post(body); rec.Code != http.StatusInternalServerError {
						t.Fatalf("%s fails: status %d, want 500\n%s", wantRefused[n-1], rec.Code, rec.Body.String())
					}
					checkRefused(user, false)
				}
				fs.arm(0)
				if rec := post(body); rec.Code != http.StatusForbidden {
					t.Fatalf("refused login: status %d, want 403\n%s", rec.Code, rec.Body.String())
				}
				if n == 0 && strings.Join(fs.written(), ",") != strings.Join(wantRefused, ",") {
					t.Fatalf("a refused first login writes %v in its transaction, want %v", fs.written(), wantRefused)
				}
				checkRefused(user, true)
				if rec := post(body); rec.Code == http.StatusSeeOther || rec.Code == http.StatusForbidden && strings.Contains(rec.Body.String(), "inactive") {
					t.Fatalf("replayed response reached the account: %d", rec.Code)
				}
				checkRefused(user, true)
			}
		})
	})
}
