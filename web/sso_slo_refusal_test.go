package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/sso"
)

// sloFailures lists the refused Single Logout messages recorded.
func sloFailures(t *testing.T, e *env) []lanyard.AuditEvent {
	t.Helper()
	evs, err := e.store.AuditEvents(context.Background(), lanyard.AuditFilter{Action: "sso.logout", Outcome: lanyard.OutcomeFailure, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// TestSLORefusalRecordsBounded: junk at the Single Logout endpoint, in
// every form it takes (LogoutRequest and LogoutResponse, Redirect and POST
// bindings), is recorded within the same budget as refusals at the ACS,
// and summarised beyond it; Server.Close writes the summaries still held.
func TestSLORefusalRecordsBounded(t *testing.T) {
	lim := sso.DefaultRefusalLimits
	e := newEnv(t, envOptions{})
	c := e.clientFrom("127.0.0.7")
	n := 0
	for i := 0; n < 3*lim.ClientBurst; i++ {
		junk := fmt.Sprintf("PHNhbWw%d", i)
		var status int
		switch i % 4 {
		case 0:
			status = e.get(c, "/t/default/saml/slo?"+url.Values{"SAMLRequest": {junk}}.Encode()).StatusCode
		case 1:
			status = e.get(c, "/t/default/saml/slo?"+url.Values{"SAMLResponse": {junk}}.Encode()).StatusCode
		case 2:
			status = e.post(c, "/t/default/saml/slo", url.Values{"SAMLRequest": {junk}}).StatusCode
		case 3:
			status = e.post(c, "/t/default/saml/slo", url.Values{"SAMLResponse": {junk}, "RelayState": {"x"}}).StatusCode
		}
		if status == 429 {
			t.Fatalf("refused as busy")
		}
		n++
	}
	// Interleaved refusals at the ACS share the budget.
	for range 3 {
		e.post(c, "/t/default/saml/acs", url.Values{"RelayState": {"x"}})
	}
	recorded := len(sloFailures(t, e)) + len(ssoFailures(t, e))
	if recorded != lim.ClientBurst {
		t.Fatalf("%d refusals recorded in full (SLO and ACS), want the client's budget of %d", recorded, lim.ClientBurst)
	}
	// The server stops: the summary is written now, its window still open.
	e.server.Close(context.Background())
	var sums []lanyard.AuditEvent
	for _, ev := range ssoFailures(t, e) {
		if ev.Reason == "refusals_not_recorded" {
			sums = append(sums, ev)
		}
	}
	if len(sums) != 1 || sums[0].Detail["count"] != fmt.Sprint(n+3-lim.ClientBurst) || !strings.Contains(sums[0].Detail["reasons"], "slo.") || !strings.Contains(sums[0].Detail["reasons"], "missing_response") {
		t.Fatalf("summaries at Close: %+v", sums)
	}
}
