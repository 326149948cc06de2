//go:build !race

package saml

// poisonResponseBufs: see putResponseBuf.
const poisonResponseBufs = false
