package sqlstore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/keyseal"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

// The LDAP bind password is sealed at rest like the private keys: a
// password written before a secret key is sealed by SealPrivateKeys, reads
// back as written with the key, and does not open without it.
func TestSealedLDAPBindPassword(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		db := store.(*sqlstore.DB)
		tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme"}
		if err := db.CreateTenant(ctx, &tenant); err != nil {
			t.Fatal(err)
		}
		const pw = "directory bind password"
		d := lanyard.LDAPDirectory{TenantID: tenant.ID, URLs: []string{"ldaps://dc"}, BaseDN: "dc=acme", BindDN: "cn=sync", BindPassword: pw}
		if err := db.PutLDAPDirectory(ctx, &d, false); err != nil {
			t.Fatal(err)
		}
		sealer := newSealer(t, newSecret(t))
		db.SetSealer(sealer)
		if n, err := db.SealPrivateKeys(ctx); err != nil || n != 1 {
			t.Fatalf("SealPrivateKeys: %d, %v; want the password sealed", n, err)
		}
		raw, err := db.RawLDAPBindPassword(ctx, tenant.ID)
		if err != nil || !keyseal.IsSealed(raw) || bytes.Contains(raw, []byte(pw)) {
			t.Fatalf("stored password %q (%v): not sealed", raw, err)
		}
		got, err := db.LDAPDirectory(ctx, tenant.ID)
		if err != nil || got.BindPassword != pw {
			t.Fatalf("read back %q, %v", got.BindPassword, err)
		}
		// A new password is sealed as it is written.
		got.BindPassword = pw + " 2"
		if err := db.PutLDAPDirectory(ctx, &got, false); err != nil {
			t.Fatal(err)
		}
		if raw, _ = db.RawLDAPBindPassword(ctx, tenant.ID); !keyseal.IsSealed(raw) {
			t.Fatalf("new password stored in the clear: %q", raw)
		}
		db.SetSealer(nil)
		if _, err := db.LDAPDirectory(ctx, tenant.ID); err == nil {
			t.Fatal("a sealed password opened without the secret key")
		}
	})
}
