//go:build !xmldsig_noc14npool

package xmldsig

// c14nPooling: canonicalisation writers (a 4 KiB buffer each) are reused.
// The build tag xmldsig_noc14npool turns it off, to measure it.
const c14nPooling = true
