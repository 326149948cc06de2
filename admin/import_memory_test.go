package admin

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/internal/testdb"
)

// generatedCSV is a CSV file of about size bytes made row by row as it is
// read, so that the test itself holds none of it: every row a new account.
type generatedCSV struct {
	size, done int
	row        int
	buf        []byte
}

func newGeneratedCSV(size int) *generatedCSV {
	return &generatedCSV{size: size, buf: []byte("login,email,firstname,lastname,status,login_method,roles\n")}
}

func (g *generatedCSV) Read(p []byte) (int, error) {
	if len(g.buf) == 0 {
		if g.done >= g.size {
			return 0, io.EOF
		}
		g.row++
		g.buf = fmt.Appendf(g.buf[:0], "user%07d,user%07d@acme.example,First%d,Last%d,active,sso,viewer;staff\n", g.row, g.row, g.row, g.row)
	}
	n := copy(p, g.buf)
	g.buf = g.buf[n:]
	g.done += n
	return n, nil
}

// peakHeap runs fn and reports the most live heap (as measured by the
// garbage collector) above what was live before, sampled every few
// milliseconds: what fn holds, not the garbage it leaves to collect.
func peakHeap(fn func()) uint64 {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	live := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	runtime.GC()
	base := live()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if l := live(); l > base && l-base > peak.Load() {
				peak.Store(l - base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// dryRunPeak checks a generated file of size bytes in a dry run and
// returns the rows read and the peak heap above the start.
func dryRunPeak(tb testing.TB, size int) (int, uint64) {
	tb.Helper()
	svc := New(testdb.SQLite(tb), Options{})
	ctx := context.Background()
	if _, err := svc.CreateTenant(ctx, "cli", "acme", "Acme", nil); err != nil {
		tb.Fatal(err)
	}
	var rep ImportReport
	var err error
	peak := peakHeap(func() {
		rep, err = svc.ImportUsers(ctx, "cli", "acme", newGeneratedCSV(size), ImportOptions{DryRun: true})
	})
	if err != nil {
		tb.Fatal(err)
	}
	if rep.Created != rep.Rows || rep.Rows == 0 {
		tb.Fatalf("report %d rows, %d created", rep.Rows, rep.Created)
	}
	return rep.Rows, peak
}

// TestImportDryRunMemory: a dry run streams the file: for an 8 MiB file of
// new accounts (about 100,000 rows) the live heap grows by about 6 MiB
// (131 MiB when every checked row was kept): the hashes of the logins seen
// and at most MaxReportedChanges changes listed. The bound checked is
// twice the file, far below what keeping the rows costs.
func TestImportDryRunMemory(t *testing.T) {
	const size = 8 << 20
	rows, peak := dryRunPeak(t, size)
	t.Logf("dry run of %d MiB, %d rows: peak heap +%.1f MiB", size>>20, rows, float64(peak)/(1<<20))
	if peak > 2*size {
		t.Errorf("peak heap +%.1f MiB for a %d MiB file: the dry run holds the rows", float64(peak)/(1<<20), size>>20)
	}
}

// BenchmarkImportDryRunLargest checks the largest file the UI and the API
// accept (64 MiB) in a dry run, and reports the peak heap:
//
//	go test -run '^$' -bench ImportDryRunLargest -benchtime 1x ./admin/
func BenchmarkImportDryRunLargest(b *testing.B) {
	for range b.N {
		rows, peak := dryRunPeak(b, 64<<20)
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}
