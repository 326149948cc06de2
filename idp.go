package lanyard

import "time"

// IdPConnection is a tenant's trust in one SAML Identity Provider.
type IdPConnection struct {
	ID          int64
	TenantID    int64
	EntityID    string
	MetadataXML string // the last good copy of the metadata
	SourceURL   string // empty when imported from a file or pasted
	// SigningCerts are the PEM certificates trusted for signatures (all of
	// them during a rollover).
	SigningCerts []string
	// MetadataSigners are PEM certificates pinned at import: when set, the
	// metadata (at import and on every refresh from SourceURL) must carry
	// a signature by one of them. Empty means the metadata is trusted as
	// given (uploaded by an administrator, or fetched over HTTPS).
	MetadataSigners []string
	// LegacySHA1 accepts RSA-SHA1 signatures from this IdP.
	LegacySHA1 bool
	// LegacyEncryption accepts encrypted assertions and identifiers with
	// 3DES-CBC content encryption or RSA PKCS#1 v1.5 key transport from
	// this IdP (both refused by default).
	LegacyEncryption bool
	// RefreshedAt is when the metadata was last fetched successfully;
	// RefreshError the error of the last failed fetch (empty after a success).
	RefreshedAt  time.Time
	RefreshError string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// KeyUse says what an SP key pair is for.
type KeyUse string

// Key uses.
const (
	KeySigning    KeyUse = "signing"
	KeyEncryption KeyUse = "encryption"
)

// SPKey is one of a tenant's SP key pairs. Several are kept during a
// rollover: every active key is published in metadata and can decrypt; the
// newest active signing key that is not Next signs, and the newest active
// encryption key that is not Next is listed first (IdPs encrypt to the
// first one they find).
type SPKey struct {
	ID             int64
	TenantID       int64
	Use            KeyUse
	PrivateKeyPEM  string // PKCS#8
	CertificatePEM string
	NotAfter       time.Time
	Active         bool
	// Next marks a key added for a rollover and not yet switched to: it is
	// published in metadata after the current keys (so IdPs that refresh
	// pick it up) and decrypts, but does not sign and is not preferred for
	// encryption.
	Next      bool
	CreatedAt time.Time
}
