package sso

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// Refused SSO logins are unauthenticated input: anyone can post junk to the
// ACS. Each refusal recorded in full costs an audit event and a tracer entry,
// so the records are budgeted: per client address of a tenant, and per
// tenant. Refusals beyond the budget are counted in memory and written as
// one summary audit event per client (or per tenant, when the tenant's
// budget is spent) when its window closes. Metrics count every refusal;
// successful logins are never budgeted.

// reasonNotRecorded is the reason code of the summary audit event.
const reasonNotRecorded = ui.ReasonRefusalsNotRecorded

// RefusalLimits are the budgets of refusal records. Every field is
// required (positive); DefaultRefusalLimits explains the defaults.
type RefusalLimits struct {
	// ClientBurst refusals of one client address (an IPv6 client: its /64)
	// at one tenant are recorded in full at once; then one more per
	// ClientEvery.
	ClientBurst int
	ClientEvery time.Duration
	// TenantBurst refusals of one tenant (all clients; unknown tenants
	// share one budget) are recorded in full at once; then one more per
	// TenantEvery.
	TenantBurst int
	TenantEvery time.Duration
	// Window is how long after the first unrecorded refusal its summary
	// is written.
	Window time.Duration
	// MaxClients bounds the client addresses tracked; the least recently
	// seen is forgotten first (its unrecorded refusals go to the tenant's
	// summary).
	MaxClients int
}

// DefaultRefusalLimits: a person retrying a failed login, or an IdP
// misconfiguration hitting a few users, stays within 10 refusals per client
// and 100 per tenant, all recorded in full; a client posting junk costs at
// most 10 records, then 1 a minute plus 1 summary a minute; a tenant at
// most 100, then 1 a second, whatever the number of addresses. 10,000
// tracked clients take about 3 MB.
var DefaultRefusalLimits = RefusalLimits{
	ClientBurst: 10, ClientEvery: time.Minute,
	TenantBurst: 100, TenantEvery: time.Second,
	Window:     time.Minute,
	MaxClients: 10000,
}

// sweepEvery is how often, at most, a refusal looks for due summaries.
const sweepEvery = time.Second

// maxSampleClients is how many client addresses a tenant's summary names.
const maxSampleClients = 5

// bucket is a token bucket: burst tokens, one more every interval.
type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) refill(now time.Time, burst int, every time.Duration) {
	if dt := now.Sub(b.at); dt > 0 {
		b.tokens = min(float64(burst), b.tokens+float64(dt)/float64(every))
		b.at = now
	}
}

// unrecorded counts refusals not recorded in full, for their summary.
type unrecorded struct {
	count       int
	reasons     map[string]int
	first, last time.Time
	// clients counts by client address (a tenant's summary): the first
	// maxSampleClients addresses, the rest in otherClients.
	clients      map[string]int
	otherClients int
}

func (u *unrecorded) add(reason, client string, n int, first, last time.Time, sampleClients bool) {
	if u.count == 0 || first.Before(u.first) {
		u.first = first
	}
	if last.After(u.last) {
		u.last = last
	}
	u.count += n
	if u.reasons == nil {
		u.reasons = map[string]int{}
	}
	u.reasons[reason] += n
	if !sampleClients {
		return
	}
	if u.clients == nil {
		u.clients = map[string]int{}
	}
	if _, ok := u.clients[client]; ok || len(u.clients) < maxSampleClients {
		u.clients[client] += n
	} else {
		u.otherClients += n
	}
}

type clientKey struct {
	tenant int64
	addr   string
}

type clientState struct {
	key     clientKey
	slug    string
	bucket  bucket
	pending unrecorded
	elem    *list.Element
}

type tenantState struct {
	slug    string
	bucket  bucket
	pending unrecorded
}

