package saml

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

const (
	nsSAML  = "urn:oasis:names:tc:SAML:2.0:assertion"
	nsSAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsXSI   = "http://www.w3.org/2001/XMLSchema-instance"

	statusSuccess       = "urn:oasis:names:tc:SAML:2.0:status:Success"
	confirmationBearer  = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	timeLayoutSAML      = "2006-01-02T15:04:05Z"
	timeLayoutSAMLMilli = "2006-01-02T15:04:05.000Z"
)

// NameID is the Subject's name identifier (SAML Core 2.2.3).
type NameID struct {
	Value           string
	Format          string
	NameQualifier   string
	SPNameQualifier string
}

// Attribute is one SAML attribute with all its values (SAML Core 2.7.3.1).
type Attribute struct {
	Name         string
	NameFormat   string
	FriendlyName string
	Values       []string
}

// Assertion is what a validated Response tells the caller. Every field was
// read from an element covered by a verified signature of a trusted IdP key.
type Assertion struct {
	// ID of the assertion (recorded in the ReplayCache) and of the Response.
	ID         string
	ResponseID string
	Issuer     string
	// InResponseTo is the ID of the AuthnRequest answered, "" when the
	// response was unsolicited (IdP-initiated).
	InResponseTo string
	NameID       NameID
	// SessionIndex, AuthnInstant, SessionNotOnOrAfter and the
	// AuthnContextClassRef from the (first) AuthnStatement.
	SessionIndex         string
	AuthnInstant         time.Time
	SessionNotOnOrAfter  time.Time
	AuthnContextClassRef string
	// Attributes in document order.
	Attributes []Attribute
	// NotOnOrAfter is the earliest end of validity seen (Conditions and the
	// bearer SubjectConfirmationData).
	NotOnOrAfter time.Time
	// RelayState as posted, and ReturnTo from the matched pending request
	// (empty for unsolicited responses: validate RelayState yourself then).
	RelayState string
	ReturnTo   string
	// Encrypted tells whether the assertion arrived encrypted.
	Encrypted bool
	// EncryptedID tells whether the NameID arrived as an EncryptedID.
	EncryptedID bool
}

// Attribute returns the values of the attribute whose Name or FriendlyName
// is name, or nil.
func (a *Assertion) Attribute(name string) []string {
	for i := range a.Attributes {
		if a.Attributes[i].Name == name || a.Attributes[i].FriendlyName == name {
			return a.Attributes[i].Values
		}
	}
	return nil
}

// ResponseInput is what the browser posted to the Assertion Consumer
// Service, plus the browser binding value (e.g. from a cookie).
type ResponseInput struct {
	// SAMLResponse is the base64 form value (SAML Bindings 3.5.4).
	SAMLResponse string
	RelayState   string
	// BrowserBinding must equal PendingRequest.BrowserBinding of the
	// request answered.
	BrowserBinding string
}

// ValidateResponse validates a Response received through the HTTP-POST
// binding and returns the assertion it carries. The checks run in this
// order, and the first failure is returned as a *Error:
//
//  1. size bound, base64, XML well-formedness (no DTD, bounded depth, unique
//     IDs): too_large, malformed, dtd_forbidden, duplicate_id;
//  2. the root is a SAML 2.0 samlp:Response with an IssueInstant, at most
//     one Issuer and one Status (malformed); the status is Success
//     (status_not_success, with the second-level code);
//  3. exactly one Assertion or EncryptedAssertion in the whole document, a
//     child of the Response (no_assertion, multiple_assertions); the Issuers
//     present name the IdP (issuer_mismatch), before any signature work;
//  4. the Response's signature, if present, verified with a trusted key;
//     the assertion decrypted and its own signature, if present, verified;
//     at least one of the two covers the assertion (unsigned,
//     signature_invalid, untrusted_key, sha1_refused; for an encrypted
//     assertion every one of these failures, and every decryption
//     failure, is encrypted_assertion_invalid, with the same work done);
//     the Assertion was not issued in the future (not_yet_valid); it has
//     one Issuer and at most one Subject, Conditions and Advice
//     (malformed);
//  5. Issuer of Response and Assertion (issuer_mismatch); Destination
//     (destination_mismatch; required on signed responses, SAML Bindings
//     3.5.5.2);
//  6. the Subject has at most one identifier (malformed), an EncryptedID
//     decrypted with the SP keys into its NameID (every failure
//     encrypted_assertion_invalid, as for an encrypted assertion); a bearer
//     SubjectConfirmation with at most one SubjectConfirmationData
//     (malformed), Recipient = ACS URL, a NotOnOrAfter in the future and
//     matching InResponseTo (SAML Profiles 4.1.4.2):
//     no_bearer_confirmation, recipient_mismatch, expired;
//  7. Conditions: only AudienceRestriction, OneTimeUse and
//     ProxyRestriction, the last two at most once (unknown_condition,
//     malformed; SAML Core 2.5.1: any other condition makes the assertion
//     Indeterminate); NotBefore/NotOnOrAfter with clock skew (expired,
//     not_yet_valid); AudienceRestriction naming our entity ID
//     (audience_mismatch); Response and Assertion issued less than the
//     message lifetime plus the clock skew ago (expired); an
//     AuthnStatement present. In 6 and 7, a window with both bounds must
//     have NotBefore earlier than NotOnOrAfter before the skew widens it
//     (malformed);
//  8. InResponseTo names a pending request, taken once, started by this
//     browser for this IdP (in_response_to_unknown, browser_mismatch), or
//     unsolicited responses allowed (unsolicited_not_allowed);
//  9. the assertion ID not seen before (replay), SAML Profiles 4.1.4.5.
func (sp *ServiceProvider) ValidateResponse(ctx context.Context, idp *IdentityProvider, in ResponseInput) (*Assertion, error) {
	vr, err := sp.VerifyResponse(ctx, idp, in)
	if err != nil {
		return nil, err
	}
	return vr.Consume(ctx)
}

