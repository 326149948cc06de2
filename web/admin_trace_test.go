package web

import (
	"context"
	"net/http"
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
