package xmldsig

import "fmt"

// Code is a stable, machine-readable reason why a document or signature
// was refused. The values are those of the SAML package's reasons of the
// same name, which passes them on unchanged.
type Code string

// Codes of refusals.
const (
	// Malformed: not well-formed XML, not valid base64, or a required
	// element or attribute is missing.
	Malformed Code = "malformed"
	// DTDForbidden: the document contains a DOCTYPE or an entity only a
	// DTD could define.
	DTDForbidden Code = "dtd_forbidden"
	// TooLarge: a size, depth or count bound is exceeded.
	TooLarge Code = "too_large"
	// DuplicateID: two elements carry the same ID.
	DuplicateID Code = "duplicate_id"
	// SignatureInvalid: a signature or digest does not verify with any
	// trusted key, or its structure is not the one allowed.
	SignatureInvalid Code = "signature_invalid"
	// UntrustedKey: the signature verifies only with a certificate of the
	// KeyInfo that is not trusted.
	UntrustedKey Code = "untrusted_key"
	// SHA1Refused: SHA-1 is used and VerifyOptions.AllowSHA1 is false.
	SHA1Refused Code = "sha1_refused"
	// UnsupportedAlgorithm: an algorithm this package does not accept (or
	// accepts only when opted in).
	UnsupportedAlgorithm Code = "unsupported_algorithm"
	// DecryptFailed: no content key or plaintext came out of decryption.
	DecryptFailed Code = "decrypt_failed"
)

// Error is the error type of this package. Message is meant for an
// administrator: it says what was expected and what was received, and never
// holds key material.
type Error struct {
	Code    Code
	Message string
	// Expected and Got hold compared values (certificates, references)
	// when there are some.
	Expected, Got string
}

func (e *Error) Error() string {
	return fmt.Sprintf("xmldsig: %s: %s", e.Code, e.Message)
}

func errorf(c Code, format string, args ...any) *Error {
	return &Error{Code: c, Message: fmt.Sprintf(format, args...)}
}
