package web_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/base64"
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
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/web"
)

var (
	artifactResolveID = regexp.MustCompile(`<samlp:ArtifactResolve [^>]*\bID="([^"]+)"`)
	artifactValue     = regexp.MustCompile(`<samlp:Artifact>([^<]+)</samlp:Artifact>`)
)

// An SP-initiated login through the HTTP-Artifact binding makes its writes
// in one transaction, as HTTP-POST does: the pending request taken and the
// assertion marked used (after the artifact is resolved, before the
// transaction), the account, its link, the session and the audit event. A
// failure at any of them leaves the request pending and the assertion
// unused: the IdP's answer through a new artifact then logs in.
func TestSSOArtifactLoginIsOneTransaction(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db lanyard.Store) {
		ctx := context.Background()
		fs := &faultyStore{Store: db}
		base := &url.URL{Scheme: "http", Host: "localhost:8080"}
		svc := admin.New(db, admin.Options{BaseURL: base})
		tn, err := svc.CreateTenant(ctx, "acme", "acme", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.SetTenant(ctx, "acme", "acme", []string{"enabled=true", "jit=true", "artifact_binding=true"}); err != nil {
			t.Fatal(err)
		}
		idp, err := testidp.New("https://idp.acme.test", testidp.Options{})
		if err != nil {
			t.Fatal(err)
		}
		idp.SSOURL = "https://idp.acme.test/sso"

		// The IdP's ArtifactResolutionService answers each artifact with
		// the login registered for it.
		var mu sync.Mutex
		answers := map[string]testidp.Login{}
		ars := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			id, art := artifactResolveID.FindSubmatch(body), artifactValue.FindSubmatch(body)
			mu.Lock()
			l, ok := answers[string(art[1])]
			mu.Unlock()
			if id == nil || art == nil || !ok {
				http.Error(w, "unknown artifact", http.StatusBadRequest)
				return
			}
			envelope, err := idp.ArtifactResponse(string(id[1]), l)
			if err != nil {
				t.Error(err)
			}
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write(envelope)
		}))
		defer ars.Close()
		md, err := idp.Metadata(testidp.MetadataOptions{ArtifactResolutionURL: ars.URL + "/ars"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := svc.ImportIdP(ctx, "acme", "acme", admin.IdPSource{Metadata: md}); err != nil {
			t.Fatal(err)
		}
		srv := web.New(web.Config{BaseURL: base, Store: fs, Admin: svc})
		srv.SetReady()
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/acme/saml/metadata", nil))
		spID := regexp.MustCompile(`entityID="([^"]+)"`).FindStringSubmatch(rec.Body.String())
		if spID == nil {
			t.Fatalf("SP metadata without entityID: %d", rec.Code)
		}
		acs := base.String() + "/t/acme/saml/acs"

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
			x, err := io.ReadAll(flate.NewReader(bytes.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(x), "HTTP-Artifact") {
				t.Fatalf("the AuthnRequest does not ask for the HTTP-Artifact binding: %s", x)
			}
			id := regexp.MustCompile(`ID="([^"]+)"`).FindSubmatch(x)
			if id == nil {
				t.Fatalf("AuthnRequest without ID: %s", x)
			}
			return string(id[1]), rec.Result().Cookies()
		}
		// answer has the IdP send the browser back with a new artifact
		// for the login of user answering requestID.
		answer := func(user, requestID string, cookies []*http.Cookie) *httptest.ResponseRecorder {
			art := idp.Artifact()
			mu.Lock()
			answers[art] = testidp.Login{
				Destination: acs, Audience: spID[1], NameID: user + "@acme.test", InResponseTo: requestID,
				Attributes: [][2]string{{"uid", user}, {"mail", user + "@acme.test"}, {"givenName", "Ann"}, {"sn", user}},
				Now:        time.Now(), Validity: time.Hour,
			}
			mu.Unlock()
			req := httptest.NewRequest(http.MethodGet, "/t/acme/saml/acs?SAMLart="+url.QueryEscape(art), nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			return rec
		}
		logins := func(user string) int {
			t.Helper()
			u, err := db.UserByLogin(ctx, tn.ID, user)
			if err != nil {
				return 0
			}
			events, err := db.AuditEvents(ctx, lanyard.AuditFilter{TenantID: tn.ID, UserID: u.ID, Action: "sso.login", Outcome: lanyard.OutcomeSuccess})
			if err != nil {
				t.Fatal(err)
			}
			return len(events)
		}

		want := []string{"TakePendingRequest", "MarkAssertionUsed", "CreateUser", "LinkUser", "CreateSession", "AppendAudit"}
		for n := 0; n <= len(want); n++ {
			name := "artifact first login"
			if n > 0 {
				name += ", " + want[n-1] + " fails"
			}
			t.Run(name, func(t *testing.T) {
				user := fmt.Sprintf("art%d", n)
				id, cookies := startLogin()
				if n > 0 {
					fs.arm(n)
					if rec := answer(user, id, cookies); rec.Code != http.StatusInternalServerError {
						t.Fatalf("status %d, want 500\n%s", rec.Code, rec.Body.String())
					}
					if got := logins(user); got != 0 {
						t.Fatalf("%d logins recorded after the failed one", got)
					}
				}
				fs.arm(0)
				rec := answer(user, id, cookies)
				if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/app" {
					t.Fatalf("login: status %d to %q, want 303 to /app\n%s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
				}
				if n == 0 && strings.Join(fs.written(), ",") != strings.Join(want, ",") {
					t.Fatalf("an artifact login writes %v in its transaction, want %v", fs.written(), want)
				}
				if got := logins(user); got != 1 {
					t.Fatalf("%d logins recorded, want 1", got)
				}
				// The request is answered: another artifact for it is refused.
				if rec := answer(user, id, cookies); rec.Code == http.StatusSeeOther {
					t.Fatal("a second answer to the same request logged in")
				}
			})
		}
	})
}
