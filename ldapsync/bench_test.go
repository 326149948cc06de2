package ldapsync_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/slapdtest"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// countingStore counts the writes the sync makes, in and out of
// transactions.
type countingStore struct {
	ldapsync.Store
	writes *atomic.Int64
}

func (c countingStore) Atomic(ctx context.Context, fn func(tx lanyard.Store) error) error {
	return c.Store.Atomic(ctx, func(tx lanyard.Store) error {
		return fn(countingStore{tx.(ldapsync.Store), c.writes})
	})
}

func (c countingStore) CreateUser(ctx context.Context, u *lanyard.User) error {
	c.writes.Add(1)
	return c.Store.CreateUser(ctx, u)
}

func (c countingStore) UpdateUser(ctx context.Context, id int64, fn func(*lanyard.User) error) (lanyard.User, error) {
	c.writes.Add(1)
	return c.Store.UpdateUser(ctx, id, fn)
}

func (c countingStore) DeleteUserSessions(ctx context.Context, id int64) (int, error) {
	c.writes.Add(1)
	return c.Store.DeleteUserSessions(ctx, id)
}

func (c countingStore) AppendAudit(ctx context.Context, e *lanyard.AuditEvent) error {
	c.writes.Add(1)
	return c.Store.AppendAudit(ctx, e)
}

func (c countingStore) AddLDAPSyncRun(ctx context.Context, r *lanyard.LDAPSyncRun) error {
	c.writes.Add(1)
	return c.Store.AddLDAPSyncRun(ctx, r)
}

func (c countingStore) PutLDAPSyncState(ctx context.Context, id int64, s lanyard.LDAPSyncState) error {
	c.writes.Add(1)
	return c.Store.PutLDAPSyncState(ctx, id, s)
}

// peakRSS resets the process's peak resident memory (Linux) and returns a
// function that reads it.
func peakRSS(b *testing.B) func() int64 {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("cannot reset the peak RSS: %v", err)
	}
	runtime.GC()
	return func() int64 {
		data, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return 0
		}
		for _, line := range strings.Split(string(data), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				return kb << 10
			}
		}
		return 0
	}
}

