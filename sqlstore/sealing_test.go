package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/keyseal"
	"github.com/lanyard-sso/lanyard/spkeys"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

func newSecret(t *testing.T) []byte {
	t.Helper()
	secret, err := keyseal.ParseKey(keyseal.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func newSealer(t *testing.T, current []byte, previous ...[]byte) *keyseal.Sealer {
	t.Helper()
	s, err := keyseal.New(current, previous...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealedPrivateKeys: keys written before a secret key was configured
// are sealed by SealPrivateKeys; with the secret key every key reads back
// as written while the database holds only sealed values; without it, or
// with another one, reading fails and says why; a sealed value moved to
// another column does not open.
func TestSealedPrivateKeys(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		db := store.(*sqlstore.DB)
		tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
		if err := db.CreateTenant(ctx, &tenant); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		addSPKey := func() lanyard.SPKey {
			t.Helper()
			k, err := spkeys.Generate("acme", lanyard.KeySigning, now)
			if err != nil {
				t.Fatal(err)
			}
			k.TenantID, k.Active = tenant.ID, true
			if err := db.AddSPKey(ctx, &k); err != nil {
				t.Fatal(err)
			}
			return k
		}
		addSigningKey := func(kid string) lanyard.SigningKey {
			t.Helper()
			k := lanyard.SigningKey{ID: kid, Algorithm: "ES256", PrivateKey: []byte("der bytes of " + kid), CreatedAt: now,
				SignUntil: now.Add(time.Hour), PublishUntil: now.Add(2 * time.Hour)}
			if err := db.AddSigningKey(ctx, &k); err != nil {
				t.Fatal(err)
			}
			return k
		}
		readAll := func() (map[int64]string, map[string][]byte, error) {
			sp, err := db.SPKeys(ctx, tenant.ID)
			if err != nil {
				return nil, nil, err
			}
			signing, err := db.SigningKeys(ctx, now)
			if err != nil {
				return nil, nil, err
			}
			spByID, signingByID := map[int64]string{}, map[string][]byte{}
			for _, k := range sp {
				spByID[k.ID] = k.PrivateKeyPEM
			}
			for _, k := range signing {
				signingByID[k.ID] = k.PrivateKey
			}
			return spByID, signingByID, nil
		}
		inTheClear := func() int {
			t.Helper()
			raw, err := db.RawPrivateKeys(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, v := range raw {
				if !keyseal.IsSealed(v) {
					n++
				}
				if keyseal.IsSealed(v) && (bytes.Contains(v, []byte("PRIVATE KEY")) || bytes.Contains(v, []byte("der bytes"))) {
					t.Errorf("a sealed value shows its PEM: %.60s", v)
				}
			}
			return n
		}

		oldSP, oldSigning := addSPKey(), addSigningKey("old")
		if n := inTheClear(); n != 2 {
			t.Fatalf("without a secret key, %d keys are in the clear, want 2", n)
		}

		firstSecret := newSecret(t)
		sealer := newSealer(t, firstSecret)
		db.SetSealer(sealer)
		newSP, newSigning := addSPKey(), addSigningKey("new")
		if n := inTheClear(); n != 2 {
			t.Fatalf("keys written with a secret key: %d in the clear, want only the 2 older ones", n)
		}
		if n, err := db.SealPrivateKeys(ctx); err != nil || n != 2 {
			t.Fatalf("SealPrivateKeys: %d, %v; want 2 sealed", n, err)
		}
		if n, err := db.SealPrivateKeys(ctx); err != nil || n != 0 {
			t.Fatalf("SealPrivateKeys again: %d, %v; want 0", n, err)
		}
		if n := inTheClear(); n != 0 {
			t.Fatalf("after SealPrivateKeys, %d keys are in the clear", n)
		}
		sp, signing, err := readAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []lanyard.SPKey{oldSP, newSP} {
			if sp[k.ID] != k.PrivateKeyPEM {
				t.Errorf("SP key %d reads back as %.40q", k.ID, sp[k.ID])
			}
			if _, _, err := spkeys.Parse(lanyard.SPKey{PrivateKeyPEM: sp[k.ID], CertificatePEM: k.CertificatePEM}); err != nil {
				t.Errorf("SP key %d does not parse after sealing: %v", k.ID, err)
			}
		}
		for _, k := range []lanyard.SigningKey{oldSigning, newSigning} {
			if !bytes.Equal(signing[k.ID], k.PrivateKey) {
				t.Errorf("signing key %s reads back as %q", k.ID, signing[k.ID])
			}
		}

		db.SetSealer(nil)
		if _, _, err := readAll(); !errors.Is(err, keyseal.ErrNoSecretKey) {
			t.Errorf("without the secret key: %v, want ErrNoSecretKey", err)
		}
		if _, err := db.SealPrivateKeys(ctx); !errors.Is(err, keyseal.ErrNoSecretKey) {
			t.Errorf("start-up check without the secret key: %v, want ErrNoSecretKey", err)
		}
		other := newSealer(t, newSecret(t))
		db.SetSealer(other)
		if _, _, err := readAll(); err == nil || !strings.Contains(err.Error(), "sealed with secret key "+sealer.ID()) {
			t.Errorf("with another secret key: %v", err)
		}
		if _, err := db.SealPrivateKeys(ctx); err == nil || !strings.Contains(err.Error(), "sealed with secret key "+sealer.ID()) {
			t.Errorf("start-up check with another secret key: %v", err)
		}

		// Changing the secret key: the new one first, the old one after it;
		// the start-up check seals everything anew, and then the new key
		// alone opens every key.
		secondSecret := newSecret(t)
		db.SetSealer(newSealer(t, secondSecret, firstSecret))
		if n, err := db.SealPrivateKeys(ctx); err != nil || n != 4 {
			t.Fatalf("SealPrivateKeys with a new secret key: %d, %v; want all 4 sealed anew", n, err)
		}
		db.SetSealer(newSealer(t, secondSecret))
		if sp, signing, err := readAll(); err != nil || sp[oldSP.ID] != oldSP.PrivateKeyPEM || !bytes.Equal(signing["new"], newSigning.PrivateKey) {
			t.Fatalf("after changing the secret key: %v", err)
		}
		if err := db.SwapSealedKey(ctx, oldSP.ID, "old"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := readAll(); err == nil || !strings.Contains(err.Error(), "does not open") {
			t.Errorf("a signing key moved into sp_keys: %v, want it refused", err)
		}
	})
}
