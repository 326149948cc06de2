// Package gcdefault sets the garbage collector's target of Lanyard's
// server processes.
package gcdefault

import "runtime/debug"

// Percent is the garbage collector's target when GOGC is not set:
// the heap may grow to three times what is live before a collection,
// instead of the runtime's two. Lanyard's live heap is small and bounded
// (the session cache by session_cache_mb, everything else per request), so
// collecting half as often costs little memory; it saves 5-8% of a
// login's CPU (BENCHMARKS.md).
const Percent = 200

// Apply sets Percent unless GOGC is in the environment,
// which decides as it does for any Go program (GOMEMLIMIT too). It
// returns the percent it set, or 0 when it left the runtime's.
func Apply(lookupEnv func(string) (string, bool)) int {
	if _, set := lookupEnv("GOGC"); set {
		return 0
	}
	debug.SetGCPercent(Percent)
	return Percent
}
