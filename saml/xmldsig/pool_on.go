//go:build !xmldsig_nopool

package xmldsig

// pooling: node chunks and attribute arenas are reused between documents
// (Release). The build tag xmldsig_nopool turns it off, to measure what it
// is worth (BENCHMARKS.md).
const pooling = true
