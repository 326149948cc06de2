package sso

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestRefusalLimiterClose: Close stops the summary writer and writes every
// summary it holds at once, windows still open included; nothing is
// written afterwards, and a refusal after Close starts no goroutine.
func TestRefusalLimiterClose(t *testing.T) {
	lim := DefaultRefusalLimits
	lim.ClientBurst, lim.TenantBurst = 2, 100
	before := runtime.NumGoroutine()
	f := newLimiterFixture(lim)
	if rec := f.admitN(5, 1, "192.0.2.1:1", "malformed"); rec != 2 {
		t.Fatalf("%d recorded, want 2", rec)
	}
	f.admitN(4, 2, "192.0.2.2:1", "unsigned")
	// The writer runs (its window of a minute is far from closed).
	time.Sleep(20 * time.Millisecond)
	if s := f.summaries(); len(s) != 0 {
		t.Fatalf("summaries before the window closed: %+v", s)
	}
	done := make(chan struct{})
	go func() { f.l.Close(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	s := f.summaries()
	if len(s) != 2 {
		t.Fatalf("%d summaries at Close, want 2: %+v", len(s), s)
	}
	for _, e := range s {
		if e.Reason != reasonNotRecorded || !strings.Contains(e.Detail["reasons"], "×") {
			t.Errorf("summary %+v", e)
		}
	}
	// After Close: counted, never written, no writer started.
	f.admitN(10, 1, "192.0.2.1:1", "malformed")
	f.advance(2 * lim.Window)
	time.Sleep(20 * time.Millisecond)
	if n := len(f.summaries()); n != 2 {
		t.Fatalf("%d summaries after Close, want still 2", n)
	}
	f.l.Close(context.Background()) // twice is harmless
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Close, %d before", n, before)
	}
}
