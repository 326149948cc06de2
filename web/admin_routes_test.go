package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

func TestAdminRoutesPage(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", "correct horse battery", lanyard.RoleOperator)
	c := e.client()
	if r := e.get(c, "/admin/routes"); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
		t.Fatalf("signed out: %d to %q", r.StatusCode, r.Header.Get("Location"))
	}
	e.mustLogin(c, "root", "correct horse battery")
	page := e.get(c, "/admin/routes")
	if page.StatusCode != http.StatusOK || !strings.Contains(page.body, "No route yet.") {
		t.Fatalf("routes page: %d\n%s", page.StatusCode, page.body)
	}
	csrf := e.csrfToken(page)

	// A refused form shows every problem and keeps what was typed.
	r := e.post(c, "/admin/routes", url.Values{csrfField: {csrf}, "name": {"Bad Name"}, "upstream": {"ftp://x"}, "path_prefix": {"/"}, "tenant": {"default"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Nothing was changed") || !strings.Contains(r.body, `upstream &#34;ftp://x&#34;`) || !strings.Contains(r.body, `value="Bad Name"`) {
		t.Fatalf("invalid route: %d\n%s", r.StatusCode, r.body)
	}

	r = e.post(c, "/admin/routes", url.Values{csrfField: {csrf}, "name": {"wiki"}, "host": {"wiki.example.com"}, "path_prefix": {"/"},
		"upstream": {"http://127.0.0.1:3000"}, "tenant": {"default"}, "roles": {"staff, editors"}, "bearer_token": {"on"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("save route: %d\n%s", r.StatusCode, r.body)
	}
	page = e.get(c, r.Header.Get("Location"))
	for _, want := range []string{"Saved route wiki", "wiki.example.com /", "http://127.0.0.1:3000", "staff, editors", "bearer token"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("routes page lacks %q:\n%s", want, page.body)
		}
	}
	if !e.hasAudit("proxy_route.put", lanyard.OutcomeSuccess, "") {
		t.Error("no proxy_route.put audit event")
	}

	// Without the CSRF token nothing changes.
	if r := e.post(c, "/admin/routes/remove", url.Values{"name": {"wiki"}}); r.StatusCode == http.StatusSeeOther {
		t.Fatal("remove without a CSRF token was accepted")
	}
	r = e.post(c, "/admin/routes/remove", url.Values{csrfField: {csrf}, "name": {"wiki"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("remove route: %d\n%s", r.StatusCode, r.body)
	}
	if page := e.get(c, "/admin/routes"); !strings.Contains(page.body, "No route yet.") {
		t.Errorf("route still listed after removal:\n%s", page.body)
	}
}
