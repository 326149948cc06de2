package sso

import (
	"net/http"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Unauthenticated SAML messages cost CPU (parsing, canonicalisation, a
// signature check) before anything is known of their sender, so one client
// may have only a few of them in progress at once at the ACS and the
// Single Logout endpoint; the excess is refused at once with 429.

// maxConcurrentPerClient is how many ACS or SLO requests of one client
// address are processed at once. A browser posts one response per login:
// only scripts reach it.
const maxConcurrentPerClient = 4

// reasonTooManyConcurrent refuses a request beyond maxConcurrentPerClient.
const reasonTooManyConcurrent = "too_many_concurrent"

// retryAfterBusy is the Retry-After of that refusal, in seconds.
const retryAfterBusy = "1"

// clientLimiter counts the requests in progress per client key.
type clientLimiter struct {
	max    int
	mu     sync.Mutex
	active map[string]int
}

func newClientLimiter(max int) *clientLimiter {
	return &clientLimiter{max: max, active: make(map[string]int)}
}

// acquire takes a slot for key, or reports that its slots are all taken.
func (l *clientLimiter) acquire(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.active[key] >= l.max {
		return false
	}
	l.active[key]++
	return true
}

func (l *clientLimiter) release(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	// The map holds only clients with requests in progress.
	if l.active[key] <= 1 {
		delete(l.active, key)
	} else {
		l.active[key]--
	}
}

// limitClient runs next only while the client has fewer than the limit of
// requests in progress; beyond it, it answers 429 with the refusal page.
// The refusal writes no audit event or trace: a flood must not become
// writes; the metrics count it.
func (d *Deps) limitClient(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := clientGroup(d.Kit.ClientAddress(r))
		if !d.limiter.acquire(key) {
			d.refuseBusy(w, r)
			return
		}
		defer d.limiter.release(key)
		next.ServeHTTP(w, r)
	})
}

func (d *Deps) refuseBusy(w http.ResponseWriter, r *http.Request) {
	if d.Metrics != nil {
		d.Metrics.LoginAttempt(loginMethodSSO, string(lanyard.OutcomeFailure), reasonTooManyConcurrent)
	}
	d.Kit.Logger.Debug("SAML request refused", "tenant", r.PathValue("tenant"), "path", r.URL.Path,
		"reason", reasonTooManyConcurrent, "client", d.Kit.ClientAddress(r))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Retry-After", retryAfterBusy)
	d.Kit.Render(w, r, http.StatusTooManyRequests, "sso_refused", ssoRefusedView{
		Title:   "Too many requests",
		Message: "This browser or network sent more sign-in messages at once than this site accepts.",
		Advice:  "Wait a moment, then start the sign-in again.",
		Time:    d.Kit.Now().UTC().Format(time.RFC3339),
	})
}