// VerifiedResponse is a Response that passed steps 1 to 7 of
// ValidateResponse, the checks that read nothing but the message and the
// configuration. Consume runs steps 8 and 9, the ones that change state:
// a caller that records the login in a transaction verifies first, outside
// it, and consumes inside it, so that no lock is held while the signatures
// are checked.
type VerifiedResponse struct {
	v              validation
	assertion      *Assertion
	inResponseTo   string
	browserBinding string
}

// VerifyResponse runs steps 1 to 7 of ValidateResponse.
func (sp *ServiceProvider) VerifyResponse(ctx context.Context, idp *IdentityProvider, in ResponseInput) (*VerifiedResponse, error) {
	st, err := sp.prepared()
	if err != nil {
		return nil, err
	}
	if idp == nil {
		return nil, errors.New("saml: ValidateResponse needs the IdentityProvider")
	}
	now := sp.now()
	// 1. Decode and parse.
	if err := checkEncodedSize(in.SAMLResponse, st.maxSize); err != nil {
		return nil, err
	}
	// A failure below leaves buf to the garbage collector (responsebuf.go).
	buf := getResponseBuf(base64.StdEncoding.DecodedLen(len(in.SAMLResponse)))
	raw, err := decodeB64FormInto(*buf, in.SAMLResponse)
	if err != nil {
		return nil, notBase64(err)
	}
	doc, err := parseXMLOwned(raw, xmldsig.Limits{MaxSize: st.maxSize})
	if err != nil {
		return nil, err
	}
	vr, err := sp.verifyParsed(ctx, st, idp, now, doc, in)
	if err != nil {
		return nil, err
	}
	putResponseBuf(buf)
	return vr, nil
}

// DecodeResponse runs the first part of step 1 of ValidateResponse on a
// SAMLResponse form value, with the same errors: the size bound
// (too_large) and base64 (malformed). It returns the XML, for a caller
// that reads the message too (to show or scan it) and hands it to
// VerifyDecodedResponse rather than having it decoded twice.
func (sp *ServiceProvider) DecodeResponse(samlResponse string) (string, error) {
	st, err := sp.prepared()
	if err != nil {
		return "", err
	}
	if err := checkEncodedSize(samlResponse, st.maxSize); err != nil {
		return "", err
	}
	b := make([]byte, base64.StdEncoding.DecodedLen(len(samlResponse)))
	raw, err := decodeB64FormInto(b, samlResponse)
	if err != nil {
		return "", notBase64(err)
	}
	// The string takes over b, which nothing else holds or writes (as
	// strings.Builder does): the XML is not copied once more.
	return unsafe.String(unsafe.SliceData(raw), len(raw)), nil
}

// VerifyDecodedResponse is VerifyResponse for the XML that DecodeResponse
// returned: it runs the rest of steps 1 to 7 (the XML's own size bound
// included) and does not read in.SAMLResponse.
func (sp *ServiceProvider) VerifyDecodedResponse(ctx context.Context, idp *IdentityProvider, xml string, in ResponseInput) (*VerifiedResponse, error) {
	st, err := sp.prepared()
	if err != nil {
		return nil, err
	}
	if idp == nil {
		return nil, errors.New("saml: ValidateResponse needs the IdentityProvider")
	}
	now := sp.now()
	doc, err := xmldsig.ParseString(xml, xmldsig.Limits{MaxSize: st.maxSize})
	if err != nil {
		return nil, fromXML(err)
	}
	return sp.verifyParsed(ctx, st, idp, now, doc, in)
}

// checkEncodedSize refuses a base64 value too long to decode into at most
// maxSize bytes of XML, with room for line breaks and padding.
func checkEncodedSize(samlResponse string, maxSize int) error {
	if len(samlResponse) > base64.StdEncoding.EncodedLen(maxSize)+maxSize/16+64 {
		return errorf(ReasonTooLarge, "the SAMLResponse is %d bytes of base64, more than the %d bytes of XML allowed", len(samlResponse), maxSize)
	}
	return nil
}

func notBase64(err error) error {
	return errorf(ReasonMalformed, "the SAMLResponse form value is not valid base64: %v", err)
}

// verifyParsed runs steps 2 to 7 on the parsed document and releases it.
// The assertion returned holds no string of the document.
func (sp *ServiceProvider) verifyParsed(ctx context.Context, st *spState, idp *IdentityProvider, now time.Time,
	doc *xmldsig.Document, in ResponseInput) (*VerifiedResponse, error) {
	vr := &VerifiedResponse{v: validation{sp: sp, st: st, idp: idp, now: now}, browserBinding: in.BrowserBinding}
	var err error
	vr.assertion, vr.inResponseTo, err = vr.v.response(ctx, doc, in)
	// Nothing returned points into the trees: give their memory back.
	doc.Release()
	for _, d := range vr.v.decrypted {
		d.Release()
	}
	vr.v.decrypted = nil
	if err != nil {
		return nil, err
	}
	// The result is copied out of the document (whose buffer the next
	// response may reuse).
	vr.assertion.detach(&vr.inResponseTo)
	return vr, nil
}

// Consume runs steps 8 and 9 of ValidateResponse: the pending request
// taken, the assertion marked used. Inside a transaction that is rolled
// back and run again, it is called again: the second call finds the
// request and the mark as the rollback left them.
func (vr *VerifiedResponse) Consume(ctx context.Context) (*Assertion, error) {
	if err := vr.v.consume(ctx, vr.assertion, vr.inResponseTo, vr.browserBinding); err != nil {
		return nil, err
	}
	return vr.assertion, nil
}

// decodeB64Form decodes a base64 form value, tolerating line breaks and
// spaces some IdPs (and form encodings of '+') introduce.
func decodeB64Form(s string) ([]byte, error) {
	return decodeB64FormInto(make([]byte, base64.StdEncoding.DecodedLen(len(s))), s)
}

