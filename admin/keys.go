package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// SP key rollover, per tenant and per use (signing, encryption), in the
// three steps IdPs need:
//
//  1. AddNextSPKey: a new key pair (generated, or imported: bring your own)
//     is published in the SP metadata after the current one. IdPs that
//     refresh the metadata learn it; Lanyard still signs with the current
//     key, and IdPs still encrypt to it (they take the first one), while
//     the new key already decrypts.
//  2. SwitchSPKey: the next key becomes the current one: it signs, and is
//     listed first for encryption. The previous key stays published and
//     keeps decrypting what IdPs that have not refreshed still send.
//  3. RetireSPKey: the previous keys are withdrawn: no longer published,
//     no longer decrypting.
//
// Every step is one transaction with its audit event.

// Key stages, as KeyInfo.Stage names them.
const (
	StageNext     = "next"     // published, decrypts, not yet used
	StageCurrent  = "current"  // signs / preferred for encryption
	StagePrevious = "previous" // published, decrypts, waiting to be retired
	StageRetired  = "retired"  // withdrawn
)

// keyStages returns the stage of each key of one use, keys newest first.
func keyStages(keys []lanyard.SPKey) map[int64]string {
	stages := map[int64]string{}
	current := map[lanyard.KeyUse]bool{}
	for _, k := range keys {
		switch {
		case !k.Active:
			stages[k.ID] = StageRetired
		case k.Next:
			stages[k.ID] = StageNext
		case !current[k.Use]:
			stages[k.ID] = StageCurrent
			current[k.Use] = true
		default:
			stages[k.ID] = StagePrevious
		}
	}
	return stages
}

func checkUse(use lanyard.KeyUse) error {
	if use != lanyard.KeySigning && use != lanyard.KeyEncryption {
		return invalidf("unknown key use %q: use %q or %q", use, lanyard.KeySigning, lanyard.KeyEncryption)
	}
	return nil
}

// keyCommand is the CLI spelling of a rollover step, for messages.
func keyCommand(step, slug string, use lanyard.KeyUse) string {
	return fmt.Sprintf("lanyard sp-key %s --tenant %s --use %s", step, slug, use)
}

// SPKeyMaterial is a key pair an administrator brings (an organisation
// with an SP certificate already registered at its IdP): either a PEM
// private key and certificate, or a PKCS#12 keystore with its password.
type SPKeyMaterial struct {
	KeyPEM, CertificatePEM []byte
	PKCS12                 []byte
	Password               string
}

// MaxKeyMaterialSize bounds each uploaded key, certificate or keystore.
const MaxKeyMaterialSize = 256 << 10

// readKeyMaterial checks and reads m (see spkeys.FromPEM and
// spkeys.FromPKCS12); refusals are KindInvalid errors that say what to do.
func (s *Service) readKeyMaterial(use lanyard.KeyUse, m SPKeyMaterial) (lanyard.SPKey, error) {
	var k lanyard.SPKey
	var err error
	switch {
	case len(m.PKCS12) > 0 && (len(m.KeyPEM) > 0 || len(m.CertificatePEM) > 0):
		return k, invalidf("give either a PKCS#12 file or a PEM key and certificate, not both")
	case len(m.PKCS12) > MaxKeyMaterialSize || len(m.KeyPEM) > MaxKeyMaterialSize || len(m.CertificatePEM) > MaxKeyMaterialSize:
		return k, invalidf("the key material is larger than %d KiB: give one key pair, not a bundle", MaxKeyMaterialSize>>10)
	case len(m.PKCS12) > 0:
		k, err = spkeys.FromPKCS12(use, m.PKCS12, m.Password, s.now())
	case len(m.KeyPEM) == 0 || len(m.CertificatePEM) == 0:
		return k, invalidf("give both the PEM private key and its PEM certificate (or a PKCS#12 file)")
	default:
		k, err = spkeys.FromPEM(use, m.KeyPEM, m.CertificatePEM, s.now())
	}
	var ie *spkeys.ImportError
	if errors.As(err, &ie) {
		return k, errorf(lanyard.KindInvalid, err, "%s", ie.Message)
	}
	return k, err
}

