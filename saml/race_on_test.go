//go:build race

package saml

const raceEnabled = true
