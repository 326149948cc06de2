package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiclient"
	"github.com/lanyard-sso/lanyard/apiv1"
	"github.com/lanyard-sso/lanyard/password"
)

func TestProbesAndStartingPage(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		e := newEnv(t, envOptions{engine: opts.engine, notReady: true})
		c := e.client()

		if r := e.get(c, "/healthz"); r.StatusCode != http.StatusOK || strings.TrimSpace(r.body) != "ok" {
			t.Errorf("/healthz while starting: %d %q, want 200 ok", r.StatusCode, r.body)
		}
		r := e.get(c, "/readyz")
		if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.body, "starting") {
			t.Errorf("/readyz while starting: %d %q, want 503 starting", r.StatusCode, r.body)
		}

		for _, path := range []string{"/admin/login", "/admin/", "/admin/reset?token=x", "/login", "/logout", "/t/default/saml/metadata", "/t/default/saml/login"} {
			r := e.get(c, path)
			if r.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("GET %s while starting: status %d, want 503", path, r.StatusCode)
			}
			if got := r.Header.Get("Retry-After"); got != "5" {
				t.Errorf("GET %s while starting: Retry-After %q, want 5", path, got)
			}
			if !strings.Contains(r.body, "Lanyard is starting. Please try again in a few seconds.") {
				t.Errorf("GET %s while starting: page does not say Lanyard is starting:\n%s", path, r.body)
			}
		}
		post := e.post(c, "/admin/login", url.Values{"username": {"x"}, "password": {"y"}})
		if post.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("POST /admin/login while starting: status %d, want 503", post.StatusCode)
		}
		if setCookie(post, sessionCookieName) != nil {
			t.Error("POST /admin/login while starting set a session cookie")
		}

		e.server.SetReady()
		if r := e.get(c, "/readyz"); r.StatusCode != http.StatusOK {
			t.Errorf("/readyz when ready: %d %q, want 200", r.StatusCode, r.body)
		}
		if r := e.get(c, "/admin/login"); r.StatusCode != http.StatusOK {
			t.Errorf("/admin/login when ready: status %d, want 200", r.StatusCode)
		}
		if r := e.get(c, "/healthz"); r.StatusCode != http.StatusOK {
			t.Errorf("/healthz when ready: status %d, want 200", r.StatusCode)
		}

		// A database that stops answering makes the node unready, not dead.
		e.store.Close()
		r = e.get(c, "/readyz")
		if r.StatusCode != http.StatusServiceUnavailable || !strings.Contains(r.body, "database") {
			t.Errorf("/readyz with the database closed: %d %q, want 503 naming the database", r.StatusCode, r.body)
		}
		if r := e.get(c, "/healthz"); r.StatusCode != http.StatusOK {
			t.Errorf("/healthz with the database closed: status %d, want 200", r.StatusCode)
		}
	})
}

func TestMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	e.addUser("root", "correct horse battery", lanyard.RoleOperator)
	e.get(c, "/healthz")
	e.get(c, "/no/such/page")
	e.login(c, "root", "wrong password!")
	e.mustLogin(c, "root", "correct horse battery")

	r := e.get(c, "/metrics")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: status %d", r.StatusCode)
	}
	for _, want := range []string{
		`lanyard_http_requests_total{code="200",method="GET",route="GET /healthz"} 1`,
		`lanyard_http_requests_total{code="404",method="GET",route="/"} 1`, // the catch-all: unknown paths share one label,
		`lanyard_http_request_duration_seconds_bucket{code="303",route="POST /admin/login"`,
		`lanyard_login_attempts_total{method="admin_password",outcome="failure",reason="bad_password"} 1`,
		`lanyard_login_attempts_total{method="admin_password",outcome="success",reason="none"} 1`,
		`go_goroutines`,
		`process_`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestPlaceholderRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	if r := e.get(c, "/admin"); r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != "/admin/" {
		t.Errorf("GET /admin: %d to %q, want 301 to /admin/", r.StatusCode, r.Header.Get("Location"))
	}
	// Once placeholders, now built: username-first login and Single
	// Logout (which says what it expects when opened directly).
	if r := e.get(c, "/login"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Username or email") {
		t.Errorf("GET /login: status %d, want the username-first page", r.StatusCode)
	}
	if r := e.get(c, "/t/default/saml/slo"); r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "this request carried none") {
		t.Errorf("GET /t/default/saml/slo: status %d, want 400 saying it receives sign-out messages", r.StatusCode)
	}
	if r := e.get(c, "/admin/users"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("anonymous GET /admin/users: status %d, want 303 to the sign-in page", r.StatusCode)
	}
	if r := e.get(c, "/"); r.StatusCode != http.StatusOK || !strings.Contains(r.body, "/admin/") {
		t.Errorf("GET /: status %d, want the home page", r.StatusCode)
	}
}

func TestDummyHashCostsAVerification(t *testing.T) {
	h := makeDummyHash()
	if err := password.Verify("anything", h); !errors.Is(err, password.ErrMismatch) {
		t.Fatalf("verifying against the dummy hash: %v, want ErrMismatch (a full argon2 run)", err)
	}
	if !strings.Contains(h, fmt.Sprintf("m=%d,t=%d", password.DefaultParams.Memory, password.DefaultParams.Time)) {
		t.Errorf("dummy hash %s does not use the default parameters", h)
	}
}

// TestAPIWhileStarting: a call to the JSON API before the server is ready
// is answered in the API's format (503, kind unavailable, Retry-After),
// never with the HTML starting page, so a client reads why and when.
func TestAPIWhileStarting(t *testing.T) {
	e := newEnv(t, envOptions{notReady: true})
	c, err := apiclient.New(e.http.URL, "lyd_not-checked-before-ready")
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []struct {
		name string
		do   func() error
	}{
		{"list tenants", func() error { _, err := c.ListTenants(t.Context()); return err }},
		{"get a tenant", func() error { _, err := c.GetTenant(t.Context(), "default"); return err }},
	} {
		err := call.do()
		var apiErr *apiclient.Error
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable || apiErr.Kind != apiv1.KindUnavailable ||
			!strings.Contains(apiErr.Message, "starting") || apiErr.RetryAfter != 5*time.Second {
			t.Errorf("%s while starting: %#v (%v), want 503 unavailable saying Lanyard is starting, Retry-After 5 s", call.name, apiErr, err)
		}
	}
}
