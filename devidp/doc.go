// Package devidp is a development SAML 2.0 Identity Provider: enough of an
// IdP for an application developer to try single sign-on on a laptop
// without a real one, and for Lanyard's own tests and demo. Never use it
// for real accounts: passwords are kept in clear, state in memory.
//
// It is an independent implementation on purpose: it shares no code with
// Lanyard's SP library (package saml), so that a mistake on one side shows
// up as a refusal on the other instead of cancelling out.
//
// What it does:
//
//   - IdP metadata (IDPSSODescriptor with the signing certificate, SSO and
//     SLO endpoints for HTTP-Redirect and HTTP-POST, NameID formats).
//   - SP-initiated SSO: AuthnRequests through HTTP-Redirect (query-string
//     signature checked, SAML Bindings 3.4.4.1) or HTTP-POST (enveloped
//     signature checked); the ACS URL must be one the SP registered;
//     IsPassive answers NoPassive without a session; ForceAuthn shows the
//     login form even with one.
//   - IdP-initiated SSO (GET /init?sp=ENTITYID&RelayState=...).
//   - A login form, and an IdP session cookie so that a second SSO is
//     silent.
//   - Responses with one signed Assertion (RSA-SHA256 or ECDSA-SHA256,
//     exclusive C14N, SHA-256 digests), optionally a signed Response and an
//     assertion encrypted for the SP (AES-256-GCM, RSA-OAEP).
//   - Single Logout: SP-initiated (LogoutRequest in either binding, answered
//     with a signed LogoutResponse) and IdP-initiated (GET /logout, then a
//     LogoutRequest to each SP of the session in turn).
//
// # Signatures
//
// The IdP has no XML-DSig code of its own: goxmldsig, over etree, signs
// what it sends, with exclusive C14N, the Signature placed after the
// Issuer as SAML requires (sign.go), and verifies what SPs send over
// HTTP-POST, after a check of the rules SAML Core 5.4 sets for signatures
// (verify.go). The query-string signature of the HTTP-Redirect binding is
// not XML-DSig, and is plain crypto. The tests check the IdP's signatures
// with Lanyard's validator and with xmlsec1, and its verification with
// requests that Lanyard and xmlsec1 sign: implementations that share no
// code with it.
//
// # Use
//
//	idp, err := devidp.New(devidp.Config{BaseURL: "http://localhost:8081"})
//	// trust an SP: its metadata, or devidp.SP{...} with AddSP
//	err = idp.TrustSPMetadata(spMetadata)
//	http.ListenAndServe("127.0.0.1:8081", idp)
//
// and give the SP idp.Metadata() (also served at idp.MetadataURL()). The
// command "lanyard devidp" runs it stand-alone.
package devidp
