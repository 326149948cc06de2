package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/web/sso"
)

// clientFrom is a browser whose connections come from the loopback address
// addr (127.0.0.0/8 is all loopback), i.e. another client of the server.
func (e *env) clientFrom(addr string) *http.Client {
	c := e.client()
	tr := c.Transport.(*http.Transport)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}}
	tr.DialContext = d.DialContext
	return c
}

var refusalRefPattern = regexp.MustCompile(`\b(T?\d+)\b`)

// TestACSRefusalRecordsBounded posts junk to the ACS through the server from
// several clients and tenants: the audit events and traces written stay
// within the budgets, each refusal beyond them is summarised once the window
// passes, the pages still carry a reference and the metrics count every one.
func TestACSRefusalRecordsBounded(t *testing.T) {
	lim := sso.DefaultRefusalLimits
	type posts struct {
		client, tenant string
		form           url.Values
		n              int
	}
	junk := url.Values{"SAMLResponse": {"PHNhbWw+"}} // no IdP: sso_not_configured
	empty := url.Values{"RelayState": {"x"}}         // missing_response
	tests := []struct {
		name  string
		posts []posts
		// records per tenant slug ("" unknown tenants), summaries as
		// "slug client count reasons" (client "" for the tenant's).
		records   map[string]int
		summaries []string
	}{
		{
			name:      "one client",
			posts:     []posts{{"127.0.0.2", "default", junk, 20}, {"127.0.0.2", "default", empty, 5}},
			records:   map[string]int{"default": lim.ClientBurst},
			summaries: []string{"default 127.0.0.2 15 missing_response×5, sso_not_configured×10"},
		},
		{
			name: "clients of two tenants",
			posts: []posts{
				{"127.0.0.2", "default", junk, 12}, {"127.0.0.3", "default", empty, 15},
				{"127.0.0.2", "acme", empty, 11}, {"127.0.0.4", "acme", junk, 3},
			},
			records: map[string]int{"default": 2 * lim.ClientBurst, "acme": lim.ClientBurst + 3},
			summaries: []string{
				"default 127.0.0.2 2 sso_not_configured×2", "default 127.0.0.3 5 missing_response×5",
				"acme 127.0.0.2 1 missing_response×1",
			},
		},
		{
			name:      "unknown tenants",
			posts:     []posts{{"127.0.0.5", "nope", junk, 8}, {"127.0.0.5", "gone", junk, 8}},
			records:   map[string]int{"": lim.ClientBurst},
			summaries: []string{" 127.0.0.5 6 unknown_tenant×6"},
		},
		{
			name: "many clients of one tenant",
			posts: func() []posts {
				var ps []posts
				for i := range lim.TenantBurst/lim.ClientBurst + 2 {
					ps = append(ps, posts{fmt.Sprintf("127.0.1.%d", i+1), "default", junk, lim.ClientBurst})
				}
				return ps
			}(),
			records:   map[string]int{"default": lim.TenantBurst},
			summaries: []string{fmt.Sprintf("default  %d sso_not_configured×%d", 2*lim.ClientBurst, 2*lim.ClientBurst)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOptions{})
			ctx := context.Background()
			acme := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
			if err := e.store.CreateTenant(ctx, &acme); err != nil {
				t.Fatal(err)
			}
			tenantIDs := map[int64]string{e.tenant.ID: "default", acme.ID: "acme", 0: ""}
			total, timeRefs := 0, 0
			for _, p := range tt.posts {
				c := e.clientFrom(p.client)
				for range p.n {
					resp := e.post(c, "/t/"+p.tenant+"/saml/acs", p.form)
					if resp.StatusCode < 400 || setCookie(resp, "lanyard_session") != nil {
						t.Fatalf("ACS answered %d", resp.StatusCode)
					}
					ref := refusalReference(t, resp.body)
					if strings.HasPrefix(ref, "T") {
						timeRefs++
					}
					total++
				}
			}
			events := ssoFailures(t, e)
			got := map[string]int{}
			for _, ev := range events {
				got[tenantIDs[ev.TenantID]]++
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.records) {
				t.Errorf("audit events per tenant %v, want %v", got, tt.records)
			}
			recorded := 0
			for slug, n := range tt.records {
				recorded += n
				if slug == "" {
					continue
				}
				traces, err := e.admin.LoginTraces(ctx, slug, "", 1000, 0)
				if err != nil || len(traces) != n {
					t.Errorf("%s: %d traces (%v), want %d", slug, len(traces), err, n)
				}
			}
			if timeRefs != total-recorded {
				t.Errorf("%d pages with a time reference, want %d", timeRefs, total-recorded)
			}
			if m := metricSum(t, e, `lanyard_login_attempts_total{method="sso",outcome="failure"`); m != total {
				t.Errorf("metrics count %d refusals, want %d", m, total)
			}

			// The summaries are written once the window has passed, without
			// another request.
			e.clock.Advance(lim.Window)
			var sums []string
			deadline := time.Now().Add(10 * time.Second)
			for {
				sums = sums[:0]
				for _, ev := range ssoFailures(t, e) {
					if ev.Reason == "refusals_not_recorded" {
						sums = append(sums, fmt.Sprintf("%s %s %s %s", tenantIDs[ev.TenantID], ev.ClientIP, ev.Detail["count"], ev.Detail["reasons"]))
					}
				}
				if len(sums) >= len(tt.summaries) || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if !slices.Equal(slices.Sorted(slices.Values(sums)), slices.Sorted(slices.Values(tt.summaries))) {
				t.Errorf("summaries:\n%s\nwant:\n%s", strings.Join(sums, "\n"), strings.Join(tt.summaries, "\n"))
			}

			// The tracer page of a tenant names its summaries.
			c := e.client()
			e.addUser("root", adminPassword, lanyard.RoleOperator)
			e.mustLogin(c, "root", adminPassword)
			for slug := range tt.records {
				if slug == "" {
					continue
				}
				page := e.get(c, "/admin/tenants/"+slug+"/traces")
				listed := strings.Count(page.body, "were not recorded individually")
				want := 0
				for _, s := range tt.summaries {
					if strings.HasPrefix(s, slug+" ") {
						want++
					}
				}
				if page.StatusCode != http.StatusOK || listed != want {
					t.Errorf("%s: tracer page (%d) lists %d summaries, want %d", slug, page.StatusCode, listed, want)
				}
			}
		})
	}
}

