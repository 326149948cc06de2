//go:build xmldsig_noc14npool

package xmldsig

const c14nPooling = false
