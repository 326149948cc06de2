package apiv1

import "time"

// Tenant is an organisation with its own IdPs, users and settings.
type Tenant struct {
	ID           int64             `json:"id"`
	Slug         string            `json:"slug" doc:"the tenant's name in URLs: /t/{slug}/saml/..."`
	DisplayName  string            `json:"display_name"`
	EmailDomains []string          `json:"email_domains" doc:"users typing an address of these domains are sent to this tenant's IdP"`
	SSOEnabled   bool              `json:"sso_enabled"`
	Settings     map[string]string `json:"settings" doc:"every setting of lanyard tenant set, with its value"`
	CreatedAt    time.Time         `json:"created_at"`
	UpdatedAt    time.Time         `json:"updated_at"`
}

// TenantList answers the list of tenants.
type TenantList struct {
	Tenants []Tenant `json:"tenants"`
}

// TenantCreate is the body that creates a tenant.
type TenantCreate struct {
	Slug         string   `json:"slug"`
	DisplayName  string   `json:"display_name,omitempty"`
	EmailDomains []string `json:"email_domains,omitempty"`
}

// Endpoints are the SP endpoints of a tenant, as the IdP is told them.
type Endpoints struct {
	EntityID    string `json:"entity_id"`
	MetadataURL string `json:"metadata_url"`
	ACSURL      string `json:"acs_url"`
	SLOURL      string `json:"slo_url"`
	LoginURL    string `json:"login_url"`
}

// TenantInfo is a tenant with its SP endpoints, IdPs and number of users.
type TenantInfo struct {
	Tenant    Tenant    `json:"tenant"`
	Endpoints Endpoints `json:"endpoints"`
	IdPs      []IdP     `json:"idps"`
	Users     int       `json:"users" doc:"number of accounts"`
}

// TenantChange answers a change of settings.
type TenantChange struct {
	Tenant  Tenant   `json:"tenant"`
	Changes []string `json:"changes" doc:"what changed, one line per setting; empty when nothing did"`
}
