package apiclient

import (
	"context"
	"net/http"

	"github.com/lanyard-sso/lanyard/apiv1"
)

// GetSPKeys returns the tenant's SP keys with their rollover stage.
func (c *Client) GetSPKeys(ctx context.Context, tenant string) (apiv1.SPKeys, error) {
	var out apiv1.SPKeys
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "sp-keys"}, nil, nil, &out)
}

// AddNextSPKey adds the next SP key for use ("signing" or "encryption"):
// generated when in is empty, else the key pair in it.
func (c *Client) AddNextSPKey(ctx context.Context, tenant, use string, in apiv1.SPKeyNext) (apiv1.SPKey, error) {
	var out apiv1.SPKey
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "sp-keys", "next"}, apiv1.SPKeyQuery{Use: use}, in, &out)
}

// SwitchSPKey switches the tenant to its next SP key for use.
func (c *Client) SwitchSPKey(ctx context.Context, tenant, use string) (apiv1.SPKey, error) {
	var out apiv1.SPKey
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "sp-keys", "switch"}, apiv1.SPKeyQuery{Use: use}, nil, &out)
}

// RetireSPKey withdraws the tenant's previous SP keys for use.
func (c *Client) RetireSPKey(ctx context.Context, tenant, use string) (apiv1.SPKeyRetired, error) {
	var out apiv1.SPKeyRetired
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "sp-keys", "retire"}, apiv1.SPKeyQuery{Use: use}, nil, &out)
}

// ListCertificates lists every certificate of the tenant with its expiry.
func (c *Client) ListCertificates(ctx context.Context, tenant string) (apiv1.CertificateList, error) {
	var out apiv1.CertificateList
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "certificates"}, nil, nil, &out)
}

// AddManualIdP connects an IdP configured by hand.
func (c *Client) AddManualIdP(ctx context.Context, tenant string, in apiv1.ManualIdP) (apiv1.IdPImport, error) {
	var out apiv1.IdPImport
	return out, c.call(ctx, http.MethodPost, []string{"tenants", tenant, "idps", "manual"}, nil, in, &out)
}

// DiagnoseTenant runs the connection doctor on the tenant.
func (c *Client) DiagnoseTenant(ctx context.Context, tenant string) (apiv1.Diagnosis, error) {
	var out apiv1.Diagnosis
	return out, c.call(ctx, http.MethodGet, []string{"tenants", tenant, "doctor"}, nil, nil, &out)
}
