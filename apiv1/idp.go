package apiv1

import "time"

// IdP is an IdP connection of a tenant.
type IdP struct {
	ID           int64      `json:"id"`
	EntityID     string     `json:"entity_id"`
	SourceURL    string     `json:"source_url,omitempty" doc:"where the metadata is refreshed from; absent when it was uploaded"`
	RefreshedAt  *time.Time `json:"refreshed_at"`
	RefreshError string     `json:"refresh_error,omitempty" doc:"why the last refresh failed; the last good copy is kept"`
	LegacySHA1   bool       `json:"legacy_sha1" doc:"RSA-SHA1 signatures are accepted from this IdP"`
	// LegacyEncryption: 3DES-CBC and rsa-1_5 key transport are accepted.
	LegacyEncryption bool          `json:"legacy_encryption" doc:"3DES-CBC content encryption and RSA PKCS#1 v1.5 (rsa-1_5) key transport are accepted from this IdP (weak; refused by default)"`
	Certificates     []Certificate `json:"certificates"`
}

// Certificate is a signing certificate of an IdP.
type Certificate struct {
	Subject  string    `json:"subject"`
	NotAfter time.Time `json:"not_after"`
	Warning  string    `json:"warning,omitempty" doc:"\"expired\", or \"expires in N days\" within 30 days"`
}

// IdPList answers the list of a tenant's IdPs.
type IdPList struct {
	IdPs []IdP `json:"idps"`
}

// IdPImportQuery are the query parameters of an IdP import.
type IdPImportQuery struct {
	EntityID         string `query:"entity_id" doc:"the IdP to take from a federation document"`
	LegacySHA1       bool   `query:"legacy_sha1" doc:"accept RSA-SHA1 signatures"`
	LegacyEncryption bool   `query:"legacy_encryption" doc:"accept 3DES-CBC content encryption and RSA PKCS#1 v1.5 (rsa-1_5) key transport (weak; the import answers with a warning)"`
}

// IdPImportURL is the JSON body of an IdP import from a URL, the other body
// being the metadata XML itself.
type IdPImportURL struct {
	URL      string `json:"url" format:"uri" doc:"where to fetch the metadata from, now and periodically"`
	EntityID string `json:"entity_id,omitempty" doc:"the IdP to take from a federation document"`
}

// IdPImport answers an IdP import.
type IdPImport struct {
	IdP      IdP      `json:"idp"`
	Warnings []string `json:"warnings" doc:"what works but deserves a look, e.g. a certificate about to expire"`
}

// IdPQuery names the IdP of a call about one IdP.
type IdPQuery struct {
	EntityID string `query:"entity_id,required" doc:"the entity ID of the IdP"`
}

// IdPRefresh answers a refresh of an IdP's metadata from its URL.
type IdPRefresh struct {
	IdP      IdP      `json:"idp"`
	Changed  bool     `json:"changed" doc:"the metadata differs from the last copy"`
	Changes  string   `json:"changes" doc:"what changed, or \"nothing changed\""`
	Warnings []string `json:"warnings"`
}
