package login

import (
	"context"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard/lockout"
)

// The username-first lookup (POST /login) is throttled per client address:
// each post counts, whatever its outcome, since every one of them is a
// probe of which names exist. A person types a name a few times a minute
// at most.
const (
	// SignInStartLimit posts from one client address within
	// SignInStartWindow are answered; the next ones wait.
	SignInStartLimit  = 30
	SignInStartWindow = time.Minute
)

// signInStartKey is the ThrottleStore key counting the username-first
// lookups of a client address.
func signInStartKey(client string) string { return "signin:" + client }

// throttleSignInStart counts a username-first lookup of the request's
// client and returns the refusal to show when the client is over its
// limit; nil otherwise. A store failure lets the lookup through (and is
// logged): the throttle guards cost, not a secret.
func (d *Deps) throttleSignInStart(ctx context.Context, r *http.Request) error {
	limit, window := d.startLimit()
	key := signInStartKey(d.Kit.ClientAddress(r))
	now := d.Kit.Now()
	n, err := d.Store.Failures(ctx, key, now.Add(-window))
	if err != nil {
		d.Kit.Logger.Error("username-first lookup not throttled", "err", err)
		return nil
	}
	if n >= limit {
		d.Kit.Logger.Warn("username-first lookup throttled", "client", d.Kit.ClientAddress(r), "lookups", n, "window", window.String())
		return lockout.TooManyAttemptsError(window)
	}
	if err := d.Store.RecordFailure(ctx, key, now); err != nil {
		d.Kit.Logger.Error("username-first lookup not counted", "err", err)
	}
	return nil
}

// startLimit is the throttle of username-first lookups: the Deps' own when
// set (tests), else the defaults.
func (d *Deps) startLimit() (int, time.Duration) {
	if d.SignInStartLimit > 0 && d.SignInStartWindow > 0 {
		return d.SignInStartLimit, d.SignInStartWindow
	}
	return SignInStartLimit, SignInStartWindow
}
