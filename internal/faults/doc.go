// Package faults holds the fault suite: real "lanyard serve" processes (3
// nodes on one durable PostgreSQL, one on SQLite) driven with SAML logins
// while nodes, the database and the disk fail, checked with counts.
//
// It runs only with LANYARD_FAULTS=1 (scripts/faults.sh); the default test
// run skips it.
package faults