// RefusalLimiter decides which refused SSO logins are recorded in full and
// writes the summaries of the others. Safe for concurrent use.
type RefusalLimiter struct {
	lim    RefusalLimits
	now    func() time.Time
	logger *slog.Logger
	// audit writes a summary and returns its reference.
	audit func(ctx context.Context, e lanyard.AuditEvent) string
	// tick is how often, in real time, pending summaries are checked.
	tick time.Duration

	mu      sync.Mutex
	clients map[clientKey]*clientState
	lru     list.List // of *clientState, most recently seen first
	tenants map[int64]*tenantState
	// pending are the clients with unrecorded refusals.
	pending  map[*clientState]struct{}
	flushing bool // the goroutine that writes due summaries runs
	// closed is set by Close: no writer starts any more; stop ends the
	// running one, which flushers counts.
	closed   bool
	stop     chan struct{}
	flushers sync.WaitGroup
	// swept is when Admit last looked for due summaries: at most once per
	// sweepEvery, so that junk does not cost a walk over every client.
	swept time.Time
}

// NewRefusalLimiter returns a limiter with lim that reads the time from now
// and writes summaries with audit.
func NewRefusalLimiter(lim RefusalLimits, now func() time.Time, logger *slog.Logger, audit func(context.Context, lanyard.AuditEvent) string) *RefusalLimiter {
	if lim.ClientBurst <= 0 || lim.ClientEvery <= 0 || lim.TenantBurst <= 0 || lim.TenantEvery <= 0 || lim.Window <= 0 || lim.MaxClients <= 0 {
		panic(fmt.Sprintf("sso: refusal limits must be positive: %+v", lim))
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RefusalLimiter{
		lim: lim, now: now, logger: logger, audit: audit, tick: time.Second,
		clients: map[clientKey]*clientState{},
		tenants: map[int64]*tenantState{},
		pending: map[*clientState]struct{}{},
		stop:    make(chan struct{}),
	}
}

// clientGroup is the address that stands for one client in the limits of
// this face: the IP without a port, and for IPv6 the /64, since a provider
// gives each subscriber a /64.
func clientGroup(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		addr = host
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	if a = a.Unmap(); a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return addr
	}
	return p.String()
}

// Admit reports whether a refusal with reason, from client at tenant (ID 0:
// no known tenant), is to be recorded in full; if not, it is counted for a
// summary and ref is the reference to show (its time, see timeRef). It
// writes summaries that are due.
func (l *RefusalLimiter) Admit(ctx context.Context, tenantID int64, slug, client, reason string) (record bool, ref string) {
	record, ref, due := l.decide(tenantID, slug, client, reason)
	l.write(ctx, due)
	return record, ref
}

// decide is Admit without the writing: it also returns the summaries due,
// for the caller to write (writeDue) when it holds no transaction.
func (l *RefusalLimiter) decide(tenantID int64, slug, client, reason string) (record bool, ref string, due []summary) {
	now := l.now()
	key := clientKey{tenant: tenantID, addr: clientGroup(client)}
	l.mu.Lock()
	c := l.client(key, slug, now)
	t := l.tenant(tenantID, slug, now)
	c.bucket.refill(now, l.lim.ClientBurst, l.lim.ClientEvery)
	t.bucket.refill(now, l.lim.TenantBurst, l.lim.TenantEvery)
	startFlusher, over := false, ""
	switch {
	case c.bucket.tokens >= 1 && t.bucket.tokens >= 1:
		c.bucket.tokens--
		t.bucket.tokens--
		record = true
	case c.bucket.tokens < 1:
		if c.pending.count == 0 {
			l.pending[c] = struct{}{}
			over = "client"
		}
		c.pending.add(reason, key.addr, 1, now, now, false)
	default:
		if t.pending.count == 0 {
			over = "tenant"
		}
		t.pending.add(reason, key.addr, 1, now, now, true)
	}
	if !record && !l.flushing && !l.closed {
		l.flushing, startFlusher = true, true
		l.flushers.Add(1)
	}
	if now.Sub(l.swept) >= sweepEvery {
		l.swept = now
		due = l.dueLocked(now)
	}
	l.mu.Unlock()
	// One warning when a summary starts; its refusals log at Debug.
	if over != "" {
		l.logger.Warn("SSO refusals exceed the "+over+" budget of records: further ones are summarised",
			"tenant", slug, "client", key.addr, "reason", reason, "summary_at", now.Add(l.lim.Window).UTC())
	}
	if startFlusher {
		go l.flushLoop()
	}
	if record {
		return true, "", due
	}
	return false, timeRef(now), due
}

