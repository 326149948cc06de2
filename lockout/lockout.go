// Package lockout is the policy against password guessing, shared by every
// face that checks a password (the web sign-ins) or clears the count of an
// account (setting a password from the CLI, the API or a reset link).
// Failures are counted in the store's ThrottleStore, so every node of a
// cluster sees the same counts.
//
// Guessing is slowed down, never turned into a lockout an attacker could
// cause: a client address that failed ClientAccountFailureLimit times at
// one account within Window waits until the oldest of those failures ages
// out, while the same account keeps answering every other address, so the
// right password from elsewhere still works. A client address is refused
// while it has AddressFailureLimit failures within Window, whatever the
// accounts (password spraying). An account guessed at from many addresses
// at once (AccountSlowdownThreshold failures within Window) answers one
// attempt per AccountSlowdownInterval: a slower login, still a login.
// Unknown logins are counted like real ones, so a throttle reveals nothing
// about which accounts exist.
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
	// ClientAccountFailureLimit failures of one account from one client
	// address within Window make that address wait before its next try
	// at that account, until the oldest of them leaves Window.
	ClientAccountFailureLimit = 5
	// AddressFailureLimit failures from one client address within Window
	// refuse it until they age out.
	AddressFailureLimit = 20
	// AccountSlowdownThreshold failures of one account, from any address,
	// within Window slow it down: one attempt per AccountSlowdownInterval.
	AccountSlowdownThreshold = 50
	// AccountSlowdownInterval is the wait after a failure of a slowed-down
	// account.
	AccountSlowdownInterval = 2 * time.Second
	// Retention is how long failures must be kept: as long as the longest
	// window that reads them. The janitor purges older ones.
	Retention = Window
	// reopenResolution is the precision of the instant behind "try again
	// in N minutes": about ten counting queries over a 15-minute window,
	// run only for blocked attempts, which cost no argon2.
	reopenResolution = time.Second
)

// AccountKey is the ThrottleStore key counting the failed password logins
// of an account (by tenant and login, case-insensitively), from every
// address.
func AccountKey(tenantID int64, login string) string {
	return fmt.Sprintf("account:%d:%s", tenantID, strings.ToLower(login))
}

// ClientAccountKey is the key counting the failures of one account from one
// client address.
func ClientAccountKey(accountKey, addr string) string { return accountKey + "|from:" + addr }

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

// ClientAccountReopensAt reports when a client address may try the account
// again: the zero time when it may now.
func (p Policy) ClientAccountReopensAt(ctx context.Context, accountKey, addr string, now time.Time) (time.Time, error) {
	return p.reopensAt(ctx, ClientAccountKey(accountKey, addr), ClientAccountFailureLimit, Window, now)
}

// AccountSlowedUntil reports until when an account guessed at from many
// addresses answers no attempt: AccountSlowdownInterval after its last
// failure once it has AccountSlowdownThreshold failures within Window; the
// zero time otherwise.
func (p Policy) AccountSlowedUntil(ctx context.Context, accountKey string, now time.Time) (time.Time, error) {
	n, err := p.Store.Failures(ctx, accountKey, now.Add(-Window))
	if err != nil || n < AccountSlowdownThreshold {
		return time.Time{}, err
	}
	return p.reopensAt(ctx, accountKey, 1, AccountSlowdownInterval, now)
}

// RecordFailure counts a failed password login of the account (empty when
// the tenant is unknown) from the client address. It reports whether this
// failure made the address wait before trying the account again.
func (p Policy) RecordFailure(ctx context.Context, accountKey, addr string, now time.Time) (throttledNow bool, err error) {
	keys := []string{AddressKey(addr)}
	var before int
	if accountKey != "" {
		keys = append(keys, accountKey, ClientAccountKey(accountKey, addr))
		// Counted before and after this failure: the failure that takes
		// the count across the limit sees it below before and at or above
		// after, even when others are recorded at the same time (an exact
		// "== limit" after the insert is missed when two land together).
		if before, err = p.Store.Failures(ctx, ClientAccountKey(accountKey, addr), now.Add(-Window)); err != nil {
			return false, fmt.Errorf("count login failures of %s: %w", accountKey, err)
		}
	}
	for _, key := range keys {
		if err := p.Store.RecordFailure(ctx, key, now); err != nil {
			return false, fmt.Errorf("count login failure of %s: %w", key, err)
		}
	}
	if accountKey == "" || before >= ClientAccountFailureLimit {
		return false, nil
	}
	n, err := p.Store.Failures(ctx, ClientAccountKey(accountKey, addr), now.Add(-Window))
	if err != nil {
		return false, fmt.Errorf("count login failures of %s: %w", accountKey, err)
	}
	return n >= ClientAccountFailureLimit, nil
}

// Clear forgets the failures of an account, counted together and per
// address (a new password: guesses at the old one count no more).
func (p Policy) Clear(ctx context.Context, accountKey string) error {
	if err := p.Store.ClearFailures(ctx, accountKey); err != nil {
		return fmt.Errorf("clear failed logins: %w", err)
	}
	if err := p.Store.ClearFailuresWithPrefix(ctx, ClientAccountKey(accountKey, "")); err != nil {
		return fmt.Errorf("clear failed logins: %w", err)
	}
	return nil
}

// ClearClient forgets the failures of an account, from every address and
// from the client address that just signed in with the right password.
func (p Policy) ClearClient(ctx context.Context, accountKey, addr string) error {
	for _, key := range []string{accountKey, ClientAccountKey(accountKey, addr)} {
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

// ThrottledError is the refusal of an attempt at an account (byAddress
// false) or from a client address that may try again after wait. The wait travels with it:
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

// TooManyAttemptsError is the refusal of a client address that sent more
// sign-in attempts (failed or not) than the limit and may try again after
// wait, with the wait for Retry-After.
func TooManyAttemptsError(wait time.Duration) error {
	minutes := minutesIn(wait)
	unit := "minutes"
	if minutes == 1 {
		unit = "minute"
	}
	return &lanyard.Error{Kind: lanyard.KindThrottled, Err: retryAfter(wait),
		Message: fmt.Sprintf("Too many sign-in attempts from your network address; try again in %d %s.", minutes, unit)}
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
