package saml

import (
	"fmt"
	"time"
)

// Reason is a stable, machine-readable code explaining why a SAML message was
// refused. The string values are part of the API: they appear in logs, metrics
// and tests, and never change meaning.
type Reason string

// Reasons for refusing a message. Each is documented with its usual cause.
const (
	// ReasonMalformed: the input is not well-formed XML, not valid base64, not
	// valid DEFLATE, or lacks a required element or attribute.
	ReasonMalformed Reason = "malformed"
	// ReasonDTDForbidden: the document contains a DOCTYPE (DTDs, entity
	// declarations and XXE are never processed).
	ReasonDTDForbidden Reason = "dtd_forbidden"
	// ReasonTooLarge: the input exceeds the configured size or nesting depth.
	ReasonTooLarge Reason = "too_large"
	// ReasonUnsigned: neither the Response nor the Assertion carries a
	// signature, or the assertion read is not covered by one.
	ReasonUnsigned Reason = "unsigned"
	// ReasonSignatureInvalid: a signature or digest does not verify with any
	// trusted key, or its structure (Reference, Transforms) is not the one
	// SAML allows.
	ReasonSignatureInvalid Reason = "signature_invalid"
	// ReasonUntrustedKey: the signature verifies only with a certificate
	// carried in the message's KeyInfo that is not in the IdP's metadata.
	ReasonUntrustedKey Reason = "untrusted_key"
	// ReasonSHA1Refused: the message uses SHA-1 (digest or signature) and the
	// IdP is not marked legacy (IdentityProvider.AllowSHA1).
	ReasonSHA1Refused Reason = "sha1_refused"
	// ReasonUnsupportedAlgorithm: an algorithm (signature, digest,
	// canonicalisation, encryption) Lanyard does not accept.
	ReasonUnsupportedAlgorithm Reason = "unsupported_algorithm"
	// ReasonDuplicateID: two elements of the document carry the same ID.
	ReasonDuplicateID Reason = "duplicate_id"
	// ReasonNoAssertion: the Response holds no Assertion.
	ReasonNoAssertion Reason = "no_assertion"
	// ReasonMultipleAssertions: the Response holds more than one Assertion.
	ReasonMultipleAssertions Reason = "multiple_assertions"
	// ReasonIssuerMismatch: the Issuer is not the configured IdP.
	ReasonIssuerMismatch Reason = "issuer_mismatch"
	// ReasonDestinationMismatch: the Response Destination is not this SP's
	// endpoint.
	ReasonDestinationMismatch Reason = "destination_mismatch"
	// ReasonRecipientMismatch: SubjectConfirmationData Recipient is not this
	// SP's Assertion Consumer Service URL.
	ReasonRecipientMismatch Reason = "recipient_mismatch"
	// ReasonAudienceMismatch: the AudienceRestriction does not name this SP.
	ReasonAudienceMismatch Reason = "audience_mismatch"
	// ReasonInResponseToUnknown: InResponseTo names no pending request (never
	// sent, already used, or expired), or differs between Response and
	// SubjectConfirmationData.
	ReasonInResponseToUnknown Reason = "in_response_to_unknown"
	// ReasonBrowserMismatch: the pending request was started by another
	// browser than the one posting the response.
	ReasonBrowserMismatch Reason = "browser_mismatch"
	// ReasonUnsolicitedNotAllowed: an IdP-initiated (unsolicited) response
	// arrived and ServiceProvider.AllowUnsolicited is false.
	ReasonUnsolicitedNotAllowed Reason = "unsolicited_not_allowed"
	// ReasonExpired: a NotOnOrAfter instant has passed (beyond the allowed
	// clock skew). Error.OutsideWindowBy tells by how much.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: a NotBefore instant is still in the future (beyond
	// the allowed clock skew). Error.OutsideWindowBy tells by how much.
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonUnknownCondition: the assertion's Conditions hold a condition
	// this SP does not understand (SAML Core 2.5.1: Indeterminate).
	ReasonUnknownCondition Reason = "unknown_condition"
	// ReasonReplay: the assertion (or message) ID was already used.
	ReasonReplay Reason = "replay"
	// ReasonStatusNotSuccess: the IdP answered with a non-success status.
	// Error.StatusCode and Error.SubStatusCode hold the codes.
	ReasonStatusNotSuccess Reason = "status_not_success"
	// ReasonNoBearer: no SubjectConfirmation with Method bearer that
	// satisfies the Web Browser SSO Profile (SAML Profiles 4.1.4.2).
	ReasonNoBearer Reason = "no_bearer_confirmation"
	// ReasonDecryptFailed: an EncryptedAssertion could not be decrypted with
	// any current SP key. ValidateResponse no longer returns it: see
	// ReasonEncryptedAssertionInvalid.
	ReasonDecryptFailed Reason = "decrypt_failed"
	// ReasonEncryptedAssertionInvalid: an EncryptedAssertion could not be
	// decrypted, parsed and its signature verified. Every such failure
	// (wrong key, bad padding, unparseable or unsigned plaintext, bad
	// signature) has this reason and the same Message, so that an attacker
	// altering the ciphertext learns nothing (a decryption oracle);
	// Error.Detail says what failed, for the administrator's log only.
	ReasonEncryptedAssertionInvalid Reason = "encrypted_assertion_invalid"
	// ReasonInternal: a caller-supplied store (RequestStore, ReplayCache)
	// failed; the wrapped error says why.
	ReasonInternal Reason = "internal"
)