// client returns the state of key, tracking it if new (and forgetting the
// least recently seen client beyond MaxClients).
func (l *RefusalLimiter) client(key clientKey, slug string, now time.Time) *clientState {
	if c, ok := l.clients[key]; ok {
		l.lru.MoveToFront(c.elem)
		return c
	}
	for len(l.clients) >= l.lim.MaxClients {
		old := l.lru.Remove(l.lru.Back()).(*clientState)
		delete(l.clients, old.key)
		if old.pending.count > 0 {
			delete(l.pending, old)
			t := l.tenant(old.key.tenant, old.slug, now)
			for reason, n := range old.pending.reasons {
				t.pending.add(reason, old.key.addr, n, old.pending.first, old.pending.last, true)
			}
		}
	}
	c := &clientState{key: key, slug: slug, bucket: bucket{tokens: float64(l.lim.ClientBurst), at: now}}
	c.elem = l.lru.PushFront(c)
	l.clients[key] = c
	return c
}

func (l *RefusalLimiter) tenant(id int64, slug string, now time.Time) *tenantState {
	t, ok := l.tenants[id]
	if !ok {
		t = &tenantState{slug: slug, bucket: bucket{tokens: float64(l.lim.TenantBurst), at: now}}
		l.tenants[id] = t
	}
	return t
}

// summary is a summary audit event due to be written.
type summary struct {
	event lanyard.AuditEvent
	slug  string
}

// dueLocked takes the summaries whose window has closed, and forgets the
// tenants that have nothing pending and a full budget again.
func (l *RefusalLimiter) dueLocked(now time.Time) []summary {
	var due []summary
	for c := range l.pending {
		if now.Sub(c.pending.first) >= l.lim.Window {
			due = append(due, l.summarise(c.key.tenant, c.slug, c.key.addr, &c.pending))
			c.pending = unrecorded{}
			delete(l.pending, c)
		}
	}
	for id, t := range l.tenants {
		if t.pending.count > 0 && now.Sub(t.pending.first) >= l.lim.Window {
			due = append(due, l.summarise(id, t.slug, "", &t.pending))
			t.pending = unrecorded{}
		}
		if t.pending.count == 0 {
			t.bucket.refill(now, l.lim.TenantBurst, l.lim.TenantEvery)
			if t.bucket.tokens >= float64(l.lim.TenantBurst) {
				delete(l.tenants, id)
			}
		}
	}
	return due
}

// pendingLocked reports whether summaries remain to be written.
func (l *RefusalLimiter) pendingLocked() bool {
	if len(l.pending) > 0 {
		return true
	}
	for _, t := range l.tenants {
		if t.pending.count > 0 {
			return true
		}
	}
	return false
}

// summarise makes the audit event of u: a client's (client set) or a
// tenant's (client "").
func (l *RefusalLimiter) summarise(tenantID int64, slug, client string, u *unrecorded) summary {
	reasons := slices.Sorted(maps.Keys(u.reasons))
	var rs []string
	for _, r := range reasons {
		rs = append(rs, fmt.Sprintf("%s×%d", r, u.reasons[r]))
	}
	detail := map[string]string{
		"count":           strconv.Itoa(u.count),
		"reasons":         strings.Join(rs, ", "),
		"first":           u.first.UTC().Format(time.RFC3339Nano),
		"last":            u.last.UTC().Format(time.RFC3339Nano),
		"first_reference": timeRef(u.first),
		"last_reference":  timeRef(u.last),
	}
	var msg string
	if client != "" {
		detail["limit"] = "client"
		msg = fmt.Sprintf("%d more refused SSO logins from client %s (reasons: %s) were not recorded individually: one client has %d recorded at once, then 1 %s",
			u.count, client, detail["reasons"], l.lim.ClientBurst, per(l.lim.ClientEvery))
	} else {
		detail["limit"] = "tenant"
		var cs []string
		for _, a := range slices.Sorted(maps.Keys(u.clients)) {
			cs = append(cs, fmt.Sprintf("%s×%d", a, u.clients[a]))
		}
		if u.otherClients > 0 {
			cs = append(cs, fmt.Sprintf("others×%d", u.otherClients))
		}
		detail["clients"] = strings.Join(cs, ", ")
		msg = fmt.Sprintf("%d more refused SSO logins (reasons: %s; clients: %s) were not recorded individually: the tenant has %d recorded at once, then 1 %s",
			u.count, detail["reasons"], detail["clients"], l.lim.TenantBurst, per(l.lim.TenantEvery))
	}
	msg += fmt.Sprintf(", between %s and %s; the metrics count each one", detail["first"], detail["last"])
	return summary{slug: slug, event: lanyard.AuditEvent{
		TenantID: tenantID, Actor: "anonymous", Action: actionSSOLogin, Outcome: lanyard.OutcomeFailure,
		Reason: reasonNotRecorded, ClientIP: client, Message: msg, Detail: detail,
	}}
}

