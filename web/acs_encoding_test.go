package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// TestACSResponseEncodings posts SAMLResponse values of every encoding
// the ACS may see: a login whose message is decoded once must still be
// refused with the validation's reason and message when the base64 is
// broken or the XML too large, and accepted, with what the message shows
// recorded in its audit event, when the base64 is wrapped in lines.
func TestACSResponseEncodings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := testdb.Open(t, "sqlite")
	at := newACSTenant(t, db, db)
	response := func(user string) string {
		t.Helper()
		resp, err := at.idp.Response(testidp.Login{Destination: at.acs, Audience: at.audience, NameID: user + "@acme.test",
			Attributes: [][2]string{{"uid", user}}, Now: time.Now(), Validity: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	wrap := func(s string) string {
		var b strings.Builder
		for len(s) > 76 {
			b.WriteString(s[:76] + "\r\n")
			s = s[76:]
		}
		return b.String() + s
	}
	good := response("plain")
	cases := []struct {
		name, value string
		reason      saml.Reason // "" for a login
		message     string
	}{
		{"plain", good, "", ""},
		{"wrapped in lines", wrap(response("wrapped")), "", ""},
		{"spaces", strings.ReplaceAll(wrap(response("spaced")), "\r\n", " "), "", ""},
		{"bad character", "!" + good[1:], saml.ReasonMalformed, "not valid base64"},
		{"cut short", good[:len(good)-1], saml.ReasonMalformed, "not valid base64"},
		{"url-safe alphabet", strings.NewReplacer("+", "-", "/", "_").Replace(good), saml.ReasonMalformed, "not valid base64"},
		{"XML past the bound", base64.StdEncoding.EncodeToString([]byte("<a>" + strings.Repeat("x", saml.DefaultMaxSize) + "</a>")), saml.ReasonTooLarge, ""},
		{"not XML", base64.StdEncoding.EncodeToString([]byte("hello")), saml.ReasonMalformed, ""},
	}
	var last int64 // the ID of the latest event
	for _, tc := range cases {
		req := httptest.NewRequest(http.MethodPost, "/t/acme/saml/acs", strings.NewReader(url.Values{"SAMLResponse": {tc.value}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		at.srv.ServeHTTP(rec, req)
		events, err := db.AuditEvents(ctx, lanyard.AuditFilter{TenantID: at.tenant.ID, Action: "sso.login", Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].ID <= last {
			t.Fatalf("%s: status %d, no new sso.login event: %+v", tc.name, rec.Code, events)
		}
		ev := events[0]
		last = ev.ID
		if tc.reason == "" {
			if rec.Code != http.StatusSeeOther || ev.Outcome != lanyard.OutcomeSuccess {
				t.Errorf("%s: status %d, event %s %s %q; want a login", tc.name, rec.Code, ev.Outcome, ev.Reason, ev.Message)
				continue
			}
			// What only the decoded message shows.
			if ev.Detail["signature_method"] == "" || ev.Detail["assertion_signed"] == "" || ev.Detail["clock_offset_s"] == "" {
				t.Errorf("%s: the login's event lacks the message's observations: %v", tc.name, ev.Detail)
			}
			continue
		}
		if rec.Code != http.StatusBadRequest || ev.Outcome != lanyard.OutcomeFailure || ev.Reason != string(tc.reason) ||
			!strings.Contains(fmt.Sprint(ev.Message, ev.Detail), tc.message) {
			t.Errorf("%s: status %d, event %s %s %q %v; want 400 and a failure %s mentioning %q", tc.name, rec.Code, ev.Outcome, ev.Reason,
				ev.Message, ev.Detail, tc.reason, tc.message)
		}
	}
}
