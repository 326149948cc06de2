package sso

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// limiterFixture is a limiter over a settable clock that keeps the
// summaries it writes.
type limiterFixture struct {
	mu     sync.Mutex
	now    time.Time
	events []lanyard.AuditEvent
	l      *RefusalLimiter
}

func newLimiterFixture(lim RefusalLimits) *limiterFixture {
	f := &limiterFixture{now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	f.l = NewRefusalLimiter(lim, f.clock, slog.New(slog.DiscardHandler), func(_ context.Context, e lanyard.AuditEvent) string {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.events = append(f.events, e)
		return fmt.Sprint(len(f.events))
	})
	f.l.tick = time.Millisecond
	return f
}

func (f *limiterFixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *limiterFixture) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func (f *limiterFixture) summaries() []lanyard.AuditEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]lanyard.AuditEvent(nil), f.events...)
}

// admitN admits n refusals and returns how many were to be recorded.
func (f *limiterFixture) admitN(n int, tenant int64, client, reason string) int {
	rec := 0
	for range n {
		if ok, _ := f.l.Admit(context.Background(), tenant, "t", client, reason); ok {
			rec++
		}
	}
	return rec
}

// waitSummaries waits for the flusher to have written n summaries.
func (f *limiterFixture) waitSummaries(t *testing.T, n int) []lanyard.AuditEvent {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := f.summaries()
		if len(s) >= n || time.Now().After(deadline) {
			if len(s) != n {
				t.Fatalf("%d summaries written, want %d: %+v", len(s), n, s)
			}
			return s
		}
		time.Sleep(time.Millisecond)
	}
}

var testLimits = RefusalLimits{ClientBurst: 3, ClientEvery: time.Minute, TenantBurst: 5, TenantEvery: 10 * time.Second, Window: time.Minute, MaxClients: 4}

func TestRefusalLimiterBucket(t *testing.T) {
	f := newLimiterFixture(testLimits)
	if got := f.admitN(10, 1, "192.0.2.1", "a"); got != 3 {
		t.Fatalf("burst: %d recorded, want 3", got)
	}
	// Half an interval refills nothing whole; a full one refills one.
	f.advance(30 * time.Second)
	if got := f.admitN(1, 1, "192.0.2.1", "a"); got != 0 {
		t.Fatalf("after 30s: %d recorded, want 0", got)
	}
	f.advance(30 * time.Second)
	if got := f.admitN(2, 1, "192.0.2.1", "b"); got != 1 {
		t.Fatalf("after 1 min: %d recorded, want 1", got)
	}
	// The bucket never holds more than its burst.
	f.advance(time.Hour)
	if got := f.admitN(5, 1, "192.0.2.1", "a"); got != 3 {
		t.Fatalf("after an hour: %d recorded, want 3", got)
	}
}

func TestRefusalLimiterSummaries(t *testing.T) {
	tests := []struct {
		name    string
		posts   []struct{ client, reason string }
		want    []string // summaries: ClientIP|reasons|count
		records int
	}{
		{
			name: "one client over its budget",
			posts: repeat(
				post{"192.0.2.1", "a", 4},
				post{"192.0.2.1", "b", 3},
			),
			records: 3,
			want:    []string{"192.0.2.1|a×1, b×3|4"},
		},
		{
			name: "clients over the tenant budget",
			posts: repeat(
				post{"192.0.2.1", "a", 3},
				post{"192.0.2.2", "a", 3},
				post{"192.0.2.3", "c", 2},
			),
			// 5 recorded for the tenant; 192.0.2.2's third and 192.0.2.3's
			// go to the tenant's summary.
			records: 5,
			want:    []string{"|a×1, c×2|3"},
		},
		{
			name:    "within the budgets",
			posts:   repeat(post{"192.0.2.1", "a", 2}, post{"192.0.2.2", "b", 2}),
			records: 4,
		},
		{
			name:    "an IPv6 /64 is one client",
			posts:   repeat(post{"2001:db8::1", "a", 2}, post{"2001:db8::2", "a", 2}),
			records: 3,
			want:    []string{"2001:db8::/64|a×1|1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newLimiterFixture(testLimits)
			records := 0
			for _, p := range tt.posts {
				records += f.admitN(1, 7, p.client, p.reason)
			}
			if records != tt.records {
				t.Errorf("%d recorded in full, want %d", records, tt.records)
			}
			if s := f.summaries(); len(s) != 0 {
				t.Fatalf("summaries before the window closed: %+v", s)
			}
			f.advance(testLimits.Window)
			got := f.waitSummaries(t, len(tt.want))
			for _, want := range tt.want {
				found := false
				for _, e := range got {
					if fmt.Sprintf("%s|%s|%s", e.ClientIP, e.Detail["reasons"], e.Detail["count"]) == want {
						found = true
						if e.TenantID != 7 || e.Action != actionSSOLogin || e.Reason != reasonNotRecorded || e.Outcome != lanyard.OutcomeFailure {
							t.Errorf("summary %+v: want tenant 7, sso.login, failure, %s", e, reasonNotRecorded)
						}
						if !strings.Contains(e.Message, "were not recorded individually: "+map[bool]string{true: "one client has 3 recorded at once, then 1 a minute", false: "the tenant has 5 recorded at once, then 1 every 10s"}[e.ClientIP != ""]) {
							t.Errorf("summary message %q", e.Message)
						}
					}
				}
				if !found {
					t.Errorf("no summary %s in %+v", want, got)
				}
			}
		})
	}
}