// AddNextSPKey adds the next key pair of the tenant for use: brought by the
// administrator when material is not nil, generated otherwise. A tenant has
// at most one next key per use.
func (s *Service) AddNextSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse, material *SPKeyMaterial) (KeyInfo, error) {
	if err := checkUse(use); err != nil {
		return KeyInfo{}, err
	}
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return KeyInfo{}, err
	}
	var k lanyard.SPKey
	how := "generated"
	if material != nil {
		how = "imported"
		if k, err = s.readKeyMaterial(use, *material); err != nil {
			return KeyInfo{}, err
		}
	} else if k, err = s.generateKey(t.Slug, use, s.now()); err != nil {
		return KeyInfo{}, fmt.Errorf("next %s key of tenant %s: %w", use, t.Slug, err)
	}
	// CreatedAt is when the key was published: metadata fetches are
	// compared with it to the nanosecond.
	k.TenantID, k.Active, k.Next, k.CreatedAt = t.ID, true, true, s.now()
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		keys, err := tx.SPKeys(ctx, t.ID)
		if err != nil {
			return err
		}
		for _, old := range keys {
			if old.Use == use && old.Active && old.Next {
				return errorf(lanyard.KindConflict, nil, "tenant %s already has a next %s key (%d, added %s): switch to it with %s, or retire it first",
					t.Slug, use, old.ID, old.CreatedAt.UTC().Format(time.DateOnly), keyCommand("switch", t.Slug, use))
			}
		}
		if err := tx.AddSPKey(ctx, &k); err != nil {
			return err
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID, Actor: actor, Action: "sp_key.next", Subject: fmt.Sprintf("%s key %d", use, k.ID),
			Message: fmt.Sprintf("added a next %s SP key (%s, %s), published in the SP metadata beside the current one", use, how, describeKey(k)),
		})
	})
	if err != nil {
		return KeyInfo{}, fmt.Errorf("next %s key of tenant %s: %w", use, t.Slug, err)
	}
	s.logChange(ctx, "sp_key.next", actor, "tenant", t.Slug, "use", use, "key", k.ID, "how", how)
	return keyInfo(k, StageNext), nil
}

// SwitchSPKey makes the tenant's next key for use the current one. The
// previous key keeps decrypting until RetireSPKey.
func (s *Service) SwitchSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse) (KeyInfo, error) {
	if err := checkUse(use); err != nil {
		return KeyInfo{}, err
	}
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return KeyInfo{}, err
	}
	var switched lanyard.SPKey
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		keys, err := tx.SPKeys(ctx, t.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(keys, func(k lanyard.SPKey) bool { return k.Use == use && k.Active && k.Next })
		if i < 0 {
			return errorf(lanyard.KindConflict, nil, "tenant %s has no next %s key to switch to: add one first with %s", t.Slug, use, keyCommand("next", t.Slug, use))
		}
		switched = keys[i]
		if err := tx.SetSPKeyNext(ctx, switched.ID, false); err != nil {
			return err
		}
		// The switched key must sort first among the current ones: a key
		// added after it (not possible through this service) or with a
		// later creation time would otherwise keep signing.
		for _, k := range keys {
			if k.Use == use && k.Active && !k.Next && k.CreatedAt.After(switched.CreatedAt) {
				return errorf(lanyard.KindConflict, nil, "the %s key %d is newer than the next key %d: retire it first", use, k.ID, switched.ID)
			}
		}
		switched.Next = false
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID, Actor: actor, Action: "sp_key.switch", Subject: fmt.Sprintf("%s key %d", use, switched.ID),
			Message: fmt.Sprintf("switched to the %s SP key %d (%s); the previous key is still published and decrypts until retired", use, switched.ID, describeKey(switched)),
		})
	})
	if err != nil {
		return KeyInfo{}, fmt.Errorf("switch %s key of tenant %s: %w", use, t.Slug, err)
	}
	s.logChange(ctx, "sp_key.switch", actor, "tenant", t.Slug, "use", use, "key", switched.ID)
	return keyInfo(switched, StageCurrent), nil
}

// RetireSPKey withdraws the tenant's previous keys for use (those the
// current key replaced): they are no longer published and no longer
// decrypt. It returns the retired keys.
func (s *Service) RetireSPKey(ctx context.Context, actor, slug string, use lanyard.KeyUse) ([]KeyInfo, error) {
	if err := checkUse(use); err != nil {
		return nil, err
	}
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	var retired []KeyInfo
	err = s.store.Atomic(ctx, func(tx lanyard.Store) error {
		retired = retired[:0]
		keys, err := tx.SPKeys(ctx, t.ID)
		if err != nil {
			return err
		}
		stages := keyStages(keys)
		var ids []string
		for _, k := range keys {
			if k.Use != use || stages[k.ID] != StagePrevious {
				continue
			}
			if err := tx.SetSPKeyActive(ctx, k.ID, false); err != nil {
				return err
			}
			retired = append(retired, keyInfo(k, StageRetired))
			ids = append(ids, fmt.Sprint(k.ID))
		}
		if len(retired) == 0 {
			if slices.ContainsFunc(keys, func(k lanyard.SPKey) bool { return k.Use == use && stages[k.ID] == StageNext }) {
				return errorf(lanyard.KindConflict, nil, "tenant %s has no previous %s key to retire: the next key is not in use yet; switch to it first with %s", t.Slug, use, keyCommand("switch", t.Slug, use))
			}
			return errorf(lanyard.KindConflict, nil, "tenant %s has no previous %s key to retire: only the current one is active", t.Slug, use)
		}
		return s.audit(ctx, tx, lanyard.AuditEvent{
			TenantID: t.ID, Actor: actor, Action: "sp_key.retire", Subject: fmt.Sprintf("%s keys %v", use, ids),
			Message: fmt.Sprintf("retired the previous %s SP key(s) %v: no longer published, no longer decrypting", use, ids),
		})
	})
	if err != nil {
		return nil, fmt.Errorf("retire %s key of tenant %s: %w", use, t.Slug, err)
	}
	s.logChange(ctx, "sp_key.retire", actor, "tenant", t.Slug, "use", use, "keys", len(retired))
	return retired, nil
}

