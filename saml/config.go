package saml

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// Defaults used when the corresponding configuration field is zero.
const (
	DefaultClockSkew = 3 * time.Minute
	// DefaultMessageLifetime: a Response is posted by the browser as soon
	// as the IdP issues it; older than this (plus the clock skew) it was
	// held or replayed. Shibboleth's SP uses the same 60 s.
	DefaultMessageLifetime = 60 * time.Second
	DefaultMaxSize         = 1 << 20 // 1 MiB of decoded XML
	DefaultRequestTTL      = 10 * time.Minute
	defaultMaxInflateSize  = 1 << 20
)

// Binding URIs (SAML Bindings 3.4, 3.5).
const (
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingHTTPPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// NameID formats (SAML Core 8.3).
const (
	NameIDFormatUnspecified  = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"
	NameIDFormatEmailAddress = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
	NameIDFormatPersistent   = "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
	NameIDFormatTransient    = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
	NameIDFormatEntity       = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
)

// KeyPair is a private key with its certificate. Signer is typically an
// *rsa.PrivateKey or *ecdsa.PrivateKey; decryption needs an *rsa.PrivateKey.
type KeyPair struct {
	Signer      crypto.Signer
	Certificate *x509.Certificate
}

// Clock returns the current time. A nil Clock means time.Now.
type Clock func() time.Time

// ReplayCache remembers the IDs of consumed assertions (and logout
// requests) until they expire, across every node of a cluster.
type ReplayCache interface {
	// MarkUsed records id as used until expires. It returns firstUse true
	// if id was not already recorded, atomically.
	MarkUsed(ctx context.Context, id string, expires time.Time) (firstUse bool, err error)
}

// PendingRequest is an AuthnRequest (or LogoutRequest) sent and not yet
// answered.
type PendingRequest struct {
	ID string
	// ReturnTo is the local path to send the user to after login.
	ReturnTo string
	// BrowserBinding is a caller-chosen secret tied to the browser that
	// started the login (e.g. a random value also stored in a cookie); the
	// response must present the same value.
	BrowserBinding string
	// IdPEntityID is the IdP the request was sent to.
	IdPEntityID string
	Expires     time.Time
}

// ErrRequestNotFound is returned by RequestStore.Take when no pending
// request has the ID (never issued, already taken, or expired).
var ErrRequestNotFound = errors.New("saml: pending request not found")

// RequestStore keeps pending requests between the redirect to the IdP and
// the response.
type RequestStore interface {
	Save(ctx context.Context, r PendingRequest) error
	// Take returns and deletes the request with this ID (one-shot). It
	// returns ErrRequestNotFound if there is none or it expired.
	Take(ctx context.Context, id string) (PendingRequest, error)
}

// ServiceProvider is this SP's configuration. Fill in the fields, then use
// the methods (safe for concurrent use); derived state (parsed keys,
// fingerprints) is built once, on first use or by Prepare. Do not modify or
// copy a ServiceProvider after first use: build a new one (they are cheap)
// when the configuration changes.
type ServiceProvider struct {
	// EntityID is the SP's entity ID (required). See EntityID to derive it.
	EntityID string
	// ACSURL is the Assertion Consumer Service URL (HTTP-POST), required.
	ACSURL string
	// ArtifactACS advertises, in metadata, an Assertion Consumer Service
	// with the HTTP-Artifact binding at ACSURL (index 1, the HTTP-POST one
	// keeping index 0); see ValidateArtifact.
	ArtifactACS bool
	// SLOURL is the Single Logout endpoint (both bindings); empty means no
	// SLO is advertised.
	SLOURL string
	// SigningKeys sign AuthnRequests, LogoutRequests/Responses and
	// metadata: the first one signs, all are published in metadata (key
	// rollover). Empty means requests are not signed.
	SigningKeys []KeyPair
	// EncryptionKeys decrypt EncryptedAssertions; all are tried and all are
	// published. Nil means SigningKeys are used.
	EncryptionKeys []KeyPair
	// ClockSkew is the allowed difference between the IdP's clock and ours.
	// Zero means DefaultClockSkew; use a negative value for none.
	ClockSkew time.Duration
	// MessageLifetime is how old (IssueInstant of the Response and of the
	// Assertion, plus ClockSkew) a response may be. Zero means
	// DefaultMessageLifetime.
	MessageLifetime time.Duration
	// AllowUnsolicited accepts IdP-initiated responses (no InResponseTo).
	// Default false.
	AllowUnsolicited bool
	// AllowRSA15 accepts RSA PKCS#1 v1.5 key transport in encrypted
	// assertions (vulnerable to Bleichenbacher attacks). Default false.
	AllowRSA15 bool
	// MaxSize bounds decoded XML messages in bytes. Zero means
	// DefaultMaxSize.
	MaxSize int
	// NameIDFormats are published in metadata, and the first is requested
	// in NameIDPolicy. Empty means none published, no Format requested.
	NameIDFormats []string
	// Now is the clock; nil means time.Now.
	Now Clock
	// Requests stores pending requests; required for SP-initiated SSO.
	Requests RequestStore
	// Replay refuses replayed assertions; nil disables the check (tests
	// only: production must set it).
	Replay ReplayCache
	// RequestTTL bounds how long a pending AuthnRequest is kept. Zero means
	// DefaultRequestTTL.
	RequestTTL time.Duration

	mu    sync.Mutex
	state atomic.Pointer[spState]
}

type spState struct {
	skew     time.Duration
	lifetime time.Duration
	maxSize  int
	decrypt  []*rsa.PrivateKey
	signer   crypto.Signer
	signCert *x509.Certificate
	ttl      time.Duration
}

// Prepare checks the configuration, reporting every problem at once, and
// builds the derived state. Methods call it on first use.
func (sp *ServiceProvider) Prepare() error {
	_, err := sp.prepared()
	return err
}

func (sp *ServiceProvider) prepared() (*spState, error) {
	if st := sp.state.Load(); st != nil {
		return st, nil
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if st := sp.state.Load(); st != nil {
		return st, nil
	}
	var errs []error
	if sp.EntityID == "" {
		errs = append(errs, errors.New("EntityID is required"))
	}
	if sp.ACSURL == "" {
		errs = append(errs, errors.New("ACSURL is required"))
	}
	st := &spState{skew: sp.ClockSkew, lifetime: sp.MessageLifetime, maxSize: sp.MaxSize, ttl: sp.RequestTTL}
	if st.lifetime <= 0 {
		st.lifetime = DefaultMessageLifetime
	}
	if st.skew == 0 {
		st.skew = DefaultClockSkew
	} else if st.skew < 0 {
		st.skew = 0
	}
	if st.maxSize <= 0 {
		st.maxSize = DefaultMaxSize
	}
	if st.ttl <= 0 {
		st.ttl = DefaultRequestTTL
	}
	for i, k := range sp.SigningKeys {
		if k.Signer == nil || k.Certificate == nil {
			errs = append(errs, fmt.Errorf("SigningKeys[%d]: Signer and Certificate are required", i))
			continue
		}
		if !samePublicKey(k.Signer.Public(), k.Certificate.PublicKey) {
			errs = append(errs, fmt.Errorf("SigningKeys[%d]: the key does not match certificate %s", i, xmldsig.DescribeCert(k.Certificate)))
		}
	}
	if len(sp.SigningKeys) > 0 && sp.SigningKeys[0].Signer != nil {
		st.signer, st.signCert = sp.SigningKeys[0].Signer, sp.SigningKeys[0].Certificate
	}
	for _, k := range sp.encryptionKeys() {
		if rk, ok := k.Signer.(*rsa.PrivateKey); ok {
			rk.Precompute()
			st.decrypt = append(st.decrypt, rk)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("saml: invalid service provider configuration: %w", errors.Join(errs...))
	}
	sp.state.Store(st)
	return st, nil
}

func (sp *ServiceProvider) encryptionKeys() []KeyPair {
	if sp.EncryptionKeys != nil {
		return sp.EncryptionKeys
	}
	return sp.SigningKeys
}

func (sp *ServiceProvider) now() time.Time {
	if sp.Now != nil {
		return sp.Now()
	}
	return time.Now()
}

func samePublicKey(a, b crypto.PublicKey) bool {
	type eq interface{ Equal(crypto.PublicKey) bool }
	if e, ok := a.(eq); ok {
		return e.Equal(b)
	}
	return false
}

// Endpoint is a protocol endpoint with its binding.
type Endpoint struct {
	Binding  string
	Location string
	// ResponseLocation, for SLO endpoints, is where responses go if it
	// differs from Location.
	ResponseLocation string
}

// IdentityProvider is a trusted IdP, usually obtained from ParseIdPMetadata.
// Keep one per IdP and share it (it is safe for concurrent use): the trusted
// keys and their fingerprints are prepared on first use, not per response.
// Do not modify or copy it after first use; build a new one when the
// metadata changes.
type IdentityProvider struct {
	EntityID string
	// DisplayName is the name the metadata gives the IdP for people
	// (mdui:DisplayName, else OrganizationDisplayName); "" when none.
	DisplayName string
	// SSO and SLO endpoints, in metadata order.
	SSO []Endpoint
	SLO []Endpoint
	// ArtifactResolution lists the ArtifactResolutionService endpoints
	// with their indexes (HTTP-Artifact binding).
	ArtifactResolution []IndexedEndpoint
	// SigningCertificates are all trusted (rollover): a signature by any of
	// them is accepted. Certificates in messages are never trusted.
	SigningCertificates []*x509.Certificate
	// EncryptionCertificates from metadata (informational).
	EncryptionCertificates []*x509.Certificate
	// WantAuthnRequestsSigned as published by the IdP.
	WantAuthnRequestsSigned bool
	// AllowSHA1 marks a legacy IdP whose SHA-1 signatures are accepted.
	AllowSHA1 bool
	// AllowLegacyEncryption accepts, from this IdP, encrypted assertions
	// and identifiers with 3DES-CBC content encryption or RSA PKCS#1 v1.5
	// key transport (rsa-1_5). Default false: both are refused.
	AllowLegacyEncryption bool
	// NameIDFormats published by the IdP.
	NameIDFormats []string
	// ValidUntil and CacheDuration from the metadata, if any.
	ValidUntil    time.Time
	CacheDuration time.Duration

	mu   sync.Mutex
	keys atomic.Pointer[[]xmldsig.Key]
}

func (idp *IdentityProvider) trusted() []xmldsig.Key {
	if k := idp.keys.Load(); k != nil {
		return *k
	}
	idp.mu.Lock()
	defer idp.mu.Unlock()
	if k := idp.keys.Load(); k != nil {
		return *k
	}
	ks := make([]xmldsig.Key, 0, len(idp.SigningCertificates))
	for _, c := range idp.SigningCertificates {
		switch c.PublicKey.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey:
			ks = append(ks, xmldsig.NewKey(c))
		}
	}
	idp.keys.Store(&ks)
	return ks
}

// Endpoint returns the first endpoint with the binding in list, or false.
func findEndpoint(list []Endpoint, binding string) (Endpoint, bool) {
	for _, e := range list {
		if e.Binding == binding {
			return e, true
		}
	}
	return Endpoint{}, false
}
