package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// settingField is one tenant setting in the SSO settings form.
type settingField struct {
	Key, Values, Value string
	settingLabel
	Bool    bool
	Choices []string
	// ReadOnly: only operators change it (admin.OperatorTenantSetting).
	ReadOnly bool
}

type tenantView struct {
	adminPage
	Info     admin.TenantInfo
	Fields   []settingField
	Groups   []settingField // group_roles.<GROUP> mappings
	IdPs     []idpView
	SignCert string // the active signing certificate (PEM)
	EncCert  string
	Tenants  []lanyard.Tenant
}

type idpView struct {
	Conn    lanyard.IdPConnection
	Details admin.IdPDetails
}

// choices lists the values of an enumerated setting ("a|b|c").
func choices(values string) []string {
	if strings.ContainsAny(values, " ,") || !strings.Contains(values, "|") {
		return nil
	}
	return strings.Split(values, "|")
}

// handleAdminTenant shows a tenant: the values an IdP administrator needs,
// the SSO settings form, the IdP connections with certificate expiry, the
// metadata upload form and the "Test SSO connection" button.
func handleAdminTenant(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderTenant(w, r, newAdminPage(r, ""), nil)
	})
}

// renderTenant renders the tenant page, with the posted values in place of
// the stored ones when a change was refused.
func (d *Deps) renderTenant(w http.ResponseWriter, r *http.Request, page adminPage, posted url.Values) {
	ctx := r.Context()
	info, err := d.Admin.DescribeTenant(ctx, r.PathValue("tenant"))
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	page.Tenant = info.Tenant
	page.Title = "SSO of " + info.Tenant.Slug
	v := tenantView{adminPage: page, Info: info}
	values := map[string]string{}
	for _, kv := range admin.TenantSettingValues(info.Tenant) {
		values[kv.Key] = kv.Value
		if strings.HasPrefix(kv.Key, "group_roles.") {
			if posted != nil && posted.Has(kv.Key) {
				kv.Value = posted.Get(kv.Key)
			}
			v.Groups = append(v.Groups, settingField{Key: kv.Key, Value: kv.Value, settingLabel: labelOf(kv.Key)})
		}
	}
	for _, k := range admin.TenantSettingKeys() {
		if strings.Contains(k.Key, "<") {
			continue
		}
		f := settingField{Key: k.Key, Values: k.Values, Value: values[k.Key], Choices: choices(k.Values), settingLabel: labelOf(k.Key)}
		if posted != nil && posted.Has(k.Key) {
			f.Value = posted.Get(k.Key)
		}
		f.Bool = k.Values == "true|false"
		f.ReadOnly = !page.Operator && admin.OperatorTenantSetting(k.Key)
		v.Fields = append(v.Fields, f)
	}
	for _, c := range info.IdPs {
		v.IdPs = append(v.IdPs, idpView{Conn: c, Details: admin.DescribeIdP(c)})
	}
	keys, err := d.Store.SPKeys(ctx, info.Tenant.ID)
	if err != nil {
		d.Kit.RenderError(w, r, fmt.Errorf("web: SP keys of %s: %w", info.Tenant.Slug, err))
		return
	}
	for _, k := range keys { // newest first
		if !k.Active || k.Next {
			continue // a next key is not in use yet
		}
		if k.Use == lanyard.KeySigning && v.SignCert == "" {
			v.SignCert = k.CertificatePEM
		}
		if k.Use == lanyard.KeyEncryption && v.EncCert == "" {
			v.EncCert = k.CertificatePEM
		}
	}
	status := http.StatusOK
	if len(page.Problems) > 0 {
		status = http.StatusBadRequest
	}
	d.Kit.Render(w, r, status, "admin_tenant", v)
}