// decodeB64FormInto is decodeB64Form into b, of length DecodedLen(len(s)).
func decodeB64FormInto(b []byte, s string) ([]byte, error) {
	// The decoder skips CR and LF itself; strip other spaces only if needed.
	n, err := base64.StdEncoding.Decode(b, []byte(s))
	if err != nil {
		n, err = base64.StdEncoding.Decode(b, []byte(xmldsig.StripSpace(s)))
		if err != nil {
			return nil, err
		}
	}
	return b[:n], nil
}

type validation struct {
	sp  *ServiceProvider
	st  *spState
	idp *IdentityProvider
	now time.Time
	// issueInstant of the assertion, to estimate clock offsets.
	issued time.Time
	// decrypted are the documents of a decrypted assertion and identifier.
	decrypted []*xmldsig.Document
}

// response runs steps 2 to 7 on the parsed document; it returns the
// assertion and the request it answers ("" when unsolicited).
func (v *validation) response(ctx context.Context, doc *xmldsig.Document, in ResponseInput) (*Assertion, string, error) {
	// 2. The root: a SAML 2.0 Response, and its status.
	resp := doc.Root()
	if !resp.Is(nsSAMLP, "Response") {
		return nil, "", errorf(ReasonMalformed, "expected a samlp:Response, got <%s> in namespace %q", resp.Local(), resp.Space())
	}
	if ver := resp.AttrValue("Version"); ver != "2.0" {
		return nil, "", errorf(ReasonMalformed, "the Response has Version %q, expected 2.0", ver)
	}
	respID := resp.AttrValue("ID")
	if respID == "" {
		return nil, "", errorf(ReasonMalformed, "the Response has no ID")
	}
	if _, err := parseTime(resp.AttrValue("IssueInstant")); err != nil {
		return nil, "", errorf(ReasonMalformed, "the Response's IssueInstant %q is not a valid time (SAML Core 3.2.2 requires one)", resp.AttrValue("IssueInstant"))
	}
	if err := atMostOne(resp, "Response", nsSAML, "Issuer"); err != nil {
		return nil, "", err
	}
	if err := atMostOne(resp, "Response", nsSAMLP, "Status"); err != nil {
		return nil, "", err
	}
	if err := checkStatus(resp); err != nil {
		se := err.(*Error)
		se.InResponseTo = resp.AttrValue("InResponseTo")
		// Error responses are usually unsigned: their StatusMessage is
		// anyone's text until a signature by the IdP covers it.
		if se.StatusMessage != "" {
			if sig, serr := signatureOf(resp); serr == nil && sig != nil {
				opts := xmldsig.VerifyOptions{Keys: v.idp.trusted(), AllowSHA1: v.idp.AllowSHA1, What: "Response"}
				se.StatusSigned = verifyEnveloped(resp, sig, &opts) == nil
			}
		}
		return nil, "", se
	}

	// 3. Exactly one assertion, child of the Response.
	var found *xmldsig.Node
	count := 0
	for n := range doc.All() {
		if n.IsElement() && n.Space() == nsSAML && (n.Local() == "Assertion" || n.Local() == "EncryptedAssertion") {
			count++
			found = n
		}
	}
	switch {
	case count == 0:
		return nil, "", errorf(ReasonNoAssertion, "the Response carries no Assertion")
	case count > 1:
		return nil, "", errorf(ReasonMultipleAssertions, "the document carries %d assertions; exactly one is accepted (an extra copy is the mark of a signature-wrapping attack)", count)
	case found.Parent() != resp:
		return nil, "", errorf(ReasonNoAssertion, "the only assertion is inside <%s>, not a child of the Response", found.Parent().Local())
	}

	// Cheap checks before any signature work: the issuers must name the
	// configured IdP (re-checked on the verified assertion below).
	if iss := resp.Child(nsSAML, "Issuer"); iss != nil {
		if err := v.checkIssuer(iss, "Response"); err != nil {
			return nil, "", err
		}
	}
	if found.Local() == "Assertion" {
		if iss := found.Child(nsSAML, "Issuer"); iss != nil {
			if err := v.checkIssuer(iss, "Assertion"); err != nil {
				return nil, "", err
			}
		}
	}

	// 4. Signatures.
	opts := xmldsig.VerifyOptions{Keys: v.idp.trusted(), AllowSHA1: v.idp.AllowSHA1, What: "Response"}
	respSig, err := signatureOf(resp)
	if err != nil {
		return nil, "", err
	}
	if respSig != nil {
		if err := verifyEnveloped(resp, respSig, &opts); err != nil {
			return nil, "", err
		}
	}
	as := found
	encrypted := found.Local() == "EncryptedAssertion"
	var asSig *xmldsig.Node
	verified := false
	err = func() error {
		if encrypted {
			if as, err = v.decryptAssertion(found); err != nil {
				return err
			}
		}
		opts.What = "Assertion"
		if asSig, err = signatureOf(as); err != nil {
			return err
		}
		if asSig != nil {
			verified = true
			return verifyEnveloped(as, asSig, &opts)
		}
		if respSig == nil {
			return errorf(ReasonUnsigned, "neither the Response nor the Assertion is signed; the IdP must sign the assertion (or the response)")
		}
		return nil
	}()
	if err != nil && encrypted {
		// A decryption oracle: nothing before the inner signature is
		// verified may tell one failure from another, by its reason, its
		// message or the work done.
		if !verified {
			xmldsig.DummyVerify(opts.Keys)
		}
		return nil, "", encryptedInvalid(err)
	}
	if err != nil {
		return nil, "", err
	}
	// From here on, read only resp (if respSig verified) and as: as is
	// covered either by its own verified signature or by the Response's,
	// as a child of it (or decrypted from a child of it).
	if ver := as.AttrValue("Version"); ver != "2.0" {
		return nil, "", errorf(ReasonMalformed, "the Assertion has Version %q, expected 2.0", ver)
	}
	a := &Assertion{ID: as.AttrValue("ID"), ResponseID: respID, Encrypted: encrypted, RelayState: in.RelayState}
	if a.ID == "" {
		return nil, "", errorf(ReasonMalformed, "the Assertion has no ID")
	}
	if t, err := parseTime(as.AttrValue("IssueInstant")); err == nil {
		v.issued = t
	} else {
		return nil, "", errorf(ReasonMalformed, "the Assertion's IssueInstant %q is not a valid time", as.AttrValue("IssueInstant"))
	}
	// An assertion issued in the future (beyond the skew) reveals a clock
	// difference, whatever its validity window says.
	if _, err := v.window("Assertion IssueInstant", as.AttrValue("IssueInstant"), ""); err != nil {
		return nil, "", err
	}
	// Schema cardinalities (SAML Core 2.3.3): a second copy of an element
	// read with child() would be a second, unchecked meaning.
	if n := as.CountChildren(nsSAML, "Issuer"); n != 1 {
		return nil, "", errorf(ReasonMalformed, "the Assertion has %d Issuer elements, expected exactly one", n)
	}
	for _, name := range []string{"Subject", "Conditions", "Advice"} {
		if err := atMostOne(as, "Assertion", nsSAML, name); err != nil {
			return nil, "", err
		}
	}

	// 5. Issuer (the Response's was checked before the signatures) and
	// Destination.
	iss := as.Child(nsSAML, "Issuer")
	if iss == nil {
		return nil, "", errorf(ReasonIssuerMismatch, "the Assertion has no Issuer; expected %q", v.idp.EntityID)
	}
	if err := v.checkIssuer(iss, "Assertion"); err != nil {
		return nil, "", err
	}
	a.Issuer = iss.TrimmedText()
	dest, hasDest := resp.Attr("Destination")
	if hasDest && dest != v.sp.ACSURL {
		return nil, "", urlMismatch(ReasonDestinationMismatch, "Destination of the Response", v.sp.ACSURL, dest)
	}
	if !hasDest && respSig != nil {
		return nil, "", &Error{Reason: ReasonDestinationMismatch, Expected: v.sp.ACSURL,
			Message: fmt.Sprintf("the signed Response has no Destination attribute; SAML Bindings 3.5.5.2 requires it (expected %q)", v.sp.ACSURL)}
	}

	// 6. Subject and bearer confirmation (SAML Profiles 4.1.4.2).
	respIRT := resp.AttrValue("InResponseTo")
	subj := as.Child(nsSAML, "Subject")
	if subj == nil {
		return nil, "", errorf(ReasonMalformed, "the Assertion has no Subject")
	}
	if n := subj.CountChildren(nsSAML, "NameID") + subj.CountChildren(nsSAML, "BaseID") + subj.CountChildren(nsSAML, "EncryptedID"); n > 1 {
		return nil, "", errorf(ReasonMalformed, "the Subject has %d identifiers (NameID, BaseID, EncryptedID), expected at most one", n)
	}
	nid := subj.Child(nsSAML, "NameID")
	if eid := subj.Child(nsSAML, "EncryptedID"); nid == nil && eid != nil {
		// Decrypted with the SP keys into the NameID; every failure
		// looks the same, as for an EncryptedAssertion.
		var err error
		if nid, err = v.decryptID(eid); err != nil {
			return nil, "", encryptedInvalid(err)
		}
		a.EncryptedID = true
	}
	if nid == nil {
		return nil, "", errorf(ReasonMalformed, "the Subject has no NameID")
	}
	if a.NameID, err = parseNameID(nid, "the assertion's"); err != nil {
		return nil, "", err
	}
	scdIRT, scdEnd, err := v.bearer(subj, respIRT)
	if err != nil {
		return nil, "", err
	}
	a.NotOnOrAfter = scdEnd

	// 7. Conditions, audience, AuthnStatement.
	cond := as.Child(nsSAML, "Conditions")
	if cond == nil {
		return nil, "", errorf(ReasonAudienceMismatch, "the Assertion has no Conditions, hence no AudienceRestriction naming %q", v.sp.EntityID)
	}
	if err := conditionsUnderstood(cond); err != nil {
		return nil, "", err
	}
	end, err := v.window("Conditions", cond.AttrValue("NotBefore"), cond.AttrValue("NotOnOrAfter"))
	if err != nil {
		return nil, "", err
	}
	if !end.IsZero() && end.Before(a.NotOnOrAfter) {
		a.NotOnOrAfter = end
	}
	if err := v.audience(cond); err != nil {
		return nil, "", err
	}
	// A message older than its lifetime was held or replayed; the
	// Response's IssueInstant is checked too, even when unsigned: it can
	// only add a refusal.
	if err := v.fresh("Response", resp.AttrValue("IssueInstant")); err != nil {
		return nil, "", err
	}
	if err := v.fresh("Assertion", as.AttrValue("IssueInstant")); err != nil {
		return nil, "", err
	}
	if err := v.statements(as, a); err != nil {
		return nil, "", err
	}

	// 8. InResponseTo and the pending request. When only the assertion is
	// signed, the Response's InResponseTo is not trusted on its own: it must
	// repeat the signed one.
	if respSig == nil && respIRT != "" && respIRT != scdIRT {
		return nil, "", &Error{Reason: ReasonInResponseToUnknown, Expected: scdIRT, Got: respIRT,
			Message: fmt.Sprintf("the unsigned Response answers %q but the signed assertion answers %q", respIRT, scdIRT)}
	}
	irt := respIRT
	if irt == "" {
		irt = scdIRT
	}
	return a, irt, nil
}

