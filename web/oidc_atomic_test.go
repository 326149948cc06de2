package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

// errOIDCInjected is the failure oidcFaultyStore injects.
var errOIDCInjected = errors.New("injected store failure")

// oidcFaultyStore counts the OpenID Connect writes made inside its
// transactions and fails the one numbered failAt (1-based; 0 fails none).
type oidcFaultyStore struct {
	*sqlstore.DB
	mu     sync.Mutex
	failAt int
	writes []string // the writes of the last transaction, in order
}

func (f *oidcFaultyStore) arm(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failAt, f.writes = n, nil
}

func (f *oidcFaultyStore) written() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

func (f *oidcFaultyStore) write(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writes = append(f.writes, name)
	if len(f.writes) == f.failAt {
		return fmt.Errorf("%s: %w", name, errOIDCInjected)
	}
	return nil
}

// The writes outside a transaction count too: a redemption that does
// not use one shows them here, and fails at them the same way.
func (f *oidcFaultyStore) UseOIDCGrant(ctx context.Context, hash []byte, kind lanyard.OIDCGrantKind, now time.Time) (lanyard.OIDCGrant, error) {
	return oidcFaultyUse(f, f.DB, ctx, hash, kind, now)
}

func (f *oidcFaultyStore) SaveOIDCGrant(ctx context.Context, g *lanyard.OIDCGrant) error {
	return oidcFaultySave(f, f.DB, ctx, g)
}

func (f *oidcFaultyStore) PutOIDCLogin(ctx context.Context, l *lanyard.OIDCLogin) error {
	return oidcFaultyPut(f, f.DB, ctx, l)
}

func (f *oidcFaultyStore) Atomic(ctx context.Context, fn func(tx lanyard.Store) error) error {
	return f.DB.Atomic(ctx, func(tx lanyard.Store) error {
		f.mu.Lock()
		f.writes = nil // a retried transaction counts again
		f.mu.Unlock()
		return fn(&oidcFaultyTx{DB: tx.(*sqlstore.DB), f: f})
	})
}

// oidcFaultyTx is a transaction whose OpenID Connect writes go through
// oidcFaultyStore.write.
type oidcFaultyTx struct {
	*sqlstore.DB
	f *oidcFaultyStore
}

func (t *oidcFaultyTx) UseOIDCGrant(ctx context.Context, hash []byte, kind lanyard.OIDCGrantKind, now time.Time) (lanyard.OIDCGrant, error) {
	return oidcFaultyUse(t.f, t.DB, ctx, hash, kind, now)
}

func (t *oidcFaultyTx) SaveOIDCGrant(ctx context.Context, g *lanyard.OIDCGrant) error {
	return oidcFaultySave(t.f, t.DB, ctx, g)
}

func (t *oidcFaultyTx) PutOIDCLogin(ctx context.Context, l *lanyard.OIDCLogin) error {
	return oidcFaultyPut(t.f, t.DB, ctx, l)
}

func oidcFaultyUse(f *oidcFaultyStore, db *sqlstore.DB, ctx context.Context, hash []byte, kind lanyard.OIDCGrantKind, now time.Time) (lanyard.OIDCGrant, error) {
	if err := f.write("UseOIDCGrant"); err != nil {
		return lanyard.OIDCGrant{}, err
	}
	return db.UseOIDCGrant(ctx, hash, kind, now)
}

func oidcFaultySave(f *oidcFaultyStore, db *sqlstore.DB, ctx context.Context, g *lanyard.OIDCGrant) error {
	if err := f.write("SaveOIDCGrant " + string(g.Kind)); err != nil {
		return err
	}
	return db.SaveOIDCGrant(ctx, g)
}

func oidcFaultyPut(f *oidcFaultyStore, db *sqlstore.DB, ctx context.Context, l *lanyard.OIDCLogin) error {
	if err := f.write("PutOIDCLogin"); err != nil {
		return err
	}
	return db.PutOIDCLogin(ctx, l)
}

