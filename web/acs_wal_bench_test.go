package web_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
	"github.com/lanyard-sso/lanyard/web"
)

// BenchmarkACSWALFrames reports the SQLite WAL frames (pages) a login
// writes, just in time and returning, on a store of 1,000 accounts:
// each frame is two pwrite calls and a checksum at commit. It uses only
// the server's public API, so the same file measures any revision:
//
//	go test -run '^$' -bench ACSWALFrames ./web/
//
// The frames are counted from the growth of the WAL file, restarted
// before each batch; the batch stays under the automatic checkpoint's
// 1,000 pages, and no background checkpointer runs.
func BenchmarkACSWALFrames(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "lanyard.db")
	plain, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	if err := plain.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	plain.Close()
	dsn := "file:" + path + "?_pragma=foreign_keys(1)&_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		b.Fatal(err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	db := sqlstore.New(sqlite.Dialect, sqlstore.Pools{Read: read, Write: write})
	defer db.Close()
	side, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer side.Close()

	base := &url.URL{Scheme: "http", Host: "localhost:8080"}
	svc := admin.New(db, admin.Options{BaseURL: base})
	if _, err := svc.CreateTenant(ctx, "acme", "acme", "", nil); err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.SetTenant(ctx, "acme", "acme", []string{"enabled=true", "jit=true", "idp_initiated=true"}); err != nil {
		b.Fatal(err)
	}
	idp, err := testidp.New("https://idp.acme.test", testidp.Options{})
	if err != nil {
		b.Fatal(err)
	}
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := svc.ImportIdP(ctx, "acme", "acme", admin.IdPSource{Metadata: md}); err != nil {
		b.Fatal(err)
	}
	srv := web.New(web.Config{BaseURL: base, Store: db, Admin: svc})
	srv.SetReady()
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/t/acme/saml/metadata", nil))
	m := regexp.MustCompile(`entityID="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if m == nil {
		b.Fatalf("SP metadata without entityID: %d %s", rec.Code, rec.Body.String())
	}
	post := func(user string) {
		resp, err := idp.Response(testidp.Login{
			Destination: base.String() + "/t/acme/saml/acs", Audience: m[1], NameID: user + "@acme.test",
			Attributes: [][2]string{{"uid", user}, {"mail", user + "@acme.test"}, {"givenName", "User"}, {"sn", user}},
			Now:        time.Now(), Validity: time.Hour,
		})
		if err != nil {
			b.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(url.Values{"SAMLResponse": {resp}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			b.Fatalf("login of %s: status %d\n%s", user, rec.Code, rec.Body.String())
		}
	}
	const accounts, batch = 1000, 30
	for i := range accounts {
		post(fmt.Sprintf("user%d", i))
	}
	walSize := func() int64 {
		st, err := os.Stat(path + "-wal")
		if err != nil {
			b.Fatal(err)
		}
		return st.Size()
	}
	const frameBytes = 4096 + 24 // the default page and a frame header
	next := 0                    // across runs (-count): every JIT login is of a new name
	for _, kind := range []string{"jit", "returning"} {
		b.Run(kind, func(b *testing.B) {
			var frames, logins float64
			for b.Loop() {
				if _, err := side.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
					b.Fatal(err)
				}
				before := walSize()
				for range batch {
					if kind == "jit" {
						post(fmt.Sprintf("new-%d", next))
					} else {
						post(fmt.Sprintf("user%d", next%accounts))
					}
					next++
				}
				frames += float64(walSize()-before) / frameBytes
				logins += batch
			}
			b.ReportMetric(frames/logins, "frames/login")
		})
	}
}
