package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

func testSPKeyNext(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	cur := lanyard.SPKey{TenantID: a.ID, Use: lanyard.KeySigning, PrivateKeyPEM: "P1", CertificatePEM: "C1", Active: true, CreatedAt: t0}
	must(t, s.AddSPKey(ctx, &cur), "add current")
	next := lanyard.SPKey{TenantID: a.ID, Use: lanyard.KeySigning, PrivateKeyPEM: "P2", CertificatePEM: "C2", Active: true, Next: true, CreatedAt: t0.Add(time.Hour)}
	must(t, s.AddSPKey(ctx, &next), "add next")
	keys, err := s.SPKeys(ctx, a.ID)
	must(t, err, "list")
	wantEqual(t, "keys with a next one", keys, []lanyard.SPKey{next, cur})

	before, err := s.ConfigVersion(ctx)
	must(t, err, "config version")
	must(t, s.SetSPKeyNext(ctx, next.ID, false), "switch")
	after, err := s.ConfigVersion(ctx)
	must(t, err, "config version")
	if after <= before {
		t.Fatalf("config version after SetSPKeyNext: %d, was %d: want it to grow", after, before)
	}
	keys, err = s.SPKeys(ctx, a.ID)
	must(t, err, "list after switch")
	next.Next = false
	wantEqual(t, "keys after switch", keys, []lanyard.SPKey{next, cur})
	wantErr(t, s.SetSPKeyNext(ctx, next.ID+1000, true), lanyard.ErrNotFound, "unknown key")
}

func testMetadataFetches(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	must(t, s.RecordMetadataFetch(ctx, lanyard.MetadataFetch{TenantID: a.ID, Requester: "192.0.2.1", UserAgent: "Shibboleth/3", LastAt: t0}), "first fetch")
	must(t, s.RecordMetadataFetch(ctx, lanyard.MetadataFetch{TenantID: a.ID, Requester: "192.0.2.1", UserAgent: "Shibboleth/4", LastAt: t0.Add(time.Hour)}), "second fetch")
	must(t, s.RecordMetadataFetch(ctx, lanyard.MetadataFetch{TenantID: a.ID, Requester: "192.0.2.2", UserAgent: "curl", LastAt: t0.Add(time.Minute)}), "other requester")
	must(t, s.RecordMetadataFetch(ctx, lanyard.MetadataFetch{TenantID: b.ID, Requester: "192.0.2.1", UserAgent: "x", LastAt: t0}), "other tenant")
	got, err := s.MetadataFetches(ctx, a.ID)
	must(t, err, "list")
	wantEqual(t, "fetches", got, []lanyard.MetadataFetch{
		{TenantID: a.ID, Requester: "192.0.2.1", UserAgent: "Shibboleth/4", FirstAt: t0, LastAt: t0.Add(time.Hour), Count: 2},
		{TenantID: a.ID, Requester: "192.0.2.2", UserAgent: "curl", FirstAt: t0.Add(time.Minute), LastAt: t0.Add(time.Minute), Count: 1},
	})

	// Anyone may fetch metadata: only the most recent requesters are kept.
	for i := range lanyard.MaxMetadataFetchers + 5 {
		must(t, s.RecordMetadataFetch(ctx, lanyard.MetadataFetch{TenantID: b.ID, Requester: fmt.Sprintf("198.51.100.%d", i), LastAt: t0.Add(time.Duration(i+1) * time.Second)}), "flood")
	}
	got, err = s.MetadataFetches(ctx, b.ID)
	must(t, err, "list after flood")
	if len(got) != lanyard.MaxMetadataFetchers || got[0].Requester != fmt.Sprintf("198.51.100.%d", lanyard.MaxMetadataFetchers+4) {
		t.Fatalf("after a flood: %d requesters, newest %q; want %d, the newest kept", len(got), got[0].Requester, lanyard.MaxMetadataFetchers)
	}
}
