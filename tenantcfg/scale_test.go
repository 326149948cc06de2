package tenantcfg

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/spkeys"
)

// A change to one tenant (its settings, an IdP, an SP key) rebuilds that
// tenant's snapshot only, on both engines; the others keep theirs. The
// tenant record the session check reads (TenantByID) follows the change.
func TestTenantChangeRebuildsOneSnapshot(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		const n = 5
		tenants := make([]lanyard.Tenant, n)
		for i := range tenants {
			tenants[i] = lanyard.Tenant{Slug: fmt.Sprintf("t%d", i)}
			if err := store.CreateTenant(ctx, &tenants[i]); err != nil {
				t.Fatal(err)
			}
		}
		r := New(store, Options{BaseURL: base, CheckInterval: -1})
		ldap := store.(lanyard.LDAPStore)
		snapshots := func() []*Snapshot {
			t.Helper()
			out := make([]*Snapshot, n)
			for i, tn := range tenants {
				s, err := r.Snapshot(ctx, tn.Slug)
				if err != nil {
					t.Fatal(err)
				}
				out[i] = s
				if _, err := r.TenantByID(ctx, tn.ID); err != nil {
					t.Fatal(err)
				}
			}
			return out
		}
		before := snapshots()
		if got := r.Rebuilds(); got != n {
			t.Fatalf("first use built %d snapshots, want %d", got, n)
		}

		changes := []struct {
			name   string
			change func(tenantID int64) error
		}{
			{"settings", func(id int64) error {
				_, err := store.UpdateTenant(ctx, id, func(tt *lanyard.Tenant) error {
					tt.SSO.SessionIdle = lanyard.Duration(time.Hour)
					return nil
				})
				return err
			}},
			{"SP key", func(id int64) error {
				k, err := spkeys.Generate("t", lanyard.KeySigning, time.Now())
				if err != nil {
					return err
				}
				k.TenantID = id
				return store.AddSPKey(ctx, &k)
			}},
			{"IdP", func(id int64) error {
				k, err := spkeys.Generate("idp", lanyard.KeySigning, time.Now())
				if err != nil {
					return err
				}
				c := lanyard.IdPConnection{TenantID: id, EntityID: "https://idp.example.org", MetadataXML: idpMetadata("https://idp.example.org", k.CertificatePEM)}
				return store.PutIdP(ctx, &c)
			}},
			{"LDAP directory", func(id int64) error {
				return ldap.PutLDAPDirectory(ctx, &lanyard.LDAPDirectory{TenantID: id, Enabled: true, URLs: []string{"ldap://127.0.0.1:1"}, BaseDN: "dc=example,dc=org", AllowJIT: true}, false)
			}},
		}
		for i, c := range changes {
			changed := i + 1
			rebuilds := r.Rebuilds()
			if err := c.change(tenants[changed].ID); err != nil {
				t.Fatal(err)
			}
			after := snapshots()
			if got := r.Rebuilds() - rebuilds; got != 1 {
				t.Errorf("%s: a change to one tenant rebuilt %d snapshots, want 1", c.name, got)
			}
			for j := range after {
				if (after[j] != before[j]) != (j == changed) {
					t.Errorf("%s: tenant %d rebuilt: %v, want %v", c.name, j, after[j] != before[j], j == changed)
				}
			}
			before = after
		}
		got, err := r.TenantByID(ctx, tenants[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.SSO.SessionIdle != lanyard.Duration(time.Hour) {
			t.Errorf("TenantByID after the change: idle %v, want 1h", time.Duration(got.SSO.SessionIdle))
		}
		if len(before[3].IdPs) != 1 {
			t.Errorf("the IdP added to tenant 3 is not in its new snapshot")
		}
		if d := before[4].Directory; !before[4].DirectoryKnown || d == nil || !d.AllowJIT || d.LoginAttr != "uid" {
			t.Errorf("the directory added to tenant 4 is not in its new snapshot, normalised: known %v, %+v", before[4].DirectoryKnown, d)
		}
		if !before[0].DirectoryKnown || before[0].Directory != nil {
			t.Errorf("tenant 0, which has no directory: known %v, %+v", before[0].DirectoryKnown, before[0].Directory)
		}

		// What the sync writes as it runs is no configuration change; a
		// change of the directory's settings, or its removal, is.
		rebuilds := r.Rebuilds()
		if err := ldap.PutLDAPSyncState(ctx, tenants[4].ID, lanyard.LDAPSyncState{Mark: "20261203000000Z", LastStatus: "ok"}); err != nil {
			t.Fatal(err)
		}
		if _, err := ldap.ClaimLDAPSync(ctx, tenants[4].ID, "node-a", time.Now(), time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if after := snapshots(); r.Rebuilds() != rebuilds || after[4] != before[4] {
			t.Errorf("the directory's sync state rebuilt %d snapshots, want 0", r.Rebuilds()-rebuilds)
		}
		if err := ldap.PutLDAPDirectory(ctx, &lanyard.LDAPDirectory{TenantID: tenants[4].ID, Enabled: true, URLs: []string{"ldap://127.0.0.1:1"}, BaseDN: "dc=example,dc=org"}, false); err != nil {
			t.Fatal(err)
		}
		after := snapshots()
		if d := after[4].Directory; r.Rebuilds()-rebuilds != 1 || d == nil || d.AllowJIT {
			t.Errorf("a change of the directory's settings: %d rebuilds (want 1), directory %+v", r.Rebuilds()-rebuilds, d)
		}
		if err := ldap.DeleteLDAPDirectory(ctx, tenants[4].ID); err != nil {
			t.Fatal(err)
		}
		if after := snapshots(); after[4].Directory != nil || r.Rebuilds()-rebuilds != 2 {
			t.Errorf("the removed directory: %d rebuilds (want 2), directory %+v", r.Rebuilds()-rebuilds, after[4].Directory)
		}
	})
}

// BenchmarkTenantChange is the work one configuration change causes on a
// node that has every tenant's snapshot built: the change itself, noticing
// it, and the next request of the changed tenant and of an unchanged one.
// With the per-tenant change log its cost does not grow with the number of
// tenants; compare the sub-benchmarks:
//
//	go test ./tenantcfg -run '^$' -bench TenantChange -benchtime 200x -count 3
func BenchmarkTenantChange(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("tenants=%d", n), func(b *testing.B) {
			ctx := context.Background()
			store := testdb.SQLite(b)
			tenants := make([]lanyard.Tenant, n)
			for i := range tenants {
				tenants[i] = lanyard.Tenant{Slug: fmt.Sprintf("t%05d", i)}
				if err := store.CreateTenant(ctx, &tenants[i]); err != nil {
					b.Fatal(err)
				}
			}
			r := New(store, Options{BaseURL: base, CheckInterval: -1})
			for _, tn := range tenants {
				if _, err := r.Snapshot(ctx, tn.Slug); err != nil {
					b.Fatal(err)
				}
			}
			built := r.Rebuilds()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				changed := tenants[i%n]
				if _, err := store.UpdateTenant(ctx, changed.ID, func(t *lanyard.Tenant) error {
					t.SSO.SessionIdle = lanyard.Duration(time.Hour + time.Duration(i)*time.Second)
					return nil
				}); err != nil {
					b.Fatal(err)
				}
				if _, err := r.Snapshot(ctx, changed.Slug); err != nil {
					b.Fatal(err)
				}
				if _, err := r.Snapshot(ctx, tenants[(i+n/2)%n].Slug); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(r.Rebuilds()-built)/float64(b.N), "rebuilds/op")
		})
	}
}
