package apiclient

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/apiv1"
)

// received is what the test server received.
type received struct {
	method, requestURI, auth, contentType string
}

// fakeServer answers every request with status and body, and records it.
func fakeServer(t *testing.T, status int, contentType, body string, header ...string) (*httptest.Server, *received) {
	t.Helper()
	got := &received{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*got = received{r.Method, r.RequestURI, r.Header.Get("Authorization"), r.Header.Get("Content-Type")}
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(s.Close)
	return s, got
}

func TestNewRefusesABadBaseURL(t *testing.T) {
	for _, base := range []string{"", "sso.example.com", "ftp://sso.example.com", "https://", "https://sso.example.com/?x=1"} {
		if _, err := New(base, "t"); err == nil {
			t.Errorf("New(%q): no error", base)
		}
	}
}

func TestRequestShape(t *testing.T) {
	s, got := fakeServer(t, http.StatusOK, "application/json", `{"users": [{"login": "jdoe", "status": "inactive"}]}`)
	c, err := New(s.URL+"/sso/", "lyd_secret")
	if err != nil {
		t.Fatal(err)
	}
	since := time.Date(2026, 11, 1, 8, 0, 0, 0, time.FixedZone("CET", 3600))
	list, err := c.ListUsers(t.Context(), "acme corp", apiv1.UserQuery{Status: apiv1.StatusInactive, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Users) != 1 || list.Users[0].Login != "jdoe" || list.Users[0].Status != apiv1.StatusInactive {
		t.Errorf("answer decoded as %+v", list)
	}
	want := received{"GET", "/sso/api/v1/tenants/acme%20corp/users?limit=5&status=inactive", "Bearer lyd_secret", ""}
	if *got != want {
		t.Errorf("request\n got %+v\nwant %+v", *got, want)
	}

	// Zero values are left out; a time is sent in UTC.
	if _, err := c.ListAuditEvents(t.Context(), apiv1.AuditQuery{Since: since}); err != nil {
		t.Fatal(err)
	}
	if got.requestURI != "/sso/api/v1/audit?since=2026-11-01T07%3A00%3A00Z" {
		t.Errorf("audit query: %s", got.requestURI)
	}

	// A JSON body, and a path parameter with a slash kept in its segment.
	if _, err := c.PutRoute(t.Context(), "a/b", apiv1.RoutePut{Upstream: "http://127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	if got.method != "PUT" || got.requestURI != "/sso/api/v1/routes/a%2Fb" || got.contentType != "application/json" {
		t.Errorf("PUT route: %+v", *got)
	}
}

func TestNoTokenSendsNoAuthorization(t *testing.T) {
	s, got := fakeServer(t, http.StatusOK, "application/json", `{"tenants": []}`)
	c, _ := New(s.URL, "")
	if _, err := c.ListTenants(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got.auth != "" {
		t.Errorf("Authorization %q", got.auth)
	}
}

func TestEmptyPathParameterIsRefusedBeforeSending(t *testing.T) {
	s, got := fakeServer(t, http.StatusOK, "application/json", `{}`)
	c, _ := New(s.URL, "t")
	if _, err := c.GetUser(t.Context(), "acme", ""); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("error %v", err)
	}
	if got.method != "" {
		t.Errorf("a request was sent: %+v", *got)
	}
}

func TestErrorAnswers(t *testing.T) {
	for _, tc := range []struct {
		name        string
		status      int
		contentType string
		body        string
		header      []string
		want        Error
	}{
		{"API error", 403, "application/json", `{"error": {"kind": "forbidden", "message": "the token does not hold the write scope"}}`, nil,
			Error{Status: 403, Kind: apiv1.KindForbidden, Message: "the token does not hold the write scope"}},
		{"retry after", 503, "application/json", `{"error": {"kind": "unavailable", "message": "starting"}}`, []string{"Retry-After", "5"},
			Error{Status: 503, Kind: apiv1.KindUnavailable, Message: "starting", RetryAfter: 5 * time.Second}},
		{"not the API's answer", 502, "text/html", "  <h1>Bad Gateway</h1>\n", nil,
			Error{Status: 502, Message: "<h1>Bad Gateway</h1>"}},
		{"empty answer", 500, "text/plain", "", nil,
			Error{Status: 500, Message: "Internal Server Error"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := fakeServer(t, tc.status, tc.contentType, tc.body, tc.header...)
			c, _ := New(s.URL, "t")
			_, err := c.ListTenants(t.Context())
			var got *Error
			if !errors.As(err, &got) {
				t.Fatalf("error %v (%T), want an *Error", err, err)
			}
			if *got != tc.want {
				t.Errorf("error\n got %+v\nwant %+v", *got, tc.want)
			}
			if tc.want.Kind != "" && !IsKind(err, tc.want.Kind) {
				t.Errorf("IsKind(%s) is false", tc.want.Kind)
			}
		})
	}
}

func TestExportReturnsTheFile(t *testing.T) {
	const csv = "login,email\njdoe,jdoe@acme.com\n"
	s, got := fakeServer(t, http.StatusOK, "text/csv", csv)
	c, _ := New(s.URL, "t")
	b, err := c.ExportUsers(t.Context(), "acme")
	if err != nil || string(b) != csv {
		t.Fatalf("export: %q, %v", b, err)
	}
	if got.requestURI != "/api/v1/tenants/acme/users/export" {
		t.Errorf("export request: %s", got.requestURI)
	}
}
