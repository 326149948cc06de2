package lockout_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/lockout"
)

// TestClientAccountThrottle: the ClientAccountFailureLimit-th failure of
// one address at an account makes that address wait until the oldest of its
// failures leaves Window; other addresses, and other accounts from the same
// address, go on; unknown accounts are counted alike.
func TestClientAccountThrottle(t *testing.T) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) {
			ctx := t.Context()
			p := lockout.Policy{Store: testdb.Open(t, engine)}
			now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			key := lockout.AccountKey(7, "Alice")
			if key != lockout.AccountKey(7, "alice") {
				t.Errorf("keys differ by case: %q", key)
			}
			const attacker, owner = "192.0.2.66", "198.51.100.7"
			for i := 1; i <= lockout.ClientAccountFailureLimit; i++ {
				throttled, err := p.RecordFailure(ctx, key, attacker, now.Add(time.Duration(i)*time.Second))
				if err != nil {
					t.Fatal(err)
				}
				if want := i == lockout.ClientAccountFailureLimit; throttled != want {
					t.Errorf("failure %d: throttled %v, want %v", i, throttled, want)
				}
			}
			at := now.Add(time.Minute)
			until, err := p.ClientAccountReopensAt(ctx, key, attacker, at)
			if want := now.Add(time.Second + lockout.Window); err != nil || until.After(want) || until.Before(want.Add(-time.Second)) {
				t.Errorf("attacker reopens at %s (%v), want %s", until, err, want)
			}
			for _, tc := range []struct {
				what, key, addr string
			}{
				{"the owner's address", key, owner},
				{"the attacker at another account", lockout.AccountKey(7, "bob"), attacker},
				{"the same login in another tenant", lockout.AccountKey(8, "alice"), attacker},
				{"an IPv6 neighbour", key, "2001:db8::1"},
			} {
				if until, err := p.ClientAccountReopensAt(ctx, tc.key, tc.addr, at); err != nil || !until.IsZero() {
					t.Errorf("%s: reopens at %s (%v), want open", tc.what, until, err)
				}
			}
			if until, err := p.AccountSlowedUntil(ctx, key, at); err != nil || !until.IsZero() {
				t.Errorf("account after %d failures from one address: slowed until %s (%v), want not slowed", lockout.ClientAccountFailureLimit, until, err)
			}
			if until, err := p.ClientAccountReopensAt(ctx, key, attacker, now.Add(lockout.Window+lockout.ClientAccountFailureLimit*time.Second)); err != nil || !until.IsZero() {
				t.Errorf("after the window: reopens at %s (%v), want open", until, err)
			}
			// A new password clears the account's counts, from every
			// address, and nobody else's.
			other := lockout.AccountKey(7, "alicia")
			for i := range lockout.ClientAccountFailureLimit {
				if _, err := p.RecordFailure(ctx, other, attacker, now.Add(time.Duration(i)*time.Second)); err != nil {
					t.Fatal(err)
				}
			}
			if err := p.Clear(ctx, key); err != nil {
				t.Fatal(err)
			}
			if until, err := p.ClientAccountReopensAt(ctx, key, attacker, at); err != nil || !until.IsZero() {
				t.Errorf("after Clear: attacker reopens at %s (%v), want open", until, err)
			}
			if until, err := p.ClientAccountReopensAt(ctx, other, attacker, at); err != nil || until.IsZero() {
				t.Errorf("after Clear of alice: the wait at alicia ended too (%s, %v)", until, err)
			}
		})
	}
}

// TestAccountSlowdown: an account guessed at from many addresses answers
// one attempt per AccountSlowdownInterval, and is never locked.
func TestAccountSlowdown(t *testing.T) {
	ctx := t.Context()
	p := lockout.Policy{Store: testdb.Open(t, "sqlite")}
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	key := lockout.AccountKey(1, "root")
	for i := range lockout.AccountSlowdownThreshold {
		if _, err := p.RecordFailure(ctx, key, fmt.Sprintf("10.0.%d.%d", i/250, i%250), now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	last := now.Add(time.Duration(lockout.AccountSlowdownThreshold-1) * time.Second)
	until, err := p.AccountSlowedUntil(ctx, key, last.Add(time.Second/2))
	if want := last.Add(lockout.AccountSlowdownInterval); err != nil || until.After(want) || until.Before(want.Add(-time.Second)) {
		t.Errorf("slowed until %s (%v), want about %s", until, err, want)
	}
	if until, err := p.AccountSlowedUntil(ctx, key, last.Add(lockout.AccountSlowdownInterval+time.Second)); err != nil || !until.IsZero() {
		t.Errorf("after the interval: slowed until %s (%v), want open", until, err)
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
		if _, err := p.RecordFailure(ctx, lockout.AccountKey(1, fmt.Sprint("user", i)), "192.0.2.9", at); err != nil {
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