// peakHeap samples the Go heap's live objects every few milliseconds
// until the returned function is called, which returns the highest.
func peakHeap() func() uint64 {
	stop := make(chan struct{})
	done := make(chan uint64)
	go func() {
		sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		var peak uint64
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-stop:
				done <- peak
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 { close(stop); return <-done }
}

// BenchmarkSync syncs a directory of LANYARD_LDAP_BENCH_USERS users
// (default 100,000) in LANYARD_LDAP_BENCH_GROUPS groups (default 1,000)
// into SQLite (LANYARD_LDAP_BENCH_ENGINE=postgres for PostgreSQL): a first
// full sync, a full sync with nothing changed, and an incremental sync of
// 100 changes; each phase once, whatever b.N. Run with:
//
//	go test ./ldapsync -run '^$' -bench Sync -benchtime 1x -timeout 60m
func BenchmarkSync(b *testing.B) {
	users, groups := 100000, 1000
	if n, err := strconv.Atoi(os.Getenv("LANYARD_LDAP_BENCH_USERS")); err == nil && n > 0 {
		users = n
	}
	if n, err := strconv.Atoi(os.Getenv("LANYARD_LDAP_BENCH_GROUPS")); err == nil && n > 0 {
		groups = n
	}
	engine := os.Getenv("LANYARD_LDAP_BENCH_ENGINE")
	if engine == "" {
		engine = "sqlite"
	}
	// Users are spread over the groups (user i in group i mod groups);
	// memberOf is written by hand, as slapadd runs no overlay.
	file, err := os.CreateTemp(b.TempDir(), "bench-*.ldif")
	if err != nil {
		b.Fatal(err)
	}
	ldif := bufio.NewWriter(file)
	for g := range groups {
		fmt.Fprintf(ldif, "dn: %s\nobjectClass: groupOfNames\ncn: g%d\n", slapdtest.GroupDN(fmt.Sprintf("g%d", g)), g)
		for i := g; i < users; i += groups {
			fmt.Fprintf(ldif, "member: %s\n", slapdtest.DN(fmt.Sprintf("u%06d", i)))
		}
		if g >= users {
			fmt.Fprintf(ldif, "member: %s\n", slapdtest.AdminDN)
		}
		ldif.WriteString("\n")
	}
	for i := range users {
		uid := fmt.Sprintf("u%06d", i)
		fmt.Fprintf(ldif, "dn: %s\nobjectClass: inetOrgPerson\nuid: %s\ncn: U %d\ngivenName: U\nsn: %d\nmail: %s@example.org\nmemberOf: %s\n\n",
			slapdtest.DN(uid), uid, i, i, uid, slapdtest.GroupDN(fmt.Sprintf("g%d", i%groups)))
	}
	if err := ldif.Flush(); err != nil {
		b.Fatal(err)
	}
	file.Close()
	began := time.Now()
	s := slapdtest.Start(b, slapdtest.Options{PreloadFile: file.Name(), MaxSize: 4 << 30})
	b.Logf("slapd loaded %d users and %d groups in %s", users, groups, time.Since(began).Round(time.Millisecond))

	store := testdb.Open(b, engine)
	ctx := context.Background()
	tenant := lanyard.Tenant{Slug: "bench", DisplayName: "Bench", SSO: lanyard.SSOSettings{GroupRoles: map[string][]string{"g1": {"one"}, "g2": {"two"}}}}
	if err := store.CreateTenant(ctx, &tenant); err != nil {
		b.Fatal(err)
	}
	dir := directory(s)
	dir.TenantID = tenant.ID
	if err := store.(ldapsync.Store).PutLDAPDirectory(ctx, &dir, false); err != nil {
		b.Fatal(err)
	}
	writes := &atomic.Int64{}
	sy := &ldapsync.Syncer{Store: countingStore{store.(ldapsync.Store), writes}}

	phase := func(name string, opt ldapsync.Options) lanyard.LDAPSyncRun {
		writes.Store(0)
		debug.FreeOSMemory()
		peak := peakRSS(b)
		heap := peakHeap()
		began := time.Now()
		run, err := sy.Sync(ctx, tenant, opt)
		took := time.Since(began)
		heapPeak := heap()
		if err != nil {
			b.Fatalf("%s: %v", name, err)
		}
		b.Logf("%-22s %9s  read %6d  created %6d updated %4d deactivated %d  writes %6d  peak RSS %4d MiB  peak Go heap %4d MiB",
			name, took.Round(time.Millisecond), run.Seen, run.Created, run.Updated, run.Deactivated, writes.Load(), peak()>>20, heapPeak>>20)
		b.ReportMetric(float64(heapPeak>>20), name+"-heap-MiB")
		b.ReportMetric(took.Seconds(), name+"-s")
		b.ReportMetric(float64(writes.Load()), name+"-writes")
		b.ReportMetric(float64(peak()>>20), name+"-peak-MiB")
		return run
	}
	b.ResetTimer()
	phase("first-full", ldapsync.Options{Actor: "bench"})
	run := phase("no-change-full", ldapsync.Options{Actor: "bench"})
	if run.Created+run.Updated+run.Deactivated+run.Reactivated != 0 {
		b.Fatalf("a no-change sync changed accounts: %+v", run)
	}
	// 100 changes: new mail addresses, at least a second after the load
	// (modifyTimestamp has a resolution of one second).
	time.Sleep(1100 * time.Millisecond)
	var mods strings.Builder
	for i := range 100 {
		fmt.Fprintf(&mods, "dn: %s\nchangetype: modify\nreplace: mail\nmail: changed%d@example.org\n\n", slapdtest.DN(fmt.Sprintf("u%06d", i*(users/100))), i)
	}
	s.Modify(b, mods.String())
	run = phase("incremental-100", ldapsync.Options{Actor: "bench", Kind: lanyard.SyncIncremental})
	if run.Updated != 100 {
		b.Fatalf("incremental: %d updated, want 100", run.Updated)
	}
	// The first incremental after a bulk load re-reads every entry of the
	// marker's second (the load's last second); in steady state the
	// marker is the second of the last changes: 100 more changes.
	time.Sleep(1100 * time.Millisecond)
	mods.Reset()
	for i := range 100 {
		fmt.Fprintf(&mods, "dn: %s\nchangetype: modify\nreplace: mail\nmail: again%d@example.org\n\n", slapdtest.DN(fmt.Sprintf("u%06d", i*(users/100)+1)), i)
	}
	s.Modify(b, mods.String())
	run = phase("incremental-100-steady", ldapsync.Options{Actor: "bench", Kind: lanyard.SyncIncremental})
	if run.Updated != 100 {
		b.Fatalf("incremental: %d updated, want 100", run.Updated)
	}
}
