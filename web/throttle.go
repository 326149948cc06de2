package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// Password login throttling. Failures are counted in the store's
// ThrottleStore, so every node of a cluster sees the same counts.
const (
	// throttleWindow is how far back failures count.
	throttleWindow = 15 * time.Minute
	// accountFailureLimit failures of one account within throttleWindow
	// lock it for lockoutDuration.
	accountFailureLimit = 5
	lockoutDuration     = 15 * time.Minute
	// addressFailureLimit failures from one client address within
	// throttleWindow refuse it until they age out: this slows down an
	// attacker spraying passwords across many accounts.
	addressFailureLimit = 20
	// throttleRetention is how long the janitor keeps failures: as long as
	// the longest window that reads them.
	throttleRetention = max(throttleWindow, lockoutDuration)
	// reopenResolution is the precision of the instant behind "try again
	// in N minutes": about ten counting queries over a 15-minute window,
	// run only for blocked attempts, which cost no argon2.
	reopenResolution = time.Second
)

// accountKey names the failures of one account; admin.ConsumePasswordReset
// clears the same key. Unknown logins get a key too, so that they lock like
// real ones and lockouts reveal nothing.
func accountKey(tenantID int64, login string) string {
	return admin.ThrottleAccountKey(tenantID, login)
}

// lockoutKey names the record of an account's lockout: one entry at the
// moment of the lockout, so the lock lasts lockoutDuration from then.
func lockoutKey(account string) string { return "lockout:" + account }

// addressKey names the failures of one client address.
func addressKey(addr string) string { return "ip:" + addr }

// reopensAt reports when key may try again: the zero time when fewer than
// limit failures fall within window before now, else when the limit-th most
// recent of them leaves the window. The store only counts, so that instant
// is found by bisection, to reopenResolution; this runs only for blocked
// keys.
func reopensAt(ctx context.Context, store lanyard.ThrottleStore, key string, limit int, window time.Duration, now time.Time) (time.Time, error) {
	blockedSince := func(since time.Time) (bool, error) {
		n, err := store.Failures(ctx, key, since)
		if err != nil {
			return false, fmt.Errorf("count login failures of %s: %w", key, err)
		}
		return n >= limit, nil
	}
	lo, hi := now.Add(-window), now
	blocked, err := blockedSince(lo)
	if err != nil || !blocked {
		return time.Time{}, err
	}
	if blocked, err := blockedSince(hi); err != nil || blocked {
		return now.Add(window), err
	}
	// Invariant: blocked counting from lo, not blocked counting from hi.
	for hi.Sub(lo) > reopenResolution {
		mid := lo.Add(hi.Sub(lo) / 2)
		blocked, err := blockedSince(mid)
		if err != nil {
			return time.Time{}, err
		}
		if blocked {
			lo = mid
		} else {
			hi = mid
		}
	}
	// lo is at most a resolution before the instant: the wait may be
	// reported that much short, never long.
	return lo.Add(window), nil
}

// throttledError is the refusal of a blocked account or address that may
// try again after wait. The wait travels with it, for Retry-After.
func throttledError(wait time.Duration, byAddress bool) error {
	minutes := minutesIn(wait)
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	msg := fmt.Sprintf("Too many failed attempts; try again in %d %s.", minutes, unit)
	if byAddress {
		msg = fmt.Sprintf("Too many failed attempts from your network address; try again in %d %s.", minutes, unit)
	}
	return &lanyard.Error{Kind: lanyard.KindThrottled, Message: msg, Err: retryAfter(wait)}
}

// retryAfter is how long a throttled client should wait; render helpers
// find it with errors.As and send it as the Retry-After header.
type retryAfter time.Duration

func (d retryAfter) Error() string {
	return "retry after " + time.Duration(d).Round(time.Second).String()
}

// setRetryAfter sets the Retry-After header when err carries a wait.
func setRetryAfter(w http.ResponseWriter, err error) {
	var d retryAfter
	if errors.As(err, &d) {
		secs := int64((time.Duration(d) + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(max(secs, 1), 10))
	}
}

// minutesIn rounds a wait up to whole minutes, at least one.
func minutesIn(wait time.Duration) int {
	return max(int((wait+time.Minute-1)/time.Minute), 1)
}
