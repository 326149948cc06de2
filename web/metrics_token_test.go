package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/web"
)

// TestMetricsToken: with a token, /metrics on the main listener answers
// only the right bearer token; without one it is public.
func TestMetricsToken(t *testing.T) {
	db := testdb.SQLite(t)
	const token = "0123456789abcdef-metrics"
	for _, tc := range []struct {
		token, auth string
		want        int
	}{
		{"", "", http.StatusOK},
		{token, "", http.StatusUnauthorized},
		{token, "Bearer nope", http.StatusUnauthorized},
		{token, "Bearer " + token[:10], http.StatusUnauthorized},
		{token, "Basic " + token, http.StatusUnauthorized},
		{token, "Bearer " + token, http.StatusOK},
	} {
		srv := web.New(web.Config{Store: db, MetricsToken: tc.token})
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != tc.want {
			t.Errorf("token %q, Authorization %q: %d, want %d", tc.token, tc.auth, rec.Code, tc.want)
		}
	}
	srv := web.New(web.Config{Store: db, MetricsElsewhere: true})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("metrics elsewhere: main handler answered %d", rec.Code)
	}
}
