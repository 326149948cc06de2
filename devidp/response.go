package devidp

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"
)

// Algorithms and URIs of assertions.
const (
	cmBearer            = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
	attrNameFormatBasic = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic"
	acPassword          = "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"
	acPasswordTLS       = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"

	algAES256GCM = "http://www.w3.org/2009/xmlenc11#aes256-gcm"
	algRSAOAEP   = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
	algSHA1      = "http://www.w3.org/2000/09/xmldsig#sha1"
	typeElement  = "http://www.w3.org/2001/04/xmlenc#Element"
)

// timeFormat is how instants are written: UTC with milliseconds (SAML
// Core 1.3.3).
const timeFormat = "2006-01-02T15:04:05.000Z"

func samlTime(t time.Time) string { return t.UTC().Format(timeFormat) }

func encodeBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// attributeOrder is the order of the usual attributes in the
// AttributeStatement; others follow in name order.
var attributeOrder = []string{"uid", "mail", "givenName", "sn", "groups"}

// nameIDFor returns the NameID of the session's user for the SP, in the
// format requested (NameIDPolicy), SAML Core 3.4.1.1:
//
//   - none, unspecified or persistent: persistent, User.NameID, else the
//     username (or an opaque pairwise value with Config.OpaqueNameIDs);
//     the same value on every login;
//   - emailAddress: the user's first mail attribute;
//   - transient: a random value, the same for the whole IdP session.
//
// Other formats are refused (InvalidNameIDPolicy). A session that already
// gave the SP a NameID gives it the same one again.
func (idp *IdP) nameIDFor(s *session, l *pendingLogin) (value, format string, err error) {
	idp.mu.Lock()
	prev := s.sps[l.sp.EntityID]
	idp.mu.Unlock()
	u := s.user
	switch l.nameIDFormat {
	case "", NameIDFormatUnspecified, NameIDFormatPersistent:
		switch {
		case u.NameID != "":
			return u.NameID, NameIDFormatPersistent, nil
		case idp.cfg.OpaqueNameIDs:
			return idp.opaqueNameID(u, l.sp), NameIDFormatPersistent, nil
		}
		return u.Username, NameIDFormatPersistent, nil
	case NameIDFormatEmailAddress:
		if mail := u.Attributes["mail"]; len(mail) > 0 && mail[0] != "" {
			return mail[0], NameIDFormatEmailAddress, nil
		}
		return "", "", fmt.Errorf("the SP asks for an emailAddress NameID and user %q has no mail attribute", u.Username)
	case NameIDFormatTransient:
		if prev != nil && prev.format == NameIDFormatTransient {
			return prev.nameID, NameIDFormatTransient, nil
		}
		return newID(), NameIDFormatTransient, nil
	}
	return "", "", fmt.Errorf("the SP asks for a NameID in the format %q; this IdP issues persistent, transient and emailAddress", l.nameIDFormat)
}

// opaqueNameID returns the pairwise persistent NameID of u for sp: a
// hash of the IdP's and the SP's entity IDs and the username, so stable
// across restarts (without a secret: this is a development IdP).
func (idp *IdP) opaqueNameID(u *User, sp *SP) string {
	sum := sha256.Sum256([]byte(idp.entityID + "\x00" + sp.EntityID + "\x00" + u.Username))
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:20])
}

// responseParams is what a Response says.
type responseParams struct {
	sp                   *SP
	acsURL               string
	inResponseTo         string // "" for IdP-initiated SSO
	session              *session
	nameID, nameIDFormat string
}

// buildResponse returns a samlp:Response carrying one signed assertion
// (SAML Profiles 4.1.4.2): Issuer; Subject with the NameID and a bearer
// SubjectConfirmation (Recipient the ACS URL, NotOnOrAfter, InResponseTo);
// Conditions (NotBefore, NotOnOrAfter, AudienceRestriction to the SP);
// AuthnStatement (AuthnInstant, SessionIndex, SessionNotOnOrAfter); and an
// AttributeStatement (basic name format). The assertion is encrypted for
// the SP when Config.EncryptAssertions is set and the SP has an encryption
// certificate; the Response is signed too with Config.SignResponse.
func (idp *IdP) buildResponse(p responseParams) (string, error) {
	now := idp.now()
	until := samlTime(now.Add(idp.cfg.AssertionTTL))
	classRef := acPassword
	if idp.base.Scheme == "https" {
		classRef = acPasswordTLS
	}
	u := p.session.user
	issuer := element("saml:Issuer", nil, text(idp.entityID))
	subject := element("saml:Subject", nil,
		element("saml:NameID", []attr{{"Format", p.nameIDFormat}}, text(p.nameID)),
		element("saml:SubjectConfirmation", []attr{{"Method", cmBearer}},
			element("saml:SubjectConfirmationData", []attr{{"InResponseTo", p.inResponseTo}, {"NotOnOrAfter", until}, {"Recipient", p.acsURL}})))
	conditions := element("saml:Conditions", []attr{{"NotBefore", samlTime(now)}, {"NotOnOrAfter", until}},
		element("saml:AudienceRestriction", nil, element("saml:Audience", nil, text(p.sp.EntityID))))
	authn := element("saml:AuthnStatement", []attr{
		{"AuthnInstant", samlTime(p.session.authnInstant)}, {"SessionIndex", p.session.index}, {"SessionNotOnOrAfter", samlTime(p.session.expires)},
	}, element("saml:AuthnContext", nil, element("saml:AuthnContextClassRef", nil, text(classRef))))
	assertion, err := idp.signer.signEnveloped(element("saml:Assertion",
		[]attr{ns("saml", nsSAML), {"ID", newID()}, {"IssueInstant", samlTime(now)}, {"Version", "2.0"}},
		issuer, subject, conditions, authn, attributeStatement(u)))
	if err != nil {
		return "", err
	}
	if idp.cfg.EncryptAssertions && p.sp.EncryptionCertificate != nil {
		if assertion, err = encryptAssertion(assertion, p.sp); err != nil {
			return "", err
		}
	}
	return idp.wrapResponse(p.acsURL, p.inResponseTo, element("samlp:Status", nil,
		element("samlp:StatusCode", []attr{{"Value", statusSuccess}}))+assertion, idp.cfg.SignResponse)
}

