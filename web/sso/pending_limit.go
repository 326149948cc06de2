package sso

import (
	"context"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/saml"
)

// Every SP-initiated login (and session check) keeps its AuthnRequest until
// the response comes back or it expires (saml.DefaultRequestTTL). A script
// fetching the login start in a loop would fill the table, so the requests
// started are bounded per client address (its IPv6 /64) within a TTL, and
// the live requests in total. Both refusals write nothing: a flood must not
// become writes; the log and the metrics count them.
const (
	// DefaultPendingPerClient AuthnRequests per client within
	// saml.DefaultRequestTTL. Generous: every browser behind one NAT
	// address shares it, and session checks start one every few minutes.
	DefaultPendingPerClient = 300
	// DefaultPendingTotal live AuthnRequests at most, over every tenant.
	DefaultPendingTotal = 100_000

	reasonTooManyPending = "too_many_pending_requests"
)

// PendingLimits bound the AuthnRequests awaiting their response.
type PendingLimits struct {
	PerClient int // per client address within Window
	Total     int // live at once
	Window    time.Duration
}

// DefaultPendingLimits are the limits of a server.
var DefaultPendingLimits = PendingLimits{PerClient: DefaultPendingPerClient, Total: DefaultPendingTotal, Window: saml.DefaultRequestTTL}

// PendingStore counts requests: the ones a client started (a ThrottleStore
// key per client) and the live ones.
type PendingStore interface {
	lanyard.ThrottleStore
	CountPendingRequests(ctx context.Context, now time.Time, limit int) (int, error)
}

// pendingStartKey counts the AuthnRequests a client started.
func pendingStartKey(client string) string { return "authn:" + clientGroup(client) }

// admitAuthnRequest counts a new AuthnRequest of the client, or reports
// (false) that the client or the server holds as many as it may; it has
// then answered 429. A store failure lets the request through, logged.
func (d *Deps) admitAuthnRequest(w http.ResponseWriter, r *http.Request) bool {
	if d.Pending == nil {
		return true
	}
	ctx := r.Context()
	lim := d.PendingLimits
	if lim.PerClient <= 0 || lim.Total <= 0 || lim.Window <= 0 {
		lim = DefaultPendingLimits
	}
	now := d.Kit.Now()
	client := d.Kit.ClientAddress(r)
	key := pendingStartKey(client)
	started, err := d.Pending.Failures(ctx, key, now.Add(-lim.Window))
	if err != nil {
		d.Kit.Logger.Error("AuthnRequests of the client not counted", "err", err)
		return true
	}
	scope := ""
	if started >= lim.PerClient {
		scope = "client"
	} else if live, err := d.livePending(ctx, now, lim.Total); err != nil {
		d.Kit.Logger.Error("live AuthnRequests not counted", "err", err)
	} else if live >= lim.Total {
		scope = "total"
	}
	if scope == "" {
		d.pendingLive.admitted()
		if err := d.Pending.RecordFailure(ctx, key, now); err != nil {
			d.Kit.Logger.Error("AuthnRequest of the client not counted", "err", err)
		}
		return true
	}
	if d.Metrics != nil {
		d.Metrics.LoginAttempt(loginMethodSSO, string(lanyard.OutcomeFailure), reasonTooManyPending)
	}
	d.Kit.Logger.Warn("SP-initiated login refused: too many pending AuthnRequests", "tenant", r.PathValue("tenant"),
		"scope", scope, "client", client, "per_client", lim.PerClient, "total", lim.Total)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Retry-After", strconv.Itoa(int(lim.Window/time.Second)))
	d.Kit.Render(w, r, http.StatusTooManyRequests, "sso_refused", ssoRefusedView{
		Title:   "Too many sign-ins started",
		Message: "This browser or network started more sign-ins than this site accepts at once, and none of them finished.",
		Advice:  "Wait a few minutes, then start the sign-in again.",
		Time:    now.UTC().Format(time.RFC3339),
	})
	return false
}

// pendingCountTTL is how long a count of the live requests stands in for
// a new one: the count reads up to Total index entries, so it runs about
// once a second, and the requests this node starts meanwhile are added to
// it (another node's are seen at the next count).
const pendingCountTTL = time.Second

// pendingCount is the last count of live requests, plus the requests
// admitted since.
type pendingCount struct {
	mu sync.Mutex
	at time.Time
	n  int
}

func (c *pendingCount) admitted() {
	if c == nil {
		return
	}
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

// livePending is the number of live requests, counted at most once per
// pendingCountTTL.
func (d *Deps) livePending(ctx context.Context, now time.Time, limit int) (int, error) {
	c := d.pendingLive
	if c == nil {
		return d.Pending.CountPendingRequests(ctx, now, limit)
	}
	c.mu.Lock()
	if !c.at.IsZero() && now.Sub(c.at) < pendingCountTTL && now.Sub(c.at) >= 0 {
		n := c.n
		c.mu.Unlock()
		return n, nil
	}
	c.mu.Unlock()
	n, err := d.Pending.CountPendingRequests(ctx, now, limit)
	if err != nil {
		return 0, err
	}
	c.mu.Lock()
	c.at, c.n = now, n
	c.mu.Unlock()
	return n, nil
}
