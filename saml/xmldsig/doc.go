// Package xmldsig is the XML machinery of Lanyard's SAML service provider:
// an XML reader for untrusted input, canonicalisation, verification and
// creation of enveloped XML signatures, and XML Encryption of elements. It
// uses the standard library only; the SAML profile (which element must be
// signed, what a decrypted element may be) is the saml package's.
//
// # Reading
//
// Parse (or ParseString, which reads a string in place instead of copying
// it) reads a document in one pass into a compact, read-only tree of
// elements and text nodes (Document, Node). It refuses what SAML never needs
// and attackers love: DOCTYPE (hence DTDs, entities, XXE), processing
// instructions, undeclared prefixes, duplicate attributes, duplicate ID
// attributes, encodings other than UTF-8 and UTF-16, and inputs beyond the
// Limits. Comments are dropped and the text around them joined, exactly as
// canonical XML without comments sees it: the value read is the value
// signed.
//
// # Signatures
//
// VerifyEnveloped checks the Signature (SignatureOf) of an element: one
// Reference whose URI is "#" + the element's ID, the enveloped-signature
// transform and at most one canonicalisation (Exclusive XML Canonicalization
// 1.0, Canonical XML 1.0 or 1.1, never "#WithComments"), a SignedInfo signed
// by one of the trusted Keys (RSA or ECDSA; SHA-1 only with AllowSHA1). The
// signature over SignedInfo is checked before the digest of the element is
// computed, and every attacker-controlled count is bounded (MaxSignedInfoNodes,
// MaxInclusivePrefixes, MaxSignatureValue), so a forged document costs
// little. Canonicalize writes canonical bytes straight into a hash.
// SignEnveloped signs an element with exclusive C14N and SHA-256.
//
// # Encryption
//
// Decrypt decrypts an EncryptedElementType (an EncryptedAssertion, an
// EncryptedID) with RSA-OAEP key transport and AES-CBC or AES-GCM content
// encryption; 3DES-CBC and RSA PKCS#1 v1.5 only when the caller opts in.
//
// # Errors
//
// Every refusal is an *Error whose Code is stable and whose Message tells an
// administrator what was expected and what arrived.
//
// # Memory
//
// A Document's nodes, attributes and namespace declarations come from
// pooled chunks: Release gives
// them back, after which neither the Document nor any Node of it may be used
// (strings read from the tree stay valid: they point into the input). The
// rule is enforced, not only stated: Root and All of a released Document
// panic, and under the race detector (which the test command runs over every
// package) Release poisons the nodes instead of pooling them, so that any
// later use of one panics rather than reading another document.
package xmldsig
