//go:build xmldsig_nopool

package xmldsig

const pooling = false