// attributeStatement returns the user's attributes: uid (the username
// unless set), then mail, givenName, sn, groups, then the others by name;
// all with the basic name format (SAML Profiles 8.1).
func attributeStatement(u *User) string {
	attrs := map[string][]string{"uid": {u.Username}}
	for k, v := range u.Attributes {
		attrs[k] = v
	}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		if !slices.Contains(attributeOrder, k) {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	names = append(slices.Clone(attributeOrder), names...)
	var out string
	for _, name := range names {
		values, ok := attrs[name]
		if !ok || len(values) == 0 {
			continue
		}
		var content string
		for _, v := range values {
			content += element("saml:AttributeValue", nil, text(v))
		}
		out += element("saml:Attribute", []attr{{"Name", name}, {"NameFormat", attrNameFormatBasic}}, content)
	}
	if out == "" {
		return ""
	}
	return element("saml:AttributeStatement", nil, out)
}

// buildStatusResponse returns a signed Response without an assertion,
// with a non-success status (SAML Core 3.2.2.2): code, a second-level
// subCode, and a message.
func (idp *IdP) buildStatusResponse(sp *SP, acsURL, inResponseTo, code, subCode, message string) (string, error) {
	var sub, msg string
	if subCode != "" {
		sub = element("samlp:StatusCode", []attr{{"Value", subCode}})
	}
	if message != "" {
		msg = element("samlp:StatusMessage", nil, text(message))
	}
	status := element("samlp:Status", nil, element("samlp:StatusCode", []attr{{"Value", code}}, sub), msg)
	return idp.wrapResponse(acsURL, inResponseTo, status, true)
}

// wrapResponse returns a samlp:Response to destination with content
// (Status and assertion), signed when sign is set.
func (idp *IdP) wrapResponse(destination, inResponseTo, content string, sign bool) (string, error) {
	response := element("samlp:Response", []attr{
		ns("samlp", nsSAMLP), {"Destination", destination}, {"ID", newID()}, {"InResponseTo", inResponseTo},
		{"IssueInstant", samlTime(idp.now())}, {"Version", "2.0"},
	}, element("saml:Issuer", []attr{ns("saml", nsSAML)}, text(idp.entityID)), content)
	if !sign {
		return response, nil
	}
	return idp.signer.signEnveloped(response)
}

// encryptAssertion encrypts a (signed) assertion for the SP (XML
// Encryption 1.1): content with AES-256-GCM, the key with RSA-OAEP
// (MGF1 and digest SHA-1, the defaults of rsa-oaep-mgf1p) to the SP's
// encryption certificate. The result is a saml:EncryptedAssertion.
func encryptAssertion(assertion string, sp *SP) (string, error) {
	pub, ok := sp.EncryptionCertificate.PublicKey.(*rsa.PublicKey)
	if !ok {
		return "", fmt.Errorf("devidp: SP %q: the encryption certificate has a %T key; RSA is needed", sp.EntityID, sp.EncryptionCertificate.PublicKey)
	}
	key := make([]byte, 32)
	nonce := make([]byte, 12)
	if _, err := rand.Read(key); err != nil {
		return "", fmt.Errorf("devidp: encryption key: %w", err)
	}
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("devidp: encryption nonce: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", fmt.Errorf("devidp: encrypting: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", fmt.Errorf("devidp: encrypting: %w", err)
	}
	// XML Encryption 1.1 section 5.2.4: the IV, then ciphertext and tag.
	data := gcm.Seal(slices.Clone(nonce), nonce, []byte(assertion), nil)
	wrapped, err := rsa.EncryptOAEP(sha1.New(), rand.Reader, pub, key, nil)
	if err != nil {
		return "", fmt.Errorf("devidp: encrypting the key: %w", err)
	}
	if len(wrapped) == 0 {
		return "", errors.New("devidp: encrypting the key: empty result")
	}
	cipherData := func(b []byte) string {
		return element("xenc:CipherData", nil, element("xenc:CipherValue", nil, base64.StdEncoding.EncodeToString(b)))
	}
	return element("saml:EncryptedAssertion", []attr{ns("saml", nsSAML)},
		element("xenc:EncryptedData", []attr{ns("xenc", nsXEnc), {"Type", typeElement}},
			element("xenc:EncryptionMethod", []attr{{"Algorithm", algAES256GCM}}),
			element("ds:KeyInfo", []attr{ns("ds", nsDSig)},
				element("xenc:EncryptedKey", nil,
					element("xenc:EncryptionMethod", []attr{{"Algorithm", algRSAOAEP}},
						element("ds:DigestMethod", []attr{{"Algorithm", algSHA1}})),
					cipherData(wrapped))),
			cipherData(data))), nil
}
