package web

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// postMultipart sends a multipart form with one file.
func (e *env) postMultipart(c *http.Client, path string, fields map[string]string, fileField, fileName, content string) response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		_ = mw.WriteField(k, v)
	}
	if fileField != "" {
		fw, _ := mw.CreateFormFile(fileField, fileName)
		_, _ = fw.Write([]byte(content))
	}
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, e.http.URL+path, &buf)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return e.do(c, req)
}

// TestAdminPages walks the admin UI over HTTP: every page answers an
// administrator, every form needs the CSRF token, changes land in the
// audit log under the administrator's login.
func TestAdminPages(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.addUser("root", "correct horse battery", lanyard.RoleOperator)
	plain := e.addUser("plain", "correct horse battery")
	c := e.client()

	// Not signed in: every admin page sends to the sign-in page.
	for _, p := range []string{"/admin/tenants/default", "/admin/audit", "/admin/tokens", "/admin/tenants/default/users"} {
		if r := e.get(c, p); r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/admin/login") {
			t.Errorf("GET %s signed out: %d to %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	// A user without the admin role is refused.
	id, _, err := e.server.sessions.Open(ctx, e.tenant, plain, lanyard.SessionSSO, sessionMeta())
	if err != nil {
		t.Fatal(err)
	}
	pc := e.client()
	base, _ := url.Parse(e.http.URL)
	pc.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookieName, Value: id, Path: "/"}})
	for _, p := range []string{"/admin/tenants/default/users", "/admin/tokens", "/admin/audit"} {
		if r := e.get(pc, p); r.StatusCode != http.StatusForbidden {
			t.Errorf("non-admin GET %s: %d", p, r.StatusCode)
		}
	}

	e.mustLogin(c, "root", "correct horse battery")
	dash := e.get(c, "/admin/")
	csrf := e.csrfToken(dash)
	for _, p := range []string{"/admin/tenants/default", "/admin/tenants/default/users", "/admin/tenants/default/merge",
		"/admin/tenants/default/import", "/admin/tenants/default/traces", "/admin/audit", "/admin/tokens", "/admin/tenants/default/users/root"} {
		r := e.get(c, p)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", p, r.StatusCode, r.body)
		}
		if !strings.Contains(r.Header.Get("Content-Security-Policy"), "default-src 'self'") {
			t.Errorf("GET %s: no CSP", p)
		}
	}

	// Forms without the token change nothing.
	r := e.post(c, "/admin/tenants/default/settings", url.Values{"jit": {"true"}})
	if r.StatusCode != http.StatusForbidden {
		t.Errorf("settings without CSRF: %d", r.StatusCode)
	}
	// Settings: every problem at once, the posted values kept.
	r = e.post(c, "/admin/tenants/default/settings", url.Values{csrfField: {csrf}, "jit": {"true"}, "clock_skew": {"soon"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "clock_skew") || !strings.Contains(r.body, `value="soon"`) {
		t.Errorf("bad settings: %d\n%s", r.StatusCode, r.body)
	}
	r = e.post(c, "/admin/tenants/default/settings", url.Values{csrfField: {csrf}, "jit": {"true"}, "attr.email": {"mail"},
		"new_group": {"staff"}, "new_group_roles": {"reader;writer"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("settings: %d\n%s", r.StatusCode, r.body)
	}
	tn, _ := e.admin.Tenant(ctx, "default")
	if !tn.SSO.JIT || strings.Join(tn.SSO.GroupRoles["staff"], ";") != "reader;writer" {
		t.Errorf("settings not saved: %+v", tn.SSO)
	}
	if ev := e.auditEvents("tenant.update"); len(ev) == 0 || ev[0].Actor != "root" {
		t.Errorf("tenant.update audit: %+v", ev)
	}

	// CSV import: dry run, then import.
	csv := "login,email,firstname,lastname,status,login_method,roles\njdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,editor\njohn.doe,,John,,active,password,viewer\n"
	r = e.postMultipart(c, "/admin/tenants/default/import", map[string]string{csrfField: csrf, "dry_run": "true"}, "file", "u.csv", csv)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "Dry run: nothing was changed") || !strings.Contains(r.body, "2 to create") {
		t.Fatalf("dry run: %d\n%s", r.StatusCode, r.body)
	}
	r = e.postMultipart(c, "/admin/tenants/default/import", map[string]string{csrfField: csrf, "dry_run": "false"}, "file", "u.csv", "login,email\nx,bad\n")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "line 2") {
		t.Errorf("bad CSV: %d\n%s", r.StatusCode, r.body)
	}
	r = e.postMultipart(c, "/admin/tenants/default/import", map[string]string{csrfField: csrf, "dry_run": "false"}, "file", "u.csv", csv)
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "2 created") {
		t.Fatalf("import: %d\n%s", r.StatusCode, r.body)
	}

	// Users: filter, lock, merge with preview, convert.
	r = e.get(c, "/admin/tenants/default/users?login_method=password&query=john")
	if !strings.Contains(r.body, "john.doe") || strings.Contains(r.body, ">jdoe@acme.com<") {
		t.Errorf("filtered list:\n%s", r.body)
	}
	r = e.post(c, "/admin/tenants/default/users/john.doe", url.Values{csrfField: {csrf}, "action": {"lock"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("lock: %d\n%s", r.StatusCode, r.body)
	}
	if u, _ := e.admin.User(ctx, "default", "john.doe"); !u.Locked {
		t.Error("not locked")
	}
	r = e.get(c, "/admin/tenants/default/merge?keep=jdoe@acme.com&remove=john.doe")
	if !strings.Contains(r.body, "all roles: editor → editor,viewer") {
		t.Errorf("merge preview:\n%s", r.body)
	}
	r = e.post(c, "/admin/tenants/default/merge", url.Values{csrfField: {csrf}, "keep": {"jdoe@acme.com"}, "remove": {"john.doe"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("merge: %d\n%s", r.StatusCode, r.body)
	}
	if ev := e.auditEvents("user.merge"); len(ev) != 1 || ev[0].Actor != "root" {
		t.Errorf("merge audit: %+v", ev)
	}
	r = e.post(c, "/admin/tenants/default/users", url.Values{csrfField: {csrf}, "login": {"ann"}, "login_method": {"password"}, "roles": {"viewer"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("add user: %d\n%s", r.StatusCode, r.body)
	}
	if ev := e.auditEvents("user.create"); len(ev) == 0 || ev[0].Actor != "root" || ev[0].Subject != "ann" {
		t.Errorf("user.create audit: %+v", ev)
	}
	r = e.post(c, "/admin/tenants/default/users/convert", url.Values{csrfField: {csrf}, "login": {"ann"}, "domain": {"acme.com"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("convert: %d\n%s", r.StatusCode, r.body)
	}
	if _, err := e.admin.User(ctx, "default", "ann@acme.com"); err != nil {
		t.Errorf("convert: %v", err)
	}
	r = e.post(c, "/admin/tenants/default/users/jdoe@acme.com", url.Values{csrfField: {csrf}, "firstname": {"Johnny"}, "roles": {"editor;admin-helper"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Fatalf("user save: %d\n%s", r.StatusCode, r.body)
	}

	// Tracer pages.
	var tr lanyard.LoginTrace
	tr, err = e.admin.RecordLoginTrace(ctx, lanyard.LoginTrace{TenantID: e.tenant.ID, Reason: "destination_mismatch", Message: "expected https://sso/acs, got http://sso/acs", Document: "<samlp:Response/>"})
	if err != nil {
		t.Fatal(err)
	}
	r = e.get(c, "/admin/tenants/default/traces")
	if !strings.Contains(r.body, "destination_mismatch") {
		t.Errorf("traces:\n%s", r.body)
	}
	r = e.get(c, "/admin/tenants/default/traces/"+jsonNumber(tr.ID))
	if !strings.Contains(r.body, "TLS-terminating proxy") || !strings.Contains(r.body, "&lt;samlp:Response/&gt;") {
		t.Errorf("trace page:\n%s", r.body)
	}

	// Test SSO connection starts an SP-initiated login returning to the test path.
	r = e.get(c, "/admin/tenants/default/sso-test")
	if loc := r.Header.Get("Location"); r.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/t/default/saml/login?return_to=%2Fadmin%2Fsso-test") {
		t.Errorf("SSO test start: %d to %q", r.StatusCode, loc)
	}

	// Tokens: create (shown once, not in a URL), revoke.
	r = e.post(c, "/admin/tokens", url.Values{csrfField: {csrf}, "name": {"ci"}, "scopes": {"read", "write"}, "expires_days": {"30"}})
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, "lyd_") {
		t.Fatalf("token create: %d\n%s", r.StatusCode, r.body)
	}
	r = e.post(c, "/admin/tokens/revoke", url.Values{csrfField: {csrf}, "token": {"ci"}})
	if r.StatusCode != http.StatusSeeOther {
		t.Errorf("token revoke: %d\n%s", r.StatusCode, r.body)
	}

	// Audit page with filters.
	r = e.get(c, "/admin/audit?tenant=default&action=user.merge")
	if !strings.Contains(r.body, "merged john.doe into jdoe@acme.com") {
		t.Errorf("audit page:\n%s", r.body)
	}
	// Export.
	r = e.get(c, "/admin/tenants/default/users/export")
	if r.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.Contains(r.body, "jdoe@acme.com,jdoe@acme.com,Johnny") {
		t.Errorf("export: %s\n%s", r.Header.Get("Content-Type"), r.body)
	}
}

// TestAdminNoticeNeedsItsMAC checks that a link cannot put a text of its
// choosing on an admin page.
func TestAdminNoticeNeedsItsMAC(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("root", "correct horse battery", lanyard.RoleOperator)
	c := e.client()
	e.mustLogin(c, "root", "correct horse battery")
	r := e.get(c, "/admin/tokens?notice=Call+0800+now&mac=forged")
	if strings.Contains(r.body, "Call 0800 now") {
		t.Error("a forged notice is shown")
	}
	csrf := e.csrfToken(r)
	r = e.post(c, "/admin/tokens/revoke", url.Values{csrfField: {csrf}, "token": {"nothing"}})
	if r.StatusCode != http.StatusNotFound {
		t.Fatalf("revoke unknown: %d", r.StatusCode)
	}
	if _, _, err := e.admin.CreateAPIToken(context.Background(), "root", "ci", []string{"read"}, 0); err != nil {
		t.Fatal(err)
	}
	r = e.post(c, "/admin/tokens/revoke", url.Values{csrfField: {csrf}, "token": {"ci"}})
	loc := r.Header.Get("Location")
	if r.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "mac=") {
		t.Fatalf("revoke: %d to %q", r.StatusCode, loc)
	}
	if page := e.get(c, loc); !strings.Contains(page.body, "Revoked API token ci.") {
		t.Errorf("the notice of a change is not shown:\n%s", page.body)
	}
}
