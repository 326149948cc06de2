package web

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultProbeInterval is how often a ready server commits its write probe.
const DefaultProbeInterval = 5 * time.Second

// probeTimeout bounds one write probe, so that a hung database fails the
// probe instead of piling probes up.
const probeTimeout = 3 * time.Second

// ReadinessConfig says what /readyz checks beyond the database answering.
type ReadinessConfig struct {
	// ProbeInterval is how often, once ready, the server commits a small
	// write (Store.ProbeWrite): its outcome, like that of any write, decides
	// whether the node is ready. Zero means DefaultProbeInterval; negative
	// means no probe (real writes still count).
	ProbeInterval time.Duration
	// Node names this server in the probe's row. Empty: host name and pid.
	Node string
	// DataDir, when set, is the directory of an SQLite database: /readyz
	// fails while its volume has less than MinFreeBytes free.
	DataDir      string
	MinFreeBytes uint64
}

// writeProbe commits the store's write probe every interval.
type writeProbe struct {
	s        *Server
	interval time.Duration
	node     string
	failures prometheus.Counter
}

func newWriteProbe(s *Server, cfg ReadinessConfig) *writeProbe {
	p := &writeProbe{s: s, interval: cfg.ProbeInterval, node: cfg.Node}
	if p.interval == 0 {
		p.interval = DefaultProbeInterval
	}
	if p.node == "" {
		host, _ := os.Hostname()
		p.node = host + ":" + strconv.Itoa(os.Getpid())
	}
	p.failures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lanyard_store_write_probe_failures_total",
		Help: "Write probes (a small commit every probe interval, for /readyz) that failed.",
	})
	return p
}

// RunWriteProbe commits the write probe every Config.Readiness
// ProbeInterval until ctx is done (at once with a negative interval). Its
// outcome, like any write's, decides what /readyz answers. Run it once the
// server is ready, beside the other background jobs.
func (s *Server) RunWriteProbe(ctx context.Context) {
	p := s.probe
	if p.interval < 0 {
		return
	}
	tick := time.NewTicker(p.interval)
	defer tick.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		probeCtx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := s.store.ProbeWrite(probeCtx, p.node)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			p.failures.Inc()
			// Logged when it starts failing, not at every tick.
			if !failing {
				s.logger.Error("write probe failed: the database does not take writes; /readyz answers 503", "err", err)
			}
			failing = true
		case failing:
			s.logger.Info("write probe succeeded again: the database takes writes")
			failing = false
		}
	}
}

// notReadyReason returns why the node cannot complete a login now, or ""
// when it can: the database does not answer, its last write failed for a
// reason of its own (full, unreachable, locked), or the SQLite volume is
// short of free space.
func (s *Server) notReadyReason(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, readyPingTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Sprintf("database does not answer: %v", err)
	}
	if err := s.store.WriteHealth(); err != nil {
		return fmt.Sprintf("database does not take writes: %v", err)
	}
	if s.readiness.DataDir != "" && s.readiness.MinFreeBytes > 0 {
		free, err := freeBytes(s.readiness.DataDir)
		if err != nil {
			return fmt.Sprintf("free space of %s unknown: %v", s.readiness.DataDir, err)
		}
		if free < s.readiness.MinFreeBytes {
			return fmt.Sprintf("%d bytes free on the volume of %s, below the %d needed", free, s.readiness.DataDir, s.readiness.MinFreeBytes)
		}
	}
	return ""
}

// freeBytes returns the space an unprivileged process may still write on
// the volume of dir.
func freeBytes(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
