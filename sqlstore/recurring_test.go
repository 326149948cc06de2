package sqlstore_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/sqlstore"
)

// TestRecurringLogsWhenFailingStartsAndEnds: passes run on their own
// every interval; three failures in a row count three and log once, the
// pass that works again logs once, and Stop ends the passes.
func TestRecurringLogsWhenFailingStartsAndEnds(t *testing.T) {
	var (
		mu     sync.Mutex
		buf    bytes.Buffer
		passes atomic.Int32
	)
	logger := slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return buf.Write(p)
	}), nil))
	started := make(chan struct{})
	r := sqlstore.StartRecurring("test: work", 5*time.Millisecond, func(ctx context.Context, _ *slog.Logger) error {
		<-started // the logger is set before the first pass counts
		if passes.Add(1) <= 3 {
			return errors.New("disk full")
		}
		return nil
	})
	r.SetLogger(logger)
	close(started)
	deadline := time.Now().Add(10 * time.Second)
	for passes.Load() < 6 {
		if time.Now().After(deadline) {
			t.Fatalf("%d passes in 10 s", passes.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.Stop()
	after := passes.Load()
	time.Sleep(30 * time.Millisecond)
	if passes.Load() != after {
		t.Errorf("passes went on after Stop")
	}
	if r.Failures() != 3 {
		t.Errorf("%d failures counted, want 3", r.Failures())
	}
	mu.Lock()
	defer mu.Unlock()
	log := buf.String()
	if strings.Count(log, "test: work failed; retrying every interval") != 1 || !strings.Contains(log, "disk full") {
		t.Errorf("the failure is not logged once with its cause:\n%s", log)
	}
	if strings.Count(log, "test: work works again") != 1 {
		t.Errorf("the recovery is not logged once:\n%s", log)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
