// Package lockout is the policy against password guessing, shared by every
// face that checks a password (the web sign-ins) or clears a lock (setting
// a password from the CLI, the API or a reset link). Failures are counted
// in the store's ThrottleStore, so every node of a cluster sees the same
// counts.
//
// An account is locked for Duration once it reaches AccountFailureLimit
// failures within Window; a client address is refused while it has
// AddressFailureLimit failures within Window, which slows down an attacker
// spraying passwords across many accounts. Unknown logins are counted like
// real ones, so a lockout reveals nothing about which accounts exist.
package lockout

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

const (
	// Window is how far back failures count.
	Window = 15 * time.Minute
	// AccountFailureLimit failures of one account within Window lock it
	// for Duration.
	AccountFailureLimit = 5
	// Duration is how long a lockout lasts from the failure that caused it.
	Duration = 15 * time.Minute
	// AddressFailureLimit failures from one client address within Window
	// refuse it until they age out.
	AddressFailureLimit = 20
	// Retention is how long failures must be kept: as long as the longest
	// window that reads them. The janitor purges older ones.
	Retention = max(Window, Duration)
	// reopenResolution is the precision of the instant behind "try again
	// in N minutes": about ten counting queries over a 15-minute window,
	// run only for blocked attempts, which cost no argon2.
	reopenResolution = time.Second
)

// AccountKey is the ThrottleStore key counting the failed password logins
// of an account (by tenant and login, case-insensitively).
func AccountKey(tenantID int64, login string) string {
	return fmt.Sprintf("account:%d:%s", tenantID, strings.ToLower(login))
}

// LockoutKey is the key recording that an account was locked: one entry at
// the moment of the lockout, so the lock lasts Duration from then.
func LockoutKey(accountKey string) string { return "lockout:" + accountKey }

// AddressKey is the key counting the failures of one client address.
func AddressKey(addr string) string { return "ip:" + addr }

// Policy applies the limits over a store.
type Policy struct {
	Store lanyard.ThrottleStore
}

// AddressReopensAt reports when a client address may try again: the zero
// time when it is not refused.
func (p Policy) AddressReopensAt(ctx context.Context, addr string, now time.Time) (time.Time, error) {
	return p.reopensAt(ctx, AddressKey(addr), AddressFailureLimit, Window, now)
}

// AccountReopensAt reports when an account may try again: after its
// lockout, or, when no lockout was recorded (two nodes racing past the limit
// before either recorded it, or the record failed), once its recent failures
// are under the limit. The zero time means it is not locked.
func (p Policy) AccountReopensAt(ctx context.Context, accountKey string, now time.Time) (time.Time, error) {
	lockEnds, err := p.reopensAt(ctx, LockoutKey(accountKey), 1, Duration, now)
	if err != nil || !lockEnds.IsZero() {
		return lockEnds, err
	}
	return p.reopensAt(ctx, accountKey, AccountFailureLimit, Window, now)
}

// RecordAddressFailure counts a failure of the client address.
func (p Policy) RecordAddressFailure(ctx context.Context, addr string, now time.Time) error {
	return p.Store.RecordFailure(ctx, AddressKey(addr), now)
}

// RecordAccountFailure counts a failure of the account and, when it
// reaches the limit, records the lockout. lockedNow reports whether this
// failure locked it. When the lockout cannot be recorded, the failure count
// alone still blocks the account, and lockedNow is true with the error.
func (p Policy) RecordAccountFailure(ctx context.Context, accountKey string, now time.Time) (lockedNow bool, err error) {
	if err := p.Store.RecordFailure(ctx, accountKey, now); err != nil {
		return false, fmt.Errorf("count login failure of %s: %w", accountKey, err)
	}
	n, err := p.Store.Failures(ctx, accountKey, now.Add(-Window))
	if err != nil {
		return false, fmt.Errorf("count login failures of %s: %w", accountKey, err)
	}
	if n < AccountFailureLimit {
		return false, nil
	}
	if err := p.Store.RecordFailure(ctx, LockoutKey(accountKey), now); err != nil {
		return true, fmt.Errorf("record lockout of %s: %w", accountKey, err)
	}
	return true, nil
}

// Clear forgets the failures and the lockout of an account (a successful
// sign-in, a new password).
func (p Policy) Clear(ctx context.Context, accountKey string) error {
	for _, key := range []string{accountKey, LockoutKey(accountKey)} {
		if err := p.Store.ClearFailures(ctx, key); err != nil {
			return fmt.Errorf("clear failed logins: %w", err)
		}
	}
	return nil
}

// reopensAt reports when key may try again: the zero time when fewer than
// limit failures fall within window before now, else when the limit-th most
// recent of them leaves the window. The store only counts, so that instant
// is found by bisection, to reopenResolution; this runs only for blocked
// keys.
func (p Policy) reopensAt(ctx context.Context, key string, limit int, window time.Duration, now time.Time) (time.Time, error) {
	blockedSince := func(since time.Time) (bool, error) {
		n, err := p.Store.Failures(ctx, key, since)
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

// ThrottledError is the refusal of a blocked account (byAddress false) or
// client address that may try again after wait. The wait travels with it:
// RetryAfter finds it, for the Retry-After header.
func ThrottledError(wait time.Duration, byAddress bool) error {
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

// retryAfter is how long a throttled client should wait.
type retryAfter time.Duration

func (d retryAfter) Error() string {
	return "retry after " + time.Duration(d).Round(time.Second).String()
}

// RetryAfter is the wait, found with errors.As by the HTTP faces.
func (d retryAfter) RetryAfter() time.Duration { return time.Duration(d) }

// minutesIn rounds a wait up to whole minutes, at least one.
func minutesIn(wait time.Duration) int {
	return max(int((wait+time.Minute-1)/time.Minute), 1)
}