// TestOIDCRedemptionIsOneTransaction: a code exchange's writes (the code
// marked used, the access and refresh tokens, the client's part in the
// session) commit together, and so do a refresh rotation's: a failure at
// any of them answers server_error and leaves the code or refresh token
// redeemable, once.
func TestOIDCRedemptionIsOneTransaction(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		fs := &oidcFaultyStore{}
		opts.wrapStore = func(db *sqlstore.DB) lanyard.Store { fs.DB = db; return fs }
		o := newOIDCEnv(t, opts)
		refresh := func(rt string) (int, map[string]any) {
			t.Helper()
			status, m, _ := o.token("default", "app", o.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			return status, m
		}
		// redeemable checks that a redemption works once, then no more.
		redeemable := func(redeem func() (int, map[string]any)) map[string]any {
			t.Helper()
			fs.arm(0)
			status, m := redeem()
			if status != http.StatusOK || m["access_token"] == nil {
				t.Fatalf("retry after the failure: %d %v, want tokens", status, m)
			}
			if got := o.userinfo("default", m["access_token"]); got != http.StatusOK {
				t.Errorf("userinfo with the retry's access token: %d", got)
			}
			if status, again := redeem(); status != http.StatusBadRequest || again["error"] != "invalid_grant" {
				t.Errorf("second retry: %d %v, want invalid_grant", status, again)
			}
			return m
		}

		// A code exchange writes, in order, these; a refresh the first three.
		code := o.code("default", o.authParams())
		fs.arm(0)
		status, first := o.exchange("default", code)
		if status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, first)
		}
		want := []string{"UseOIDCGrant", "SaveOIDCGrant access", "SaveOIDCGrant refresh", "PutOIDCLogin"}
		if got := fs.written(); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("a code exchange writes %v, want %v", got, want)
		}
		rt := first["refresh_token"].(string)

		for n := 1; n <= len(want); n++ {
			t.Run(fmt.Sprintf("code exchange, %s fails", want[n-1]), func(t *testing.T) {
				code := o.code("default", o.authParams())
				fs.arm(n)
				if status, m := o.exchange("default", code); status != http.StatusInternalServerError || m["error"] != "server_error" {
					t.Fatalf("exchange with %s failing: %d %v, want 500 server_error", want[n-1], status, m)
				}
				redeemable(func() (int, map[string]any) { return o.exchange("default", code) })
			})
		}
		for n := 1; n <= 3; n++ {
			t.Run(fmt.Sprintf("refresh, %s fails", want[n-1]), func(t *testing.T) {
				fs.arm(n)
				if status, m := refresh(rt); status != http.StatusInternalServerError || m["error"] != "server_error" {
					t.Fatalf("refresh with %s failing: %d %v, want 500 server_error", want[n-1], status, m)
				}
				redeemable(func() (int, map[string]any) { return refresh(rt) })
				// The retry's reuse detection revoked the family; start
				// the next case from a fresh code.
				fs.arm(0)
				_, fresh := o.exchange("default", o.code("default", o.authParams()))
				if fresh["refresh_token"] == nil {
					t.Fatalf("fresh exchange: %v", fresh)
				}
				rt = fresh["refresh_token"].(string)
			})
		}
	})
}

// TestOIDCConcurrentRedemptions: one code (and one refresh token)
// presented at once by several requests on one node gives exactly one
// set of tokens, on each engine (two nodes on one PostgreSQL:
// TestOIDCTwoNodesOnePostgres).
func TestOIDCConcurrentRedemptions(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		o := newOIDCEnv(t, opts)
		const n = 6
		race := func(what string, redeem func() (int, map[string]any)) map[string]any {
			t.Helper()
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				winners []map[string]any
				other   []int
			)
			for range n {
				wg.Go(func() {
					status, m := redeem()
					mu.Lock()
					defer mu.Unlock()
					if status == http.StatusOK {
						winners = append(winners, m)
					} else if status != http.StatusBadRequest || m["error"] != "invalid_grant" {
						other = append(other, status)
					}
				})
			}
			wg.Wait()
			if len(winners) != 1 || len(other) != 0 {
				t.Fatalf("%s presented %d times at once: %d answered tokens, other answers %v; want exactly one winner, the rest invalid_grant", what, n, len(winners), other)
			}
			return winners[0]
		}
		code := o.code("default", o.authParams())
		race("a code", func() (int, map[string]any) { return o.exchange("default", code) })
		// (The losers' reuse revoked what the winner got: a fresh code.)
		status, fresh := o.exchange("default", o.code("default", o.authParams()))
		if status != http.StatusOK {
			t.Fatalf("exchange: %d %v", status, fresh)
		}
		rt := fresh["refresh_token"].(string)
		race("a refresh token", func() (int, map[string]any) {
			status, m, _ := o.token("default", "app", o.secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}})
			return status, m
		})
	})
}