// consume runs steps 8 and 9 on an assertion that passed the others.
func (v *validation) consume(ctx context.Context, a *Assertion, irt, browserBinding string) error {
	// 8. The pending request.
	if irt == "" {
		if !v.sp.AllowUnsolicited {
			return errorf(ReasonUnsolicitedNotAllowed, "the Response answers no request (IdP-initiated login) and unsolicited responses are not allowed for this service provider; start the login at the SP, or allow IdP-initiated SSO")
		}
	} else {
		if v.sp.Requests == nil {
			return errorf(ReasonInResponseToUnknown, "the Response answers request %q but no request store is configured", irt)
		}
		pr, err := v.sp.Requests.Take(ctx, irt)
		if errors.Is(err, ErrRequestNotFound) {
			return &Error{Reason: ReasonInResponseToUnknown, Got: irt,
				Message: fmt.Sprintf("the Response answers request %q, which is unknown, already answered or expired; the login took too long, was replayed, or the response belongs to another SP", irt)}
		}
		if err != nil {
			return &Error{Reason: ReasonInternal, Message: "the request store failed", Err: err}
		}
		if pr.BrowserBinding != "" && subtle.ConstantTimeCompare([]byte(pr.BrowserBinding), []byte(browserBinding)) != 1 {
			return errorf(ReasonBrowserMismatch, "request %q was started in another browser than the one that posted the response (browser binding cookie missing or different)", irt)
		}
		if pr.IdPEntityID != "" && pr.IdPEntityID != v.idp.EntityID {
			return &Error{Reason: ReasonIssuerMismatch, Expected: pr.IdPEntityID, Got: v.idp.EntityID,
				Message: fmt.Sprintf("request %q was sent to IdP %q but answered by %q", irt, pr.IdPEntityID, v.idp.EntityID)}
		}
		if !pr.Expires.IsZero() && v.now.After(pr.Expires) {
			return errorf(ReasonInResponseToUnknown, "request %q expired at %s", irt, pr.Expires.UTC().Format(time.RFC3339))
		}
		a.InResponseTo = irt
		a.ReturnTo = pr.ReturnTo
	}

	// 9. Replay (SAML Profiles 4.1.4.5).
	if v.sp.Replay != nil {
		first, err := v.sp.Replay.MarkUsed(ctx, v.idp.EntityID+"!"+a.ID, a.NotOnOrAfter.Add(v.st.skew))
		if err != nil {
			return &Error{Reason: ReasonInternal, Message: "the replay cache failed", Err: err}
		}
		if !first {
			return ReplayedAssertion(a)
		}
	}
	return nil
}

