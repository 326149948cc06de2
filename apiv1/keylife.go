package apiv1

import "time"

// SPKeyQuery names the use of the SP key a rollover step is about.
type SPKeyQuery struct {
	Use string `query:"use,required" doc:"signing or encryption"`
}

// SPKey is one of a tenant's SP key pairs (never its private key).
type SPKey struct {
	ID          int64     `json:"id"`
	Use         string    `json:"use" doc:"signing or encryption"`
	Stage       string    `json:"stage" doc:"next (published, not yet used), current (signs / preferred for encryption), previous (still decrypts), retired"`
	Subject     string    `json:"subject"`
	Fingerprint string    `json:"fingerprint" doc:"SHA-256 of the certificate, colon-separated hex"`
	NotAfter    time.Time `json:"not_after"`
	CreatedAt   time.Time `json:"created_at"`
	Problem     string    `json:"problem,omitempty" doc:"why the key cannot be used"`
}

// MetadataFetch is a requester of the tenant's SP metadata.
type MetadataFetch struct {
	Requester string    `json:"requester" doc:"the client address"`
	UserAgent string    `json:"user_agent"`
	FirstAt   time.Time `json:"first_at"`
	LastAt    time.Time `json:"last_at"`
	Count     int64     `json:"count"`
}

// SPKeys is the state of a tenant's SP keys and rollover.
type SPKeys struct {
	Keys          []SPKey         `json:"keys"`
	NextSince     *time.Time      `json:"next_since" doc:"when the next key still waiting was published; null when none"`
	FetchedSince  []MetadataFetch `json:"fetched_since" doc:"requesters of the SP metadata since next_since: they have the next key"`
	FetchedBefore []MetadataFetch `json:"fetched_before" doc:"requesters not seen since next_since"`
}

// SPKeyNext is the body of adding a next SP key: empty to generate one, or
// an own key pair (PEM key and certificate, or a PKCS#12 file in base64
// with its password).
type SPKeyNext struct {
	KeyPEM         string `json:"key_pem,omitempty" doc:"PEM private key (PKCS#8 or PKCS#1 RSA, 2048 bits or more)"`
	CertificatePEM string `json:"certificate_pem,omitempty" doc:"PEM certificate of key_pem"`
	PKCS12Base64   string `json:"pkcs12_base64,omitempty" doc:"a PKCS#12 file (.p12, .pfx), base64"`
	Password       string `json:"password,omitempty" doc:"the PKCS#12 password"`
}

// SPKeyRetired answers the retirement of previous SP keys.
type SPKeyRetired struct {
	Retired []SPKey `json:"retired"`
}

// HeldCertificate is a certificate Lanyard holds or trusts.
type HeldCertificate struct {
	Tenant      string    `json:"tenant"`
	IdP         string    `json:"idp,omitempty" doc:"entity ID of the IdP, for its certificates and metadata pins"`
	Use         string    `json:"use" doc:"sp-signing, sp-encryption, idp-signing or metadata-signer"`
	Stage       string    `json:"stage,omitempty" doc:"rollover stage of an SP key"`
	Subject     string    `json:"subject"`
	Fingerprint string    `json:"fingerprint"`
	NotAfter    time.Time `json:"not_after"`
	Warning     string    `json:"warning,omitempty" doc:"within 30 days of expiry: what expires when and what to do"`
	Urgent      bool      `json:"urgent" doc:"expires within 7 days, or expired"`
}

// CertificateList answers the list of a tenant's certificates.
type CertificateList struct {
	Certificates []HeldCertificate `json:"certificates"`
}

// ManualIdP is an IdP configured by hand (it publishes no metadata).
type ManualIdP struct {
	EntityID            string   `json:"entity_id"`
	SSOURL              string   `json:"sso_url" format:"uri"`
	SSOBinding          string   `json:"sso_binding,omitempty" doc:"redirect (default) or post"`
	SLOURL              string   `json:"slo_url,omitempty" format:"uri"`
	SigningCertificates []string `json:"signing_certificates" doc:"PEM certificates the IdP signs with"`
	LegacySHA1          bool     `json:"legacy_sha1,omitempty"`
}

// Finding is one thing the connection doctor found.
type Finding struct {
	Check    string `json:"check" doc:"stable identifier of the check, e.g. sha1, transient_nameid, clock_difference"`
	Severity string `json:"severity" doc:"problem or warning"`
	IdP      string `json:"idp,omitempty"`
	Summary  string `json:"summary"`
	Evidence string `json:"evidence,omitempty"`
	Fix      string `json:"fix" doc:"what to change on which side, with the value"`
}

// Diagnosis is the connection doctor's report on a tenant.
type Diagnosis struct {
	Tenant   string    `json:"tenant"`
	Healthy  bool      `json:"healthy"`
	Summary  string    `json:"summary"`
	Logins   int       `json:"logins" doc:"recent logins examined"`
	Refusals int       `json:"refusals" doc:"recent refused logins examined"`
	Findings []Finding `json:"findings"`
}
