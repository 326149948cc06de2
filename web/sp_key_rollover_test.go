package web

import (
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/simplesamlphp"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// spMetadataKeys are the KeyDescriptors of an SP metadata document, in
// document order.
type spMetadataKeys struct {
	Keys []struct {
		Use  string `xml:"use,attr"`
		Cert string `xml:"KeyInfo>X509Data>X509Certificate"`
	} `xml:"SPSSODescriptor>KeyDescriptor"`
}

// refreshSPMetadata does what an IdP's metadata refresh does: fetches the
// tenant's SP metadata (naming itself in the User-Agent) and makes the
// IdP trust exactly the certificates it lists, in its order.
func (e *ssoEnv) refreshSPMetadata(t *testing.T, slug string) spMetadataKeys {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.base+"/t/"+slug+"/saml/metadata", nil)
	req.Header.Set("User-Agent", "SimpleSAMLphp-metarefresh/1.19")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var md spMetadataKeys
	if err := xml.Unmarshal(body, &md); err != nil {
		t.Fatalf("SP metadata: %v\n%s", err, body)
	}
	sp := simplesamlphp.SP{
		EntityID: e.base + "/t/" + slug + "/saml/metadata", ACSURL: e.base + "/t/" + slug + "/saml/acs", SLOURL: e.base + "/t/" + slug + "/saml/slo",
		ValidateAuthnRequest: true, EncryptAssertion: true,
		NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", NameIDAttribute: "uid",
	}
	for _, k := range md.Keys {
		der, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(k.Cert), ""))
		if err != nil {
			t.Fatal(err)
		}
		sp.Keys = append(sp.Keys, simplesamlphp.SPKey{
			CertificatePEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			Signing:        k.Use == "signing" || k.Use == "", Encryption: k.Use == "encryption" || k.Use == "",
		})
	}
	e.idp.TrustSP(t, sp)
	return md
}

// waitForSPKeys waits until the server publishes the certificates of the
// keys, in that order, for the use (the configuration reaches it at the
// next version check).
func (e *ssoEnv) waitForSPKeys(t *testing.T, slug, use string, want ...lanyard.SPKey) {
	t.Helper()
	var wantCerts []string
	for _, k := range want {
		block, _ := pem.Decode([]byte(k.CertificatePEM))
		wantCerts = append(wantCerts, base64.StdEncoding.EncodeToString(block.Bytes))
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		snap, err := e.server.tenants.Snapshot(context.Background(), slug)
		if err != nil {
			t.Fatal(err)
		}
		var md spMetadataKeys
		if err := xml.Unmarshal(snap.Metadata, &md); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range md.Keys {
			if k.Use == use {
				got = append(got, strings.Join(strings.Fields(k.Cert), ""))
			}
		}
		if slices.Equal(got, wantCerts) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s the %s keys published are %d certificates, not the %d expected in order", use, len(got), len(wantCerts))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var encryptedKeyCipher = regexp.MustCompile(`(?s)EncryptedKey\b.*?CipherValue>([^<]+)<`)

// encryptedTo says which of the keys the IdP encrypted the assertion of
// the form to (RSA-OAEP-MGF1P key transport), -1 for none.
func encryptedTo(t *testing.T, form *simplesamlphp.Form, keys ...*rsa.PrivateKey) int {
	t.Helper()
	m := encryptedKeyCipher.FindStringSubmatch(decodeForm(t, form))
	if m == nil {
		t.Fatal("the IdP's response has no EncryptedKey")
	}
	ct, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(m[1]), ""))
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if _, err := rsa.DecryptOAEP(sha1.New(), nil, k, ct, nil); err == nil {
			return i
		}
	}
	return -1
}

// hasFinding reports whether the doctor finds check on the tenant.
func hasFinding(t *testing.T, e *ssoEnv, slug, check string) bool {
	t.Helper()
	d, err := e.admin.Diagnose(context.Background(), slug)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range d.Findings {
		if f.Check == check {
			return true
		}
	}
	return false
}

