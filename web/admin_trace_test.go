package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
)

// TestSAMLTracerWithSimpleSAMLphp refuses logins from a real IdP and finds
// them in the tracer with their reason, hint, clock difference and the
// decoded message with shortened signatures; then runs "Test SSO
// connection" logins, which open no session and change no account.
func TestSAMLTracerWithSimpleSAMLphp(t *testing.T) {
	users := []simplesamlphp.User{
		idpUser("alice", "alice@example.com", "Alice", "Liddell", []string{"eng"}),
		idpUser("newbie", "newbie@example.com", "New", "Bie", nil),
		idpUser("carol", "carol@example.com", "Carol", "Inactive", nil),
	}
	e := newSSOEnv(t, "sqlite", users)
	acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true", "group_roles.eng=engineer"}})
	e.addUser("acme", lanyard.User{Login: "alice", FirstName: "Old", LoginMethod: lanyard.LoginSSO, WebAccess: true})
	e.addUser("acme", lanyard.User{Login: "carol", Status: lanyard.StatusInactive, LoginMethod: lanyard.LoginSSO, WebAccess: true})
	ctx := context.Background()

	t.Run("clock drift", func(t *testing.T) {
		b := newBrowser()
		form := e.spLogin(b, "acme", "", "alice")
		e.clock.Set(20 * time.Minute) // our clock runs ahead
		a := b.post(t, form)
		e.clock.Set(0)
		if a.status != http.StatusBadRequest || a.session != "" {
			t.Fatalf("ACS answered %d (session %q)", a.status, a.session)
		}
		traces, err := e.admin.LoginTraces(ctx, "acme", "", 1, 0)
		if err != nil || len(traces) != 1 {
			t.Fatalf("traces: %v, %v", traces, err)
		}
		tr := traces[0]
		if tr.Reason != "expired" || !strings.Contains(tr.Hint, "NTP") || tr.IdPEntityID == "" {
			t.Errorf("trace: reason %q, IdP %q, hint %q", tr.Reason, tr.IdPEntityID, tr.Hint)
		}
		// The IdP's clock is 20 minutes behind ours (less the time the
		// login took).
		if tr.ClockSkew > -19*time.Minute || tr.ClockSkew < -21*time.Minute {
			t.Errorf("clock difference %s, want about -20m", tr.ClockSkew)
		}
		if !strings.Contains(tr.Document, "SignatureValue>") || !strings.Contains(tr.Document, "more characters)") || !strings.Contains(tr.Document, "alice") {
			t.Errorf("document not decoded or not shortened:\n%s", tr.Document)
		}
	})

	t.Run("policy refusal", func(t *testing.T) {
		b := newBrowser()
		a := b.post(t, e.spLogin(b, "acme", "", "carol"))
		if a.status != http.StatusForbidden {
			t.Fatalf("ACS answered %d", a.status)
		}
		traces, _ := e.admin.LoginTraces(ctx, "acme", "account_inactive", 1, 0)
		if len(traces) != 1 || traces[0].Subject != "carol" || !strings.Contains(traces[0].Hint, "inactive") {
			t.Errorf("trace of carol: %+v", traces)
		}
	})

	t.Run("one reference everywhere", func(t *testing.T) {
		b := newBrowser()
		a := b.post(t, e.spLogin(b, "acme", "", "carol"))
		m := regexp.MustCompile(`<code id="reference">(\d+)</code>`).FindStringSubmatch(a.body)
		if a.status != http.StatusForbidden || m == nil {
			t.Fatalf("refusal page %d without a reference:\n%s", a.status, a.body)
		}
		ref, _ := strconv.ParseInt(m[1], 10, 64)
		tr, slug, err := e.admin.LoginTraceByRef(ctx, ref)
		if err != nil || slug != "acme" || tr.Subject != "carol" || tr.AuditID != ref {
			t.Fatalf("trace of reference %d: %v %q %+v", ref, err, slug, tr)
		}
		// An administrator of another tenant finds no trace by that
		// reference: it tells nothing of acme.
		other := lanyard.WithPrincipal(ctx, lanyard.Principal{UserID: 99, Login: "eve", TenantID: tr.TenantID + 1000})
		if _, _, err := e.admin.LoginTraceByRef(other, ref); lanyard.ErrorKind(err) != lanyard.KindNotFound {
			t.Errorf("reference %d for another tenant's administrator: %v, want not found", ref, err)
		}
		evs, err := e.store.AuditEvents(ctx, lanyard.AuditFilter{ID: ref})
		if err != nil || len(evs) != 1 || evs[0].Reason != "account_inactive" || evs[0].Subject != "carol" {
			t.Fatalf("audit event %d: %v %+v", ref, err, evs)
		}
		// The admin UI: the tracer by reference, the audit log by ID.
		const pw = "correct horse battery staple"
		if _, _, err := e.admin.CreateAdmin(ctx, "test", "acme", "root", pw); err != nil {
			t.Fatal(err)
		}
		admin := newBrowser()
		_, page := admin.get(t, e.base+"/admin/login")
		token := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
		if token == nil {
			t.Fatalf("no sign-in form: %s", page)
		}
		resp, err := admin.noFollow.PostForm(e.base+"/admin/login", url.Values{"username": {"root"}, "password": {pw}, "tenant": {"acme"}, csrfField: {html.UnescapeString(token[1])}})
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("admin sign-in: %v %v", err, resp)
		}
		resp.Body.Close()
		resp, err = admin.follow.Get(e.base + "/admin/traces?ref=" + m[1])
		if err != nil {
			t.Fatal(err)
		}
		body := readAll(resp)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Request.URL.Path, "/admin/tenants/acme/traces/") ||
			!strings.Contains(body, `<dd id="trace-reference">`+m[1]+" ") || !strings.Contains(body, "account_inactive") {
			t.Errorf("the tracer by reference %s: %d at %s:\n%s", m[1], resp.StatusCode, resp.Request.URL, body)
		}
		status, body := admin.get(t, e.base+"/admin/audit?id="+m[1])
		if rows := strings.Count(body, `<td class="num">`); status != http.StatusOK || rows != 1 || !strings.Contains(body, `<td class="num">`+m[1]+`</td>`) {
			t.Errorf("the audit log filtered by ID %s: %d, %d rows:\n%s", m[1], status, rows, body)
		}
	})

	t.Run("test SSO connection", func(t *testing.T) {
		for _, tc := range []struct {
			user, reason, report string
		}{
			{"alice", reasonTestAllowed, "Account: alice, the account with this login"},
			{"newbie", reasonTestAllowed, "a NEW account (just-in-time provisioning)"},
			{"carol", reasonTestRefused, "account_inactive"},
		} {
			b := newBrowser()
			e.signInAdmin(b)
			a := b.post(t, e.spLogin(b, "acme", ssoTestReturn("acme"), tc.user))
			if a.status != http.StatusSeeOther || a.session != "" || !strings.HasPrefix(a.location, "/admin/tenants/acme/traces/") {
				t.Fatalf("%s: ACS answered %d to %q (session %q)\n%s", tc.user, a.status, a.location, a.session, a.body)
			}
			traces, _ := e.admin.LoginTraces(ctx, "acme", tc.reason, 1, 0)
			if len(traces) != 1 || !strings.Contains(traces[0].Document+traces[0].Message, tc.report) {
				t.Errorf("%s: test report lacks %q: %+v", tc.user, tc.report, traces)
			}
		}
		if _, err := e.admin.User(ctx, "acme", "newbie"); lanyard.ErrorKind(err) != lanyard.KindNotFound {
			t.Errorf("the test created newbie's account: %v", err)
		}
		if u := e.user(acme, "alice"); u.FirstName != "Old" || u.HasRole("engineer") {
			t.Errorf("the test changed alice: %+v", u)
		}
	})
	t.Run("test return path crafted without an administrator session", func(t *testing.T) {
		for _, returnTo := range []string{
			ssoTestReturn("acme"), "/admin/sso-test", "/admin/sso-test?tenant=default", "/admin/sso-test?tenant=acme&x=1",
		} {
			before, _ := e.admin.LoginTraces(ctx, "acme", "", 100, 0)
			b := newBrowser()
			a := b.post(t, e.spLogin(b, "acme", returnTo, "alice"))
			if strings.HasPrefix(a.location, "/admin/tenants/acme/traces/") {
				t.Errorf("%q: an IdP user started a test trace: %d to %q", returnTo, a.status, a.location)
			}
			if a.status != http.StatusSeeOther || a.session == "" {
				t.Errorf("%q: want an ordinary sign-in, got %d to %q (session %q)", returnTo, a.status, a.location, a.session)
			}
			if after, _ := e.admin.LoginTraces(ctx, "acme", "", 100, 0); len(after) != len(before) {
				t.Errorf("%q: %d traces written", returnTo, len(after)-len(before))
			}
		}
	})
}

