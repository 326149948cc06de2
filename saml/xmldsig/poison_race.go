//go:build race

package xmldsig

// poisonReleased: see poison_norace.go. Under the race detector (which
// the test command runs over every package) a released Document poisons
// its nodes and gives nothing back to the pools, so that a use after
// Release panics in tests instead of reading another document's nodes.
var poisonReleased = true