// refusalReference returns the reference on a refusal page.
func refusalReference(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, "Reference")
	if i < 0 {
		i = strings.Index(body, "reference")
	}
	if i < 0 {
		t.Fatalf("no reference on the page:\n%s", body)
	}
	m := refusalRefPattern.FindStringSubmatch(stripTags(body[i:]))
	if m == nil {
		t.Fatalf("no reference on the page:\n%s", body[i:])
	}
	return m[1]
}

var tagPattern = regexp.MustCompile(`<[^>]*>`)

func stripTags(s string) string { return tagPattern.ReplaceAllString(s, " ") }

// ssoFailures lists the refused sso.login events of every tenant.
func ssoFailures(t *testing.T, e *env) []lanyard.AuditEvent {
	t.Helper()
	evs, err := e.store.AuditEvents(context.Background(), lanyard.AuditFilter{Action: "sso.login", Outcome: lanyard.OutcomeFailure, Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// metricSum adds the samples of /metrics whose line starts with prefix.
func metricSum(t *testing.T, e *env, prefix string) int {
	t.Helper()
	body := e.get(e.client(), "/metrics").body
	sum := 0
	for line := range strings.Lines(body) {
		if strings.HasPrefix(line, prefix) {
			f := strings.Fields(line)
			n, err := strconv.ParseFloat(f[len(f)-1], 64)
			if err != nil {
				t.Fatalf("metric line %q: %v", line, err)
			}
			sum += int(n)
		}
	}
	return sum
}

// TestACSRefusalBudgetSparesSuccess replays a signed response from a real
// IdP until the client's budget of refusal records is spent: the next login
// of that client still succeeds and is recorded.
func TestACSRefusalBudgetSparesSuccess(t *testing.T) {
	e := newSSOEnv(t, "sqlite", []simplesamlphp.User{idpUser("alice", "alice@example.com", "Alice", "Liddell", nil)})
	acme := e.addTenant("acme", tenantOptions{settings: []string{"jit=true"}})
	ctx := context.Background()
	b := newBrowser()
	form := e.spLogin(b, "acme", "", "alice")
	if a := b.post(t, form); a.session == "" {
		t.Fatalf("first login: %d %s", a.status, a.body)
	}
	replays := sso.DefaultRefusalLimits.ClientBurst + 5
	for range replays {
		if a := b.post(t, form); a.status != http.StatusBadRequest || a.session != "" {
			t.Fatalf("replay: ACS answered %d (session %q)", a.status, a.session)
		}
	}
	if a := b.post(t, e.spLogin(b, "acme", "", "alice")); a.session == "" {
		t.Fatalf("login after the refusals: %d %s", a.status, a.body)
	}
	count := func(o lanyard.Outcome) int {
		evs, err := e.store.AuditEvents(ctx, lanyard.AuditFilter{TenantID: acme.ID, Action: "sso.login", Outcome: o, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		return len(evs)
	}
	if got := count(lanyard.OutcomeSuccess); got != 2 {
		t.Errorf("%d successful logins recorded, want 2", got)
	}
	if got, want := count(lanyard.OutcomeFailure), sso.DefaultRefusalLimits.ClientBurst; got != want {
		t.Errorf("%d refusals recorded, want %d", got, want)
	}
	if traces, _ := e.admin.LoginTraces(ctx, "acme", "", 1000, 0); len(traces) != sso.DefaultRefusalLimits.ClientBurst {
		t.Errorf("%d traces, want %d", len(traces), sso.DefaultRefusalLimits.ClientBurst)
	}
}