// KeyRollover is the state of a tenant's SP keys: every key with its stage
// and, when a next key is published, who fetched the SP metadata since.
type KeyRollover struct {
	Tenant lanyard.Tenant
	Keys   []KeyInfo
	// NextSince is when the oldest next key still waiting was published;
	// zero when there is none.
	NextSince time.Time
	// FetchedSince are the requesters of the SP metadata since NextSince
	// (they have the next key); FetchedBefore those whose last fetch is
	// older (they have not refreshed since). Both empty without a next key.
	FetchedSince, FetchedBefore []lanyard.MetadataFetch
}

// SPKeyRollover returns the state of the tenant's SP keys.
func (s *Service) SPKeyRollover(ctx context.Context, slug string) (KeyRollover, error) {
	t, err := s.Tenant(ctx, slug)
	if err != nil {
		return KeyRollover{}, err
	}
	keys, err := s.store.SPKeys(ctx, t.ID)
	if err != nil {
		return KeyRollover{}, fmt.Errorf("tenant %s: SP keys: %w", t.Slug, err)
	}
	r := KeyRollover{Tenant: t}
	stages := keyStages(keys)
	for _, k := range keys {
		r.Keys = append(r.Keys, keyInfo(k, stages[k.ID]))
		if stages[k.ID] == StageNext && (r.NextSince.IsZero() || k.CreatedAt.Before(r.NextSince)) {
			r.NextSince = k.CreatedAt
		}
	}
	if r.NextSince.IsZero() {
		return r, nil
	}
	fetches, err := s.store.MetadataFetches(ctx, t.ID)
	if err != nil {
		return KeyRollover{}, fmt.Errorf("tenant %s: metadata fetches: %w", t.Slug, err)
	}
	for _, f := range fetches {
		if f.LastAt.Before(r.NextSince) {
			r.FetchedBefore = append(r.FetchedBefore, f)
		} else {
			r.FetchedSince = append(r.FetchedSince, f)
		}
	}
	return r, nil
}

// RecordMetadataFetch notes a fetch of the tenant's SP metadata. Errors
// are logged, never returned: serving metadata must not depend on it.
func (s *Service) RecordMetadataFetch(ctx context.Context, tenantID int64, requester, userAgent string) {
	const maxUserAgent = 200
	if len(userAgent) > maxUserAgent {
		userAgent = userAgent[:maxUserAgent]
	}
	err := s.store.RecordMetadataFetch(ctx, lanyard.MetadataFetch{TenantID: tenantID, Requester: requester, UserAgent: userAgent, LastAt: s.now()})
	if err != nil && !errors.Is(err, context.Canceled) {
		s.log.WarnContext(ctx, "could not record a fetch of the SP metadata", "tenant_id", tenantID, "err", err)
	}
}

func keyInfo(k lanyard.SPKey, stage string) KeyInfo {
	ki := KeyInfo{ID: k.ID, Use: k.Use, Active: k.Active, Next: k.Next, Stage: stage, NotAfter: k.NotAfter, CreatedAt: k.CreatedAt}
	if _, cert, err := spkeys.Parse(k); err != nil {
		ki.Problem = err.Error()
	} else {
		ki.Subject = cert.Subject.String()
		ki.Fingerprint = spkeys.Fingerprint(cert)
		ki.NotBefore, ki.NotAfter = cert.NotBefore, cert.NotAfter
	}
	return ki
}

func describeKey(k lanyard.SPKey) string {
	cert, err := spkeys.ParseCertificate(k.CertificatePEM)
	if err != nil {
		return "unreadable certificate"
	}
	return fmt.Sprintf("certificate %s, SHA-256 %s, valid until %s", cert.Subject, spkeys.Fingerprint(cert), cert.NotAfter.UTC().Format(time.DateOnly))
}