func spKeyOf(t *testing.T, e *ssoEnv, tenant lanyard.Tenant, use lanyard.KeyUse, id int64) (lanyard.SPKey, *rsa.PrivateKey) {
	t.Helper()
	keys, err := e.store.SPKeys(context.Background(), tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Use == use && (id == 0 || k.ID == id) && (id != 0 || !k.Next) {
			priv, _, err := spkeys.Parse(k)
			if err != nil {
				t.Fatal(err)
			}
			return k, priv
		}
	}
	t.Fatalf("no %s key %d", use, id)
	return lanyard.SPKey{}, nil
}

// TestSPKeyRolloverWithSimpleSAMLphp rolls a tenant's signing and
// encryption keys over, step by step, with SimpleSAMLphp as the IdP
// requiring signed AuthnRequests and encrypting assertions, refreshing the
// SP metadata at the points a real IdP might (and not refreshing at
// others): every login works, assertions encrypted to the old and to the
// new key both open, and the retired key no longer does.
func TestSPKeyRolloverWithSimpleSAMLphp(t *testing.T) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) {
			if engine == "postgres" {
				testdb.Open(t, engine) // skips without LANYARD_TEST_POSTGRES_URL
			}
			e := newSSOEnv(t, engine, []simplesamlphp.User{idpUser("rolf", "rolf@example.com", "Rolf", "Roll", nil)})
			ctx := context.Background()
			tenant := e.addTenant("roll", tenantOptions{encrypt: true, settings: []string{"jit=true"}})
			e.refreshSPMetadata(t, "roll")
			oldSign, _ := spKeyOf(t, e, tenant, lanyard.KeySigning, 0)
			oldEnc, oldEncKey := spKeyOf(t, e, tenant, lanyard.KeyEncryption, 0)

			login := func(step string, wantEncryptedTo *rsa.PrivateKey, newEncKey *rsa.PrivateKey) {
				t.Helper()
				b := newBrowser()
				form := e.spLogin(b, "roll", "/step", "rolf")
				if wantEncryptedTo != nil {
					want := 0
					if wantEncryptedTo != oldEncKey {
						want = 1
					}
					if got := encryptedTo(t, form, oldEncKey, newEncKey); got != want {
						t.Fatalf("%s: assertion encrypted to key %d, want %d (0 old, 1 new)", step, got, want)
					}
				}
				if a := b.post(t, form); a.status != http.StatusSeeOther || a.session == "" {
					t.Fatalf("%s: login refused: %d\n%s", step, a.status, a.body)
				}
			}
			login("before the rollover", oldEncKey, nil)

			// 1. Next keys: published after the current ones.
			nextSign, err := e.admin.AddNextSPKey(ctx, "test", "roll", lanyard.KeySigning, nil)
			if err != nil {
				t.Fatal(err)
			}
			nextEncInfo, err := e.admin.AddNextSPKey(ctx, "test", "roll", lanyard.KeyEncryption, nil)
			if err != nil {
				t.Fatal(err)
			}
			newSign, _ := spKeyOf(t, e, tenant, lanyard.KeySigning, nextSign.ID)
			newEnc, newEncKey := spKeyOf(t, e, tenant, lanyard.KeyEncryption, nextEncInfo.ID)
			e.waitForSPKeys(t, "roll", "signing", oldSign, newSign)
			e.waitForSPKeys(t, "roll", "encryption", oldEnc, newEnc)
			login("next keys published, IdP not refreshed", oldEncKey, newEncKey)
			// Two hours later, with no refresh, the doctor says the IdPs
			// have not picked the next key up.
			later := admin.New(e.store, admin.Options{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
			notFetched := func() bool {
				d, err := later.Diagnose(ctx, "roll")
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range d.Findings {
					if f.Check == admin.CheckNextKeyNotSeen && strings.Contains(f.Evidence, "SimpleSAMLphp-metarefresh/1.19") {
						return true
					}
				}
				return false
			}
			if !notFetched() {
				t.Error("the doctor does not see that the next key was not fetched")
			}
			if r, err := e.admin.SPKeyRollover(ctx, "roll"); err != nil || len(r.FetchedSince) != 0 || len(r.FetchedBefore) != 1 {
				t.Fatalf("before the IdP refreshed: %+v, %v; want one requester, not since the next key", r, err)
			}
			e.refreshSPMetadata(t, "roll")
			if r, err := e.admin.SPKeyRollover(ctx, "roll"); err != nil || len(r.FetchedSince) != 1 || r.FetchedSince[0].UserAgent != "SimpleSAMLphp-metarefresh/1.19" {
				t.Fatalf("after the IdP refreshed: %+v, %v; want it among those that have the next key", r, err)
			}
			login("next keys published, IdP refreshed", oldEncKey, newEncKey)
			if notFetched() {
				t.Error("the doctor still sees the next key not fetched after the IdP refreshed")
			}

			// 2. Switch: the new key signs and is preferred for encryption;
			// an IdP that has not refreshed still encrypts to the old one.
			for _, use := range []lanyard.KeyUse{lanyard.KeySigning, lanyard.KeyEncryption} {
				if _, err := e.admin.SwitchSPKey(ctx, "test", "roll", use); err != nil {
					t.Fatal(err)
				}
			}
			e.waitForSPKeys(t, "roll", "signing", newSign, oldSign)
			e.waitForSPKeys(t, "roll", "encryption", newEnc, oldEnc)
			login("switched, IdP not refreshed: encrypted to the old key", oldEncKey, newEncKey)
			if !hasFinding(t, e, "roll", admin.CheckOldKeyInUse) {
				t.Error("the doctor does not see the IdP still encrypting to the old key")
			}
			e.refreshSPMetadata(t, "roll")
			login("switched, IdP refreshed: encrypted to the new key", newEncKey, newEncKey)
			if hasFinding(t, e, "roll", admin.CheckOldKeyInUse) {
				t.Error("the doctor still sees the old key in use after the IdP refreshed")
			}

			// 3. Retire: an IdP still on the old encryption key fails; one
			// that refreshed works.
			for _, use := range []lanyard.KeyUse{lanyard.KeySigning, lanyard.KeyEncryption} {
				if got, err := e.admin.RetireSPKey(ctx, "test", "roll", use); err != nil || len(got) != 1 {
					t.Fatalf("retire %s: %v, %v", use, got, err)
				}
			}
			e.waitForSPKeys(t, "roll", "signing", newSign)
			e.waitForSPKeys(t, "roll", "encryption", newEnc)
			stale := simplesamlphp.SP{
				EntityID: e.base + "/t/roll/saml/metadata", ACSURL: e.base + "/t/roll/saml/acs", EncryptAssertion: true,
				NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent", NameIDAttribute: "uid",
				Keys: []simplesamlphp.SPKey{{CertificatePEM: oldEnc.CertificatePEM, Encryption: true}, {CertificatePEM: newSign.CertificatePEM, Signing: true}},
			}
			e.idp.TrustSP(t, stale)
			b := newBrowser()
			form := e.spLogin(b, "roll", "/step", "rolf")
			if a := b.post(t, form); a.status == http.StatusSeeOther || a.session != "" {
				t.Fatalf("an assertion encrypted to the retired key was accepted: %d", a.status)
			}
			e.refreshSPMetadata(t, "roll")
			login("retired, IdP refreshed", newEncKey, newEncKey)

			evs, err := e.store.AuditEvents(ctx, lanyard.AuditFilter{TenantID: tenant.ID})
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, ev := range evs {
				if strings.HasPrefix(ev.Action, "sp_key.") {
					actions = append(actions, ev.Action)
				}
			}
			if len(actions) != 6 {
				t.Errorf("audit of the rollover: %v, want 2 each of next, switch, retire", actions)
			}
		})
	}
}
