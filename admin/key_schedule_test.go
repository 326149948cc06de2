package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/spkeys"
)

// TestAutomaticKeyRollover lets the clock run through a key's end of life
// with key_rollover_days=60: the next keys are added 60 days ahead,
// switched to 30 days later, and the old keys retired once expired.
func TestAutomaticKeyRollover(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.svc.generateKey = spkeys.Generate // keys that expire when their clock says
		f.mustTenant(t, "auto")
		for _, bad := range []string{"5", "400", "soon"} {
			if _, _, err := f.svc.SetTenant(f.ctx, "test", "auto", []string{"key_rollover_days=" + bad}); err == nil || !strings.Contains(err.Error(), "use off, or a number of days from 14 to 365") {
				t.Errorf("key_rollover_days=%s: %v", bad, err)
			}
		}
		if _, _, err := f.svc.SetTenant(f.ctx, "test", "auto", []string{"key_rollover_days=60"}); err != nil {
			t.Fatal(err)
		}
		stages := func() string {
			t.Helper()
			r, err := f.svc.SPKeyRollover(f.ctx, "auto")
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, k := range r.Keys {
				out = append(out, string(k.Use)[:3]+":"+k.Stage)
			}
			return strings.Join(out, " ")
		}
		step := func(advance time.Duration, wantSteps int, want string) {
			t.Helper()
			f.clock.Advance(advance)
			done, err := f.svc.RollOverDueKeys(f.ctx)
			if err != nil || len(done) != wantSteps {
				t.Fatalf("after %s: %v, %v; want %d steps", advance, done, err, wantSteps)
			}
			if got := stages(); got != want {
				t.Fatalf("after %s: keys %s, want %s", advance, got, want)
			}
		}
		expiry := f.clock.Now().Add(spkeys.Validity)
		step(0, 0, "enc:current sig:current")
		step(expiry.Sub(f.clock.Now())-59*24*time.Hour, 2, "enc:next sig:next enc:current sig:current")
		step(29*24*time.Hour, 0, "enc:next sig:next enc:current sig:current")
		step(24*time.Hour, 2, "enc:current sig:current enc:previous sig:previous")
		step(28*24*time.Hour, 0, "enc:current sig:current enc:previous sig:previous")
		step(2*24*time.Hour, 2, "enc:current sig:current enc:retired sig:retired")
		if ev := f.lastAudit(t, "sp_key.retire"); ev.Actor != ActorSystem {
			t.Errorf("retired by %q, want the system", ev.Actor)
		}
	})
}
