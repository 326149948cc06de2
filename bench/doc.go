// Package bench compares Lanyard's SAML response validation with
// github.com/crewjam/saml and github.com/russellhaering/gosaml2 on the same
// responses, and against the cryptographic floor. It is a separate module so
// that Lanyard does not depend on the libraries it is compared with.
//
// Run: cd bench && go test -bench . -benchmem
package bench