// IsClockSkew reports whether r is one of the two time-window reasons
// (ReasonExpired, ReasonNotYetValid), for which Error.OutsideWindowBy is set.
func IsClockSkew(r Reason) bool { return r == ReasonExpired || r == ReasonNotYetValid }

// Error is the single error type returned by this package for refused
// messages. Use errors.As to obtain it:
//
//	var e *saml.Error
//	if errors.As(err, &e) && e.Reason == saml.ReasonExpired { ... e.OutsideWindowBy ... }
//
// Message is meant for an administrator: it says what was expected and what
// was received. It never contains key material.
type Error struct {
	Reason  Reason
	Message string
	// Expected and Got hold the two values compared by an addressing check
	// (URLs, entity IDs, certificate fingerprints), when there is one.
	Expected, Got string
	// OutsideWindowBy, for expired / not_yet_valid, is how far outside the
	// allowed window the local clock is: positive, the window (widened by
	// the allowed skew) ended that long ago or starts that long from now.
	// It is not the clock offset: an IdP 5 minutes ahead with a 3-minute
	// skew is outside by about 2 minutes.
	OutsideWindowBy time.Duration
	// ClockOffset, for expired / not_yet_valid, is how far the IdP's clock
	// is from this server's, as the assertion's IssueInstant tells (the
	// time the browser took to bring it included): positive, the IdP is
	// ahead. Zero when unknown.
	ClockOffset time.Duration
	// StatusCode and SubStatusCode hold the IdP's status for
	// status_not_success.
	StatusCode, SubStatusCode, StatusMessage string
	// StatusSigned reports that a signature of the IdP covers the Response
	// and so its StatusMessage; without it the message is untrusted text,
	// for the administrator's log only.
	StatusSigned bool
	// InResponseTo, for status_not_success, is the request the IdP says it
	// answers. Error responses are usually unsigned: use it only to find
	// the pending request (e.g. a passive check that came back NoPassive),
	// never as proof of anything.
	InResponseTo string
	// Err is an underlying cause, if any.
	Err error
	// Detail, when set, is what Message hides because an attacker could
	// learn from it (ReasonEncryptedAssertionInvalid): show it only in the
	// administrator's log, never on a page, in metrics or an audit trail.
	Detail string
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("saml: %s: %s: %v", e.Reason, e.Message, e.Err)
	}
	return fmt.Sprintf("saml: %s: %s", e.Reason, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Is lets errors.Is(err, &saml.Error{Reason: r}) match on the reason alone.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == e.Reason && t.Message == ""
}

func errorf(r Reason, format string, args ...any) *Error {
	return &Error{Reason: r, Message: fmt.Sprintf(format, args...)}
}

// ReasonOf returns the Reason of err if it is (or wraps) a *Error, or "".
func ReasonOf(err error) Reason {
	for err != nil {
		if e, ok := err.(*Error); ok {
			return e.Reason
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return ""
		}
		err = u.Unwrap()
	}
	return ""
}
