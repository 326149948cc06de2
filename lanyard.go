// Package lanyard holds Lanyard's domain: tenants, identity provider
// connections, users, sessions and the audit trail, with the small store
// interfaces that adapters (sqlstore, web, cmd) implement or use.
//
// It imports only the standard library. Protocol code lives in package saml,
// storage in package sqlstore, HTTP in package web, and cmd/lanyard wires
// them together.
package lanyard
