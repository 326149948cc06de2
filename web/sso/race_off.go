//go:build !race

package sso

// raceEnabled: see putACSBody.
const raceEnabled = false
