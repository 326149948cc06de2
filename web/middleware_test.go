package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	for _, path := range []string{"/admin/login", "/healthz", "/no/such/page", "/static/style.css"} {
		r := e.get(c, path)
		for header, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "same-origin",
		} {
			if got := r.Header.Get(header); !strings.HasPrefix(got, want) {
				t.Errorf("GET %s: %s %q, want %q", path, header, got, want)
			}
		}
	}
	page := e.get(c, "/admin/login")
	if got := page.Header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("sign-in page Cache-Control %q, want no-store", got)
	}
	css := e.get(c, "/static/style.css")
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("GET /static/style.css: status %d, type %q", css.StatusCode, css.Header.Get("Content-Type"))
	}
	if r := e.get(c, "/static/"); r.StatusCode != http.StatusNotFound {
		t.Errorf("GET /static/: status %d, want 404 (no directory listing)", r.StatusCode)
	}
	if r := e.get(c, "/no/such/page"); r.StatusCode != http.StatusNotFound || !strings.Contains(r.body, "There is nothing at this address") {
		t.Errorf("unknown page: status %d, want the 404 page", r.StatusCode)
	}
}

func TestEveryControlHasALabel(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	c := e.client()
	pages := []response{e.get(c, "/admin/login")}
	e.mustLogin(c, "root", adminPassword)
	link, _, err := e.admin.CreatePasswordReset(context.Background(), "cli", "default", "root", 0)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	pages = append(pages, e.get(c, "/admin/"), e.get(c, "/logout"), e.get(e.client(), u.RequestURI()))
	for _, p := range pages {
		for _, input := range strings.Split(p.body, "<input")[1:] {
			if strings.Contains(input, `type="hidden"`) {
				continue
			}
			id := between(input, `id="`, `"`)
			if id == "" || !strings.Contains(p.body, `<label for="`+id+`"`) {
				t.Errorf("%s: a visible input has no label: <input%s", p.Request.URL.Path, strings.SplitN(input, ">", 2)[0])
			}
		}
		if !strings.Contains(p.body, `<html lang="en">`) {
			t.Errorf("%s: the page does not declare its language", p.Request.URL.Path)
		}
	}
}

func between(s, start, end string) string {
	_, after, ok := strings.Cut(s, start)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(after, end)
	return v
}

func TestFormBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.client()
	token := e.loginForm(c)
	r := e.post(c, "/admin/login", url.Values{csrfField: {token}, "username": {"root"}, "password": {strings.Repeat("x", maxFormBytes)}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "too large") {
		t.Errorf("oversized form: status %d, want 400 saying it is too large", r.StatusCode)
	}
}

func TestPanicRecovery(t *testing.T) {
	var logs bytes.Buffer
	s := New(Config{Store: nil, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := s.observe(s.recoverPanics(securityHeaders(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		panic("boom")
	}))))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	if rec.Code != http.StatusInternalServerError || !strings.Contains(rec.Body.String(), "Something went wrong") {
		t.Errorf("panicking handler: status %d, want the 500 page:\n%s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Error("the 500 page shows the panic value")
	}
	if !strings.Contains(logs.String(), "boom") || !strings.Contains(logs.String(), "status=500") {
		t.Errorf("the log lacks the panic or the 500:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for the server's concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestLogsHoldNoSecrets(t *testing.T) {
	e := newEnv(t, envOptions{})
	var logs syncBuffer
	e.server.logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.addUser("root", adminPassword, lanyard.RoleOperator)
	c := e.client()
	e.login(c, "root", "the wrong secret")
	resp := e.login(c, "root", adminPassword)
	sessionValue := setCookie(resp, sessionCookieName).Value
	csrf := e.csrfToken(e.get(c, "/admin/"))
	link, _, err := e.admin.CreatePasswordReset(context.Background(), "cli", "default", "root", 0)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(link)
	e.get(e.client(), u.RequestURI())

	out := logs.String()
	if !strings.Contains(out, `route="POST /admin/login"`) || !strings.Contains(out, "status=303") {
		t.Errorf("the request log lacks the route or status:\n%s", out)
	}
	for name, secret := range map[string]string{
		"wrong password": "the wrong secret",
		"password":       adminPassword,
		"session ID":     sessionValue,
		"CSRF token":     csrf,
		"reset token":    u.Query().Get("token"),
	} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds the %s", name)
		}
	}
}