// ReplayedAssertion is the refusal of an assertion used already (SAML
// Profiles 4.1.4.5), for a caller whose replay cache reports the replay
// after Consume: inside a transaction, with a later statement.
func ReplayedAssertion(a *Assertion) *Error {
	return errorf(ReasonReplay, "assertion %q was already used; a response can log in only once (browser back button, or a replay attempt)", a.ID)
}

func checkStatus(resp *xmldsig.Node) error {
	status := resp.Child(nsSAMLP, "Status")
	if status == nil {
		return errorf(ReasonMalformed, "the Response has no Status")
	}
	code := status.Child(nsSAMLP, "StatusCode")
	if code == nil {
		return errorf(ReasonMalformed, "the Response has no StatusCode")
	}
	top := code.AttrValue("Value")
	if top == statusSuccess {
		return nil
	}
	e := &Error{Reason: ReasonStatusNotSuccess, StatusCode: top}
	if sub := code.Child(nsSAMLP, "StatusCode"); sub != nil {
		e.SubStatusCode = sub.AttrValue("Value")
	}
	if m := status.Child(nsSAMLP, "StatusMessage"); m != nil {
		e.StatusMessage = m.TrimmedText()
	}
	e.Message = fmt.Sprintf("the IdP refused the login with status %s", shortStatus(top))
	if e.SubStatusCode != "" {
		e.Message += " / " + shortStatus(e.SubStatusCode)
	}
	if e.StatusMessage != "" {
		e.Message += fmt.Sprintf(" (%q)", e.StatusMessage)
	}
	switch shortStatus(e.SubStatusCode) {
	case "NoPassive":
		e.Message += ": the user has no session at the IdP and the request was passive"
	case "AuthnFailed":
		e.Message += ": the user could not authenticate at the IdP"
	case "RequestDenied":
		e.Message += ": the IdP denied the request (is the user assigned to this application?)"
	case "InvalidNameIDPolicy":
		e.Message += ": the IdP cannot produce the requested NameID format"
	}
	return e
}