// TestRefusalOffersAWayOn: an inactive account reads the same neutral text
// as a missing one (the page does not tell which), and the page offers ways
// on: start again, and sign in as someone else, which makes the IdP ask for
// credentials again although its session lives (ForceAuthn).
func TestRefusalOffersAWayOn(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{
		idpUser("carol", "carol@example.com", "Carol", "Inactive", nil),
		idpUser("nobody", "nobody@example.com", "No", "Body", nil),
	})
	e.addTenant("acme", tenantOptions{})
	e.addUser("acme", lanyard.User{Login: "carol", Status: lanyard.StatusInactive, LoginMethod: lanyard.LoginSSO, WebAccess: true})
	pages := map[string]string{}
	for _, login := range []string{"carol", "nobody"} {
		b := newBrowser()
		a := b.post(t, e.spLogin(b, "acme", "", login))
		if a.status != http.StatusForbidden {
			t.Fatalf("%s: ACS answered %d", login, a.status)
		}
		for _, want := range []string{
			"User &#39;" + login + "&#39; is not synchronized with Lanyard.",
			`<a id="retry" href="/t/acme/saml/login">Start the sign-in again</a>`,
			`<a id="switch-account" href="/t/acme/saml/login?prompt=login">Sign in as someone else</a>`,
			"sign out at your identity provider",
			"ask your administrator",
		} {
			if !strings.Contains(a.body, want) {
				t.Errorf("%s: refusal page lacks %q:\n%s", login, want, a.body)
			}
		}
		pages[login] = strings.ReplaceAll(regexp.MustCompile(`<code id="reference">[^<]*</code>[^<]*`).ReplaceAllString(a.body, ""), login, "X")
		if login == "carol" {
			// The IdP session lives: a plain retry passes through the IdP
			// without a prompt; "someone else" asks for credentials.
			if f, err := e.idp.Follow(b.follow, e.base+"/t/acme/saml/login"); err != nil || f == nil {
				t.Errorf("retry with the IdP session: %v", err)
			}
			resp, err := b.follow.Get(e.base + "/t/acme/saml/login?prompt=login")
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(resp); !strings.Contains(body, `name="AuthState"`) || !strings.Contains(body, `name="password"`) {
				t.Errorf("sign in as someone else: the IdP did not ask for credentials:\n%s", body)
			}
		}
	}
	if pages["carol"] != pages["nobody"] {
		t.Errorf("the inactive account's page differs from the missing account's:\n%s\n----\n%s", pages["carol"], pages["nobody"])
	}
}
