// Package saml is Lanyard's SAML 2.0 Service Provider protocol core: a
// standalone library with no storage and no HTTP handlers of its own. Clocks,
// the replay cache and the pending-request store are passed in as small
// interfaces, so that the package can be used, tested and fuzzed alone.
//
// What it does:
//
//   - SP metadata (ServiceProvider.Metadata) and IdP metadata parsing
//     (ParseIdPMetadata), including federation aggregates and signed
//     metadata (SAML Metadata 2.0).
//   - AuthnRequests over HTTP-Redirect (DEFLATE, query-string signature,
//     SAML Bindings 3.4.4.1) and HTTP-POST (ServiceProvider.MakeAuthnRequest).
//   - Response validation (ServiceProvider.ValidateResponse): one strict
//     pipeline implementing the Web Browser SSO Profile (SAML Profiles
//     4.1.4) and the POST binding rules (SAML Bindings 3.5.5.2).
//   - Single Logout in both directions and both bindings (SAML Profiles 4.4).
//
// # How responses are read
//
// The document is parsed once by the XML reader of the xmldsig subpackage
// (which also canonicalises, verifies signatures and decrypts), which refuses
// DTDs (hence entity expansion and XXE), processing instructions, undeclared
// prefixes, duplicate IDs, and inputs larger or deeper than configured.
// Signatures (XML-DSig 1.1) are checked on the Response and the Assertion
// only when they are direct children of them and their single Reference
// names the element that holds them; the element is canonicalised (Exclusive
// XML Canonicalization 1.0, or Canonical XML 1.0/1.1; the #WithComments
// variants are refused) straight into the hash. Every value returned is read
// from the tree nodes that were hashed, never by searching the document
// again, and exactly one assertion may be present in the whole document: XML
// signature wrapping has nothing to wrap. Comments are not part of the tree:
// text around them is joined exactly as the canonical form, and thus the
// signature, sees it.
//
// Keys come from the IdP's metadata only. A certificate in a message's
// KeyInfo only selects among trusted keys; a signature that verifies only
// with an embedded certificate is refused with ReasonUntrustedKey. RSA-SHA1
// is refused unless the IdP is marked legacy (IdentityProvider.AllowSHA1).
// ECDSA signature values are raw r||s as XML-DSig 1.1 section 6.4.3 defines.
//
// # Errors
//
// Every refusal is a *Error whose Reason is a stable code (ReasonExpired,
// ReasonSignatureInvalid, ...) and whose Message tells an administrator what
// was expected and what arrived: both URLs for Destination and Recipient,
// the certificates for a signature, and for time windows how far outside the
// window the clock is (Error.OutsideWindowBy; Error.ClockOffset is how far the IdP's clock is from ours) and which clock is probably wrong.
//
// # Performance
//
// Derived state (parsed keys, fingerprints) is built once per configuration.
// Validating a typical signed response costs about twice the RSA
// verification it requires; see bench/README.md for figures against
// crewjam/saml and gosaml2.
package saml
