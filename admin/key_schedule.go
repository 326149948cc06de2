package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// The automatic SP key rollover of a tenant (setting key_rollover_days=N):
// N days before the current key expires a next key is added (published),
// N/2 days later Lanyard switches to it, and the previous key is retired
// once it has expired. IdPs that refresh the SP metadata at least every N/2
// days never notice.

// Bounds of key_rollover_days: IdPs refresh metadata daily at best, and a
// rollover started more than a year ahead would never end for ten-year
// keys' successors... it would start at once.
const (
	minKeyRolloverDays = 14
	maxKeyRolloverDays = 365
)

var keyRolloverSetting = setting[lanyard.Tenant]{
	key:   "key_rollover_days",
	usage: fmt.Sprintf("off, or days (%d-%d) before expiry to start rolling the SP keys over automatically", minKeyRolloverDays, maxKeyRolloverDays),
	get: func(t *lanyard.Tenant) string {
		if t.SSO.KeyRolloverDays == 0 {
			return "off"
		}
		return strconv.Itoa(t.SSO.KeyRolloverDays)
	},
	set: func(t *lanyard.Tenant, s string) error {
		if s == "" || strings.EqualFold(s, "off") {
			t.SSO.KeyRolloverDays = 0
			return nil
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.ToLower(s), "d"))
		if err != nil || n < minKeyRolloverDays || n > maxKeyRolloverDays {
			return fmt.Errorf("use off, or a number of days from %d to %d (e.g. 60)", minKeyRolloverDays, maxKeyRolloverDays)
		}
		t.SSO.KeyRolloverDays = n
		return nil
	},
}

// RollOverDueKeys runs the due steps of the automatic rollover of every
// tenant that has it on, as the system actor, and returns what it did.
// A failing tenant is logged and the others go on.
func (s *Service) RollOverDueKeys(ctx context.Context) ([]string, error) {
	tenants, err := s.store.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("automatic key rollover: %w", err)
	}
	var done []string
	for _, t := range tenants {
		if t.SSO.KeyRolloverDays == 0 {
			continue
		}
		steps, err := s.rollOverTenant(ctx, t)
		done = append(done, steps...)
		if err != nil {
			s.log.ErrorContext(ctx, "automatic key rollover failed", "tenant", t.Slug, "err", err)
		}
	}
	return done, nil
}

func (s *Service) rollOverTenant(ctx context.Context, t lanyard.Tenant) ([]string, error) {
	lead := time.Duration(t.SSO.KeyRolloverDays) * 24 * time.Hour
	now := s.now()
	var done []string
	for _, use := range []lanyard.KeyUse{lanyard.KeySigning, lanyard.KeyEncryption} {
		keys, err := s.store.SPKeys(ctx, t.ID)
		if err != nil {
			return done, err
		}
		stages := keyStages(keys)
		var current, next *lanyard.SPKey
		var expiredPrevious bool
		for i := range keys {
			k := &keys[i]
			if k.Use != use {
				continue
			}
			switch stages[k.ID] {
			case StageCurrent:
				current = k
			case StageNext:
				next = k
			case StagePrevious:
				expiredPrevious = expiredPrevious || !k.NotAfter.After(now)
			}
		}
		switch {
		case next != nil && now.Sub(next.CreatedAt) >= lead/2:
			if _, err := s.SwitchSPKey(ctx, ActorSystem, t.Slug, use); err != nil {
				return done, err
			}
			done = append(done, fmt.Sprintf("tenant %s: switched to the next %s key (automatic rollover)", t.Slug, use))
		case next == nil && current != nil && current.NotAfter.Sub(now) <= lead:
			if _, err := s.AddNextSPKey(ctx, ActorSystem, t.Slug, use, nil); err != nil {
				return done, err
			}
			done = append(done, fmt.Sprintf("tenant %s: added the next %s key, the current one expires %s (automatic rollover)", t.Slug, use, current.NotAfter.UTC().Format(time.DateOnly)))
		}
		if expiredPrevious {
			if _, err := s.RetireSPKey(ctx, ActorSystem, t.Slug, use); err != nil {
				return done, err
			}
			done = append(done, fmt.Sprintf("tenant %s: retired the expired previous %s key (automatic rollover)", t.Slug, use))
		}
	}
	return done, nil
}
