package ldapsync_test

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// The metrics count what the runs did: their duration by kind and status,
// the entries read, the changes by kind, the runs that did not apply.
func TestMetrics(t *testing.T) {
	store := testdb.SQLite(t)
	s, tenant, sy := setup(t, store)
	m := ldapsync.NewMetrics()
	sy.Metrics = m
	reg := prometheus.NewRegistry()
	for _, c := range m.Collectors() {
		reg.MustRegister(c)
	}
	ctx := context.Background()
	mustSync(t, sy, tenant, ldapsync.Options{Actor: "test"})
	s.Stop()
	if _, err := sy.Sync(ctx, tenant, ldapsync.Options{Actor: "test"}); err == nil {
		t.Fatal("a sync with the directory down succeeded")
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, mt := range f.GetMetric() {
			key := f.GetName()
			for _, l := range mt.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			switch {
			case mt.GetCounter() != nil:
				got[key] = mt.GetCounter().GetValue()
			case mt.GetHistogram() != nil:
				got[key] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	for key, want := range map[string]float64{
		"lanyard_ldap_sync_changes_total change=create":                             3,
		"lanyard_ldap_sync_entries_seen_total kind=full":                            4,
		"lanyard_ldap_sync_errors_total status=failed":                              1,
		"lanyard_ldap_sync_duration_seconds kind=full status=ok":                    1,
		"lanyard_ldap_sync_duration_seconds kind=full status=" + lanyard.SyncFailed: 1,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v (all: %v)", key, got[key], want, got)
		}
	}
}
