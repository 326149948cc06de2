package lockout_test

import (
	"errors"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/lockout"
)

// TestAccountLockout: the AccountFailureLimit-th failure within Window
// locks the account for Duration from that failure; Clear lifts it.
func TestAccountLockout(t *testing.T) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			p := lockout.Policy{Store: testdb.Open(t, engine)}
			now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			key := lockout.AccountKey(7, "Alice")
			if key != lockout.AccountKey(7, "alice") {
				t.Errorf("keys differ by case: %q", key)
			}
			for i := 1; i <= lockout.AccountFailureLimit; i++ {
				locked, err := p.RecordAccountFailure(ctx, key, now.Add(time.Duration(i)*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				if want := i == lockout.AccountFailureLimit; locked != want {
					t.Errorf("failure %d: locked %v, want %v", i, locked, want)
				}
			}
			lockedAt := now.Add(lockout.AccountFailureLimit * time.Second)
			until, err := p.AccountReopensAt(ctx, key, lockedAt.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			// The store only counts: the instant is found to a second,
			// and may be reported that much early, never late.
			if want := lockedAt.Add(lockout.Duration); until.After(want) || until.Before(want.Add(-time.Second)) {
				t.Errorf("reopens at %s, want %s", until, want)
			}
			if until, err := p.AccountReopensAt(ctx, key, lockedAt.Add(lockout.Duration+lockout.Window)); err != nil || !until.IsZero() {
				t.Errorf("after the lock and the window: reopens at %s (%v), want open", until, err)
			}
			if err := p.Clear(ctx, key); err != nil {
				t.Fatal(err)
			}
			if until, err := p.AccountReopensAt(ctx, key, lockedAt.Add(time.Minute)); err != nil || !until.IsZero() {
				t.Errorf("after Clear: reopens at %s (%v), want open", until, err)
			}
		})
	}
}

// TestAddressLimit: a client address is refused from its
// AddressFailureLimit-th failure until the oldest of them leaves the window.
func TestAddressLimit(t *testing.T) {
	ctx := t.Context()
	p := lockout.Policy{Store: testdb.Open(t, "sqlite")}
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range lockout.AddressFailureLimit {
		at := start.Add(time.Duration(i) * time.Minute / 4)
		if until, err := p.AddressReopensAt(ctx, "192.0.2.9", at); err != nil || !until.IsZero() {
			t.Fatalf("before failure %d: reopens at %s (%v), want open", i+1, until, err)
		}
		if err := p.RecordAddressFailure(ctx, "192.0.2.9", at); err != nil {
			t.Fatal(err)
		}
	}
	now := start.Add(5 * time.Minute)
	until, err := p.AddressReopensAt(ctx, "192.0.2.9", now)
	if want := start.Add(lockout.Window); err != nil || until.After(want) || until.Before(want.Add(-time.Second)) {
		t.Errorf("reopens at %s (%v), want %s", until, err, want)
	}
	if until, err := p.AddressReopensAt(ctx, "198.51.100.1", now); err != nil || !until.IsZero() {
		t.Errorf("another address: reopens at %s (%v), want open", until, err)
	}
}

// TestThrottledError: the refusal says when to come back, in whole
// minutes, and carries the wait for Retry-After.
func TestThrottledError(t *testing.T) {
	for _, tc := range []struct {
		wait      time.Duration
		byAddress bool
		want      string
	}{
		{61 * time.Second, false, "Too many failed attempts; try again in 2 minutes."},
		{time.Second, false, "Too many failed attempts; try again in 1 minute."},
		{15 * time.Minute, true, "Too many failed attempts from your network address; try again in 15 minutes."},
	} {
		err := lockout.ThrottledError(tc.wait, tc.byAddress)
		if lanyard.ErrorKind(err) != lanyard.KindThrottled || lanyard.ErrorMessage(err) != tc.want {
			t.Errorf("%s: %v, want %q", tc.wait, err, tc.want)
		}
		var ra interface{ RetryAfter() time.Duration }
		if !errors.As(err, &ra) || ra.RetryAfter() != tc.wait {
			t.Errorf("%s: no wait for Retry-After", tc.wait)
		}
	}
}