type post struct {
	client, reason string
	n              int
}

func repeat(ps ...post) []struct{ client, reason string } {
	var out []struct{ client, reason string }
	for _, p := range ps {
		for range p.n {
			out = append(out, struct{ client, reason string }{p.client, p.reason})
		}
	}
	return out
}

// An attacker spraying addresses grows no memory beyond MaxClients, and the
// refusals of forgotten clients are still summarised.
func TestRefusalLimiterEviction(t *testing.T) {
	lim := testLimits
	lim.TenantBurst = 2000
	f := newLimiterFixture(lim)
	// Client 0 goes over its budget, then 1000 other addresses push it out.
	f.admitN(5, 1, "198.51.100.0", "a")
	for i := range 1000 {
		f.admitN(1, 1, fmt.Sprintf("10.0.%d.%d", i/256, i%256), "b")
		if c, _ := f.l.tracked(); c > lim.MaxClients {
			t.Fatalf("%d clients tracked, cap %d", c, lim.MaxClients)
		}
	}
	f.advance(lim.Window)
	s := f.waitSummaries(t, 1)
	if s[0].ClientIP != "" || s[0].Detail["count"] != "2" || s[0].Detail["clients"] != "198.51.100.0×2" {
		t.Errorf("summary of the forgotten client: %+v", s[0])
	}
	// With nothing pending and full budgets, tenants are forgotten too.
	f.advance(24 * time.Hour)
	f.l.Flush(context.Background())
	if _, tenants := f.l.tracked(); tenants != 0 {
		t.Errorf("%d tenants tracked after an idle day, want 0", tenants)
	}
}

// tracked returns how many clients and tenants l tracks.
func (l *RefusalLimiter) tracked() (clients, tenants int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients), len(l.tenants)
}

// A refusal after the window writes the due summaries itself, before the
// flusher's next turn.
func TestRefusalLimiterSummaryAtNextRefusal(t *testing.T) {
	f := newLimiterFixture(testLimits)
	f.l.tick = time.Hour
	f.admitN(4, 1, "192.0.2.1", "a")
	f.advance(testLimits.Window)
	if got := f.admitN(1, 2, "192.0.2.9", "b"); got != 1 {
		t.Fatalf("another tenant's refusal: %d recorded, want 1", got)
	}
	if s := f.summaries(); len(s) != 1 || s[0].ClientIP != "192.0.2.1" || s[0].Detail["count"] != "1" {
		t.Errorf("summaries %+v, want the one of 192.0.2.1", s)
	}
}

// Concurrent refusals never record more than the budget.
func TestRefusalLimiterConcurrent(t *testing.T) {
	lim := testLimits
	lim.TenantBurst = 100
	f := newLimiterFixture(lim)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		rec int
	)
	for i := range 8 {
		wg.Go(func() {
			n := f.admitN(50, 1, fmt.Sprintf("192.0.2.%d", i%2), "a")
			mu.Lock()
			rec += n
			mu.Unlock()
		})
	}
	wg.Wait()
	if rec != 2*lim.ClientBurst {
		t.Errorf("%d recorded, want %d", rec, 2*lim.ClientBurst)
	}
	f.advance(lim.Window)
	total := 0
	for _, s := range f.waitSummaries(t, 2) {
		n, _ := strconv.Atoi(s.Detail["count"])
		total += n
	}
	if total+rec != 400 {
		t.Errorf("%d recorded and %d summarised, want 400 in all", rec, total)
	}
}

func TestClientGroup(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":         "192.0.2.7",
		"::ffff:192.0.2.7":  "192.0.2.7",
		"2001:db8:1:2:3::4": "2001:db8:1:2::/64",
		"::1":               "::/64",
		"not-an-ip":         "not-an-ip",
	} {
		if got := clientGroup(in); got != want {
			t.Errorf("clientGroup(%q) = %q, want %q", in, got, want)
		}
	}
}

// The reference of a refusal not recorded is its time, which its summary's
// references enclose.
func TestRefusalLimiterReference(t *testing.T) {
	f := newLimiterFixture(testLimits)
	f.admitN(testLimits.ClientBurst, 1, "192.0.2.1", "a")
	_, first := f.l.Admit(context.Background(), 1, "t", "192.0.2.1", "a")
	f.advance(1500 * time.Millisecond)
	_, last := f.l.Admit(context.Background(), 1, "t", "192.0.2.1", "a")
	if first != "T1772355600000" || last != "T1772355601500" {
		t.Errorf("references %q, %q", first, last)
	}
	f.advance(testLimits.Window)
	s := f.waitSummaries(t, 1)[0]
	if s.Detail["first_reference"] != first || s.Detail["last_reference"] != last {
		t.Errorf("summary references %q..%q, want %q..%q", s.Detail["first_reference"], s.Detail["last_reference"], first, last)
	}
}

// BenchmarkRefusalLimiterSpray is junk from ever new addresses with every
// budget spent: the cost of a refusal does not grow with the clients tracked.
func BenchmarkRefusalLimiterSpray(b *testing.B) {
	f := newLimiterFixture(DefaultRefusalLimits)
	f.l.tick = time.Hour
	ctx := context.Background()
	addrs := make([]string, 4*DefaultRefusalLimits.MaxClients)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
	}
	b.ResetTimer()
	for i := range b.N {
		f.l.Admit(ctx, 1, "t", addrs[i%len(addrs)], "a")
	}
}