func shortStatus(s string) string {
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func (v *validation) checkIssuer(iss *xmldsig.Node, what string) error {
	if f, ok := iss.Attr("Format"); ok && f != NameIDFormatEntity {
		return errorf(ReasonIssuerMismatch, "the %s's Issuer has Format %q, expected %q", what, f, NameIDFormatEntity)
	}
	got := iss.TrimmedText()
	if got != v.idp.EntityID {
		return &Error{Reason: ReasonIssuerMismatch, Expected: v.idp.EntityID, Got: got,
			Message: fmt.Sprintf("the %s was issued by %q, expected the configured IdP %q", what, got, v.idp.EntityID)}
	}
	return nil
}

func urlMismatch(r Reason, what, want, got string) *Error {
	msg := fmt.Sprintf("%s is %q, but this service provider's endpoint is %q", what, got, want)
	ws, gs := strings.SplitN(want, "://", 2), strings.SplitN(got, "://", 2)
	if len(ws) == 2 && len(gs) == 2 && ws[1] == gs[1] && ws[0] != gs[0] {
		msg += fmt.Sprintf("; only the scheme differs (%s vs %s): usually a reverse proxy terminating TLS, or an IdP configured with the wrong URL; check the base URL and the ACS URL registered at the IdP", gs[0], ws[0])
	} else if strings.EqualFold(want, got) {
		msg += "; they differ only in letter case"
	} else {
		msg += "; check the ACS URL registered at the IdP against this SP's metadata"
	}
	return &Error{Reason: r, Expected: want, Got: got, Message: msg}
}

// bearer finds a bearer SubjectConfirmation satisfying SAML Profiles
// 4.1.4.2 and returns its InResponseTo and NotOnOrAfter.
func (v *validation) bearer(subj *xmldsig.Node, respIRT string) (string, time.Time, error) {
	var firstErr error
	for sc := subj.FirstChild(); sc != nil; sc = sc.NextSibling() {
		if !sc.Is(nsSAML, "SubjectConfirmation") || sc.AttrValue("Method") != confirmationBearer {
			continue
		}
		irt, end, err := v.confirmation(sc, respIRT)
		if err == nil {
			return irt, end, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return "", time.Time{}, firstErr
	}
	return "", time.Time{}, errorf(ReasonNoBearer, "the Subject has no SubjectConfirmation with Method %q (SAML Profiles 4.1.4.2)", confirmationBearer)
}

func (v *validation) confirmation(sc *xmldsig.Node, respIRT string) (string, time.Time, error) {
	if err := atMostOne(sc, "SubjectConfirmation", nsSAML, "SubjectConfirmationData"); err != nil {
		return "", time.Time{}, err
	}
	scd := sc.Child(nsSAML, "SubjectConfirmationData")
	if scd == nil {
		return "", time.Time{}, errorf(ReasonNoBearer, "the bearer SubjectConfirmation has no SubjectConfirmationData")
	}
	rcpt, ok := scd.Attr("Recipient")
	if !ok {
		return "", time.Time{}, &Error{Reason: ReasonRecipientMismatch, Expected: v.sp.ACSURL, Message: fmt.Sprintf("the bearer SubjectConfirmationData has no Recipient; expected %q", v.sp.ACSURL)}
	}
	if rcpt != v.sp.ACSURL {
		return "", time.Time{}, urlMismatch(ReasonRecipientMismatch, "the Recipient of the assertion", v.sp.ACSURL, rcpt)
	}
	if _, ok := scd.Attr("NotOnOrAfter"); !ok {
		return "", time.Time{}, errorf(ReasonNoBearer, "the bearer SubjectConfirmationData has no NotOnOrAfter (SAML Profiles 4.1.4.2)")
	}
	end, err := v.window("SubjectConfirmationData", scd.AttrValue("NotBefore"), scd.AttrValue("NotOnOrAfter"))
	if err != nil {
		return "", time.Time{}, err
	}
	irt := scd.AttrValue("InResponseTo")
	if respIRT != "" && irt != "" && irt != respIRT {
		return "", time.Time{}, &Error{Reason: ReasonInResponseToUnknown, Expected: respIRT, Got: irt,
			Message: fmt.Sprintf("the Response answers %q but its SubjectConfirmationData answers %q", respIRT, irt)}
	}
	return irt, end, nil
}

// atMostOne refuses a second child element where the schema allows one.
func atMostOne(parent *xmldsig.Node, what, space, local string) error {
	if n := parent.CountChildren(space, local); n > 1 {
		return errorf(ReasonMalformed, "the %s has %d %s elements, expected at most one", what, n, local)
	}
	return nil
}

// conditionsUnderstood refuses a Conditions element holding a condition
// this SP does not evaluate: SAML Core 2.5.1.1 makes the assertion
// Indeterminate then. AudienceRestriction is checked by audience,
// OneTimeUse by the replay cache (every assertion is used once), and
// ProxyRestriction restricts only assertions this SP would issue from it.
func conditionsUnderstood(cond *xmldsig.Node) error {
	for c := cond.FirstChild(); c != nil; c = c.NextSibling() {
		if !c.IsElement() {
			continue
		}
		if c.Space() == nsSAML && (c.Local() == "AudienceRestriction" || c.Local() == "OneTimeUse" || c.Local() == "ProxyRestriction") {
			continue
		}
		got := c.Local()
		for i := range c.Attrs() {
			if c.Attrs()[i].Space() == nsXSI && c.Attrs()[i].Local() == "type" {
				got += ` xsi:type="` + c.Attrs()[i].Value() + `"`
			}
		}
		return &Error{Reason: ReasonUnknownCondition, Expected: "AudienceRestriction, OneTimeUse or ProxyRestriction", Got: got,
			Message: fmt.Sprintf("the assertion's Conditions hold <%s> in namespace %q, a condition this service provider does not understand; SAML Core 2.5.1 makes the assertion Indeterminate (only AudienceRestriction, OneTimeUse and ProxyRestriction are understood)", got, c.Space())}
	}
	for _, name := range []string{"OneTimeUse", "ProxyRestriction"} {
		if err := atMostOne(cond, "Conditions", nsSAML, name); err != nil {
			return err
		}
	}
	return nil
}

// fresh refuses a message issued more than the lifetime plus the skew ago.
func (v *validation) fresh(what, issueInstant string) error {
	t, err := parseTime(issueInstant)
	if err != nil {
		return errorf(ReasonMalformed, "the %s's IssueInstant %q is not a valid time", what, issueInstant)
	}
	limit := t.Add(v.st.lifetime + v.st.skew)
	if v.now.Before(limit) {
		return nil
	}
	diff := v.now.Sub(limit)
	return &Error{Reason: ReasonExpired, OutsideWindowBy: diff, ClockOffset: t.Sub(v.now).Round(time.Second), Expected: "issued after " + v.now.Add(-v.st.lifetime-v.st.skew).UTC().Format(time.RFC3339), Got: t.UTC().Format(time.RFC3339),
		Message: fmt.Sprintf("the %s is too old: issued at %s, this server's clock says %s, more than the message lifetime of %s plus the allowed skew of %s (outside the allowed window by %s); the response was held (browser Back button, a slow user agent) or replayed, or this server's clock is ahead of the IdP's; check NTP on both",
			what, t.UTC().Format(time.RFC3339), v.now.UTC().Format(time.RFC3339), v.st.lifetime, v.st.skew, diff.Round(time.Second))}
}

// window checks now against [notBefore-skew, notOnOrAfter+skew). A window
// given both bounds must be non-empty before the skew widens it.
func (v *validation) window(what, notBefore, notOnOrAfter string) (time.Time, error) {
	skew := v.st.skew
	var end time.Time
	if notBefore != "" && notOnOrAfter != "" {
		nb, err1 := parseTime(notBefore)
		na, err2 := parseTime(notOnOrAfter)
		if err1 == nil && err2 == nil && !nb.Before(na) {
			return end, &Error{Reason: ReasonMalformed, Expected: "NotBefore earlier than NotOnOrAfter", Got: notBefore + " / " + notOnOrAfter,
				Message: fmt.Sprintf("%s NotBefore %s is not earlier than its NotOnOrAfter %s: the validity window is empty (SAML Core 2.5.1.2), whatever the clock skew", what, nb.UTC().Format(time.RFC3339), na.UTC().Format(time.RFC3339))}
		}
	}
	if notBefore != "" {
		nb, err := parseTime(notBefore)
		if err != nil {
			return end, errorf(ReasonMalformed, "%s NotBefore %q is not a valid time", what, notBefore)
		}
		if v.now.Before(nb.Add(-skew)) {
			diff := nb.Add(-skew).Sub(v.now)
			return end, &Error{Reason: ReasonNotYetValid, OutsideWindowBy: diff, ClockOffset: v.clockOffset(), Expected: nb.UTC().Format(time.RFC3339), Got: v.now.UTC().Format(time.RFC3339),
				Message: fmt.Sprintf("the assertion is not valid yet: %s NotBefore is %s, this server's clock says %s: outside the allowed window (skew %s) by %s; this server's clock is probably behind the IdP's (or the IdP's ahead)%s; check NTP on both",
					what, nb.UTC().Format(time.RFC3339), v.now.UTC().Format(time.RFC3339), skew, diff.Round(time.Second), v.offsetHint())}
		}
	}
	if notOnOrAfter != "" {
		na, err := parseTime(notOnOrAfter)
		if err != nil {
			return end, errorf(ReasonMalformed, "%s NotOnOrAfter %q is not a valid time", what, notOnOrAfter)
		}
		if !v.now.Before(na.Add(skew)) {
			diff := v.now.Sub(na.Add(skew))
			return end, &Error{Reason: ReasonExpired, OutsideWindowBy: diff, ClockOffset: v.clockOffset(), Expected: na.UTC().Format(time.RFC3339), Got: v.now.UTC().Format(time.RFC3339),
				Message: fmt.Sprintf("the assertion expired: %s NotOnOrAfter is %s, this server's clock says %s: outside the allowed window (skew %s) by %s; either the response was delivered late (replayed, or the browser waited), or this server's clock is ahead of the IdP's (or the IdP's behind)%s; check NTP on both",
					what, na.UTC().Format(time.RFC3339), v.now.UTC().Format(time.RFC3339), skew, diff.Round(time.Second), v.offsetHint())}
		}
		end = na
	}
	return end, nil
}

// offsetHint estimates the clock offset from the assertion's IssueInstant.
func (v *validation) offsetHint() string {
	if v.issued.IsZero() {
		return ""
	}
	d := v.clockOffset()
	switch {
	case d < -time.Minute:
		return fmt.Sprintf(" (clock offset: the IdP dated the assertion %s before this server's clock: if it was just issued, the IdP's clock is about %s behind)", -d, -d)
	case d > time.Minute:
		return fmt.Sprintf(" (clock offset: the IdP dated the assertion %s after this server's clock: the IdP's clock is about %s ahead)", d, d)
	}
	return fmt.Sprintf(" (clock offset: the assertion's IssueInstant is within %s of this server's clock)", max(d, -d)+time.Second)
}

// clockOffset is how far the IdP's clock is from this server's, from the
// assertion's IssueInstant: positive, the IdP is ahead; zero when unknown.
func (v *validation) clockOffset() time.Duration {
	if v.issued.IsZero() {
		return 0
	}
	return v.issued.Sub(v.now).Round(time.Second)
}

func (v *validation) audience(cond *xmldsig.Node) error {
	restrictions := 0
	for ar := cond.FirstChild(); ar != nil; ar = ar.NextSibling() {
		if !ar.Is(nsSAML, "AudienceRestriction") {
			continue
		}
		restrictions++
		ok := false
		var seen []string
		for au := ar.FirstChild(); au != nil; au = au.NextSibling() {
			if au.Is(nsSAML, "Audience") {
				t := au.TrimmedText()
				if t == v.sp.EntityID {
					ok = true
					break
				}
				seen = append(seen, t)
			}
		}
		if !ok {
			return &Error{Reason: ReasonAudienceMismatch, Expected: v.sp.EntityID, Got: strings.Join(seen, " "),
				Message: fmt.Sprintf("the assertion is meant for audience %q, not this service provider %q; the entity ID registered at the IdP must equal this SP's entity ID", strings.Join(seen, `", "`), v.sp.EntityID)}
		}
	}
	if restrictions == 0 {
		return &Error{Reason: ReasonAudienceMismatch, Expected: v.sp.EntityID,
			Message: fmt.Sprintf("the assertion has no AudienceRestriction; SAML Profiles 4.1.4.2 requires one naming %q", v.sp.EntityID)}
	}
	return nil
}

func (v *validation) statements(as *xmldsig.Node, a *Assertion) error {
	authn := false
	nattr, nvalues := 0, 0
	for c := as.FirstChild(); c != nil; c = c.NextSibling() {
		if c.Is(nsSAML, "AttributeStatement") {
			for at := c.FirstChild(); at != nil; at = at.NextSibling() {
				if at.Is(nsSAML, "Attribute") {
					nattr++
					nvalues += at.CountChildren(nsSAML, "AttributeValue")
				}
			}
		}
	}
	if nattr > 0 {
		a.Attributes = make([]Attribute, 0, nattr)
	}
	// The values of every attribute share one backing array.
	values := make([]string, 0, nvalues)
	for c := as.FirstChild(); c != nil; c = c.NextSibling() {
		switch {
		case c.Is(nsSAML, "AuthnStatement"):
			if authn {
				continue
			}
			authn = true
			a.SessionIndex = c.AttrValue("SessionIndex")
			if err := exactValue(a.SessionIndex, "the AuthnStatement's SessionIndex"); err != nil {
				return err
			}
			if t, ok := c.Attr("AuthnInstant"); ok {
				at, err := parseTime(t)
				if err != nil {
					return errorf(ReasonMalformed, "AuthnInstant %q is not a valid time", t)
				}
				a.AuthnInstant = at
			}
			if t, ok := c.Attr("SessionNotOnOrAfter"); ok {
				st, err := parseTime(t)
				if err != nil {
					return errorf(ReasonMalformed, "SessionNotOnOrAfter %q is not a valid time", t)
				}
				if !v.now.Before(st.Add(v.st.skew)) {
					return &Error{Reason: ReasonExpired, OutsideWindowBy: v.now.Sub(st.Add(v.st.skew)), ClockOffset: v.clockOffset(),
						Message: fmt.Sprintf("the IdP session ended at %s (SessionNotOnOrAfter), this server's clock says %s", st.UTC().Format(time.RFC3339), v.now.UTC().Format(time.RFC3339))}
				}
				a.SessionNotOnOrAfter = st
			}
			if ac := c.Child(nsSAML, "AuthnContext"); ac != nil {
				if r := ac.Child(nsSAML, "AuthnContextClassRef"); r != nil {
					a.AuthnContextClassRef = r.TrimmedText()
				}
			}
		case c.Is(nsSAML, "AttributeStatement"):
			for at := c.FirstChild(); at != nil; at = at.NextSibling() {
				if !at.Is(nsSAML, "Attribute") {
					continue
				}
				attr := Attribute{Name: at.AttrValue("Name"), NameFormat: at.AttrValue("NameFormat"), FriendlyName: at.AttrValue("FriendlyName")}
				start := len(values)
				for av := at.FirstChild(); av != nil; av = av.NextSibling() {
					if av.Is(nsSAML, "AttributeValue") {
						values = append(values, av.TextContent())
					}
				}
				if len(values) > start {
					// Capped: appending to one attribute's values never
					// writes over the next one's.
					attr.Values = values[start:len(values):len(values)]
				}
				a.Attributes = append(a.Attributes, attr)
			}
		}
	}
	if !authn {
		return errorf(ReasonMalformed, "the assertion has no AuthnStatement (SAML Profiles 4.1.4.2 requires one)")
	}
	return nil
}

// parseNameID reads a NameID. Its value is a string whose whitespace is
// significant (SAML Core 2.2.3): it is never trimmed, and one with leading
// or trailing XML whitespace is refused as malformed, so that the assertion,
// the session, a LogoutRequest and the NameID sent back to the IdP carry the
// same string, and " alice" is neither "alice" nor a second identity beside
// it. Format, NameQualifier and SPNameQualifier are taken as they are.
func parseNameID(n *xmldsig.Node, what string) (NameID, error) {
	id := NameID{Value: n.TextContent(), Format: n.AttrValue("Format"), NameQualifier: n.AttrValue("NameQualifier"), SPNameQualifier: n.AttrValue("SPNameQualifier")}
	if err := exactValue(id.Value, what+" NameID"); err != nil {
		return NameID{}, err
	}
	return id, nil
}

// exactValue refuses an identifier with leading or trailing XML whitespace
// (NameID, SessionIndex), which is compared exactly, never trimmed.
func exactValue(v, what string) error {
	if strings.Trim(v, " \t\r\n") != v {
		return errorf(ReasonMalformed, "%s %q has leading or trailing whitespace; identifiers are compared exactly, never trimmed", what, v)
	}
	return nil
}

// parseTime parses an xs:dateTime in UTC as SAML Core 1.3.3 requires.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if len(s) == len(timeLayoutSAML) {
		if t, ok := parseTimeSAML(s); ok {
			return t, nil
		}
		return time.Parse(timeLayoutSAML, s)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// parseTimeSAML reads the form IdPs send, 2006-01-02T15:04:05Z, as
// time.Parse(timeLayoutSAML) does, about ten times faster; it answers false
// for anything else, in range or not, which time.Parse then reads (or
// refuses with its own error).
func parseTimeSAML(s string) (time.Time, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if year < 0 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	// Day 31 of a 30-day month, or February 29 of a common year: time.Date
	// would normalise it into the next month, time.Parse refuses it.
	t := time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC)
	if t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

// ResponseIssuer returns the Issuer of a base64 SAMLResponse without
// verifying anything, so that a caller serving several IdPs can choose the
// IdentityProvider to validate it with. Never trust the value otherwise.
func ResponseIssuer(samlResponse string) (string, error) {
	raw, err := decodeB64Form(samlResponse)
	if err != nil {
		return "", errorf(ReasonMalformed, "the SAMLResponse form value is not valid base64")
	}
	doc, err := parseXML(raw, xmldsig.Limits{MaxSize: DefaultMaxSize})
	if err != nil {
		return "", err
	}
	if iss := doc.Root().Child(nsSAML, "Issuer"); iss != nil {
		return iss.TrimmedText(), nil
	}
	for n := range doc.All() {
		if n.Is(nsSAML, "Assertion") {
			if iss := n.Child(nsSAML, "Issuer"); iss != nil {
				return iss.TrimmedText(), nil
			}
		}
	}
	return "", errorf(ReasonIssuerMismatch, "the response names no Issuer")
}

// encryptedInvalid seals a failure to decrypt (or verify) an encrypted
// assertion or identifier: one reason and one message, whatever failed;
// err only in Detail, for the administrator's log.
func encryptedInvalid(err error) *Error {
	return &Error{Reason: ReasonEncryptedAssertionInvalid, Detail: err.Error(),
		Message: "the encrypted assertion could not be decrypted with a current SP key and verified with a trusted IdP key; if the IdP encrypts for an old or foreign certificate, re-import this SP's metadata at the IdP (the log line has the detail)"}
}
