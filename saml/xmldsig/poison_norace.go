//go:build !race

package xmldsig

// poisonReleased makes Release poison the nodes (kindReleased) instead of
// returning them to the pools: every accessor of a poisoned node, and
// Root and All of a released Document, panic. It is on under the race
// detector (poison_race.go) and in this package's lifetime test.
var poisonReleased = false
