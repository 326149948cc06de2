//go:build unix

package bench

import (
	"syscall"
	"testing"
	"time"
)

// reportCPU starts measuring the process's user and system CPU time (GC
// workers included); the function it returns, called after the b.Loop
// loop, reports it per operation as cpu-ns/op. On a shared machine it
// moves far less than the wall time, which counts the waits for a core.
func reportCPU(b *testing.B) (stop func()) {
	start := cpuNow()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuNow()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