// per says "a minute", "a second" or "every D".
func per(d time.Duration) string {
	switch d {
	case time.Minute:
		return "a minute"
	case time.Second:
		return "a second"
	}
	return "every " + d.String()
}

// timeRef is the reference a refusal not recorded in full shows the user:
// its time, which its summary's first and last references enclose.
func timeRef(t time.Time) string { return "T" + strconv.FormatInt(t.UnixMilli(), 10) }

func (l *RefusalLimiter) write(ctx context.Context, due []summary) {
	for _, s := range due {
		ref := l.audit(context.WithoutCancel(ctx), s.event)
		l.logger.Warn("SSO refusals not recorded individually", "tenant", s.slug, "client", s.event.ClientIP,
			"count", s.event.Detail["count"], "reasons", s.event.Detail["reasons"], "reference", ref)
	}
}

// Flush writes the summaries whose window has closed.
func (l *RefusalLimiter) Flush(ctx context.Context) {
	l.mu.Lock()
	due := l.dueLocked(l.now())
	l.mu.Unlock()
	l.write(ctx, due)
}

// Close stops the goroutine that writes summaries, waits for it, and
// writes every summary still held, its window closed or not: the refusals
// counted are not lost when the server stops. Refusals admitted afterwards
// are counted and never written. Safe to call more than once.
func (l *RefusalLimiter) Close(ctx context.Context) {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.stop)
	}
	l.mu.Unlock()
	l.flushers.Wait()
	l.mu.Lock()
	due := l.dueLocked(l.now().Add(l.lim.Window))
	l.mu.Unlock()
	l.write(ctx, due)
}

// flushLoop writes due summaries while some are pending, so that a summary
// is written when its window closes even if no refusal follows; Close ends
// it.
func (l *RefusalLimiter) flushLoop() {
	defer l.flushers.Done()
	t := time.NewTicker(l.tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-l.stop:
			return
		}
		l.mu.Lock()
		due := l.dueLocked(l.now())
		more := l.pendingLocked()
		if !more {
			l.flushing = false
		}
		l.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		l.write(ctx, due)
		cancel()
		if !more {
			return
		}
	}
}

// admit asks l whether the refusal of a is recorded in full; a nil limiter
// records every refusal.
func (l *RefusalLimiter) admit(ctx context.Context, a *ssoAttempt, reason string) (bool, string) {
	if l == nil {
		return true, ""
	}
	return l.Admit(ctx, a.tenant.ID, a.slug, a.client, reason)
}

// admitInTx is admit for a refusal recorded inside a login's transaction:
// the summaries due are returned, to be written with writeDue once the
// transaction is over (they are not part of it, and on SQLite its one
// writer is held by it).
func (l *RefusalLimiter) admitInTx(a *ssoAttempt, reason string) (bool, string, []summary) {
	if l == nil {
		return true, "", nil
	}
	return l.decide(a.tenant.ID, a.slug, a.client, reason)
}

// writeDue writes summaries admitInTx returned.
func (l *RefusalLimiter) writeDue(ctx context.Context, due []summary) {
	if l != nil {
		l.write(ctx, due)
	}
}
