package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/web"
)

// BenchmarkLoginSubmit posts username-first logins (POST /login) to a
// server holding 3 and then 5,000 tenants: a local account, an SSO account,
// an unknown name and an email of a claimed domain, in turn, each from its
// own client address so that the per-client throttle runs but never
// refuses. The cost must not grow with the number of tenants:
//
//	go test -run '^$' -bench 'LoginSubmit' -benchmem -count 6 ./web/
func BenchmarkLoginSubmit(b *testing.B) {
	for _, tenants := range []int{3, 5000} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			ctx := context.Background()
			db := testdb.SQLite(b)
			base := &url.URL{Scheme: "http", Host: "localhost:8080"}
			for i := range tenants {
				t := lanyard.Tenant{Slug: fmt.Sprintf("t%05d", i), DisplayName: "T", EmailDomains: []string{fmt.Sprintf("t%05d.test", i)}}
				if err := db.CreateTenant(ctx, &t); err != nil {
					b.Fatal(err)
				}
				for _, login := range []string{"pat", "sam"} {
					u := lanyard.User{TenantID: t.ID, Login: fmt.Sprintf("%s%d", login, i), Email: fmt.Sprintf("%s@t%05d.test", login, i),
						Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, WebAccess: true}
					if login == "pat" {
						u.LoginMethod = lanyard.LoginPassword
					}
					if err := db.CreateUser(ctx, &u); err != nil {
						b.Fatal(err)
					}
				}
			}
			srv := web.New(web.Config{BaseURL: base, Store: db})
			srv.SetReady()
			last := tenants - 1
			typed := []string{fmt.Sprintf("pat%d", last), fmt.Sprintf("sam%d", last), "nobody", fmt.Sprintf("new@t%05d.test", last)}
			const token = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				body := url.Values{"username": {typed[i%len(typed)]}, "csrf_token": {token}}.Encode()
				req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				req.AddCookie(&http.Cookie{Name: "lanyard_csrf", Value: token})
				req.RemoteAddr = fmt.Sprintf("10.%d.%d.%d:40000", i>>16&255, i>>8&255, i&255)
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("POST /login %q: status %d\n%s", typed[i%len(typed)], rec.Code, rec.Body.String())
				}
			}
		})
	}
}
