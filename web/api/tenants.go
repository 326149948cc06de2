package api

import (
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/apiv1"
)

// handleTenantList lists the tenants.
func handleTenantList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.TenantList, error) {
		ts, err := d.Tenants.Tenants(r.Context())
		if err != nil {
			return apiv1.TenantList{}, err
		}
		return apiv1.TenantList{Tenants: listOf(ts, toTenant)}, nil
	})
}

// handleTenantCreate creates a tenant with its SP keys.
func handleTenantCreate(d Deps) endpoint {
	return jsonCall(d, http.StatusCreated, func(r *http.Request, _ none, in apiv1.TenantCreate) (apiv1.Tenant, error) {
		t, err := d.Tenants.CreateTenant(r.Context(), actor(r), in.Slug, in.DisplayName, in.EmailDomains)
		if err != nil {
			return apiv1.Tenant{}, err
		}
		return toTenant(t), nil
	})
}

// handleTenantGet shows a tenant with its settings, SP endpoints and IdPs.
func handleTenantGet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.TenantInfo, error) {
		info, err := d.Tenants.DescribeTenant(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return apiv1.TenantInfo{}, err
		}
		e := info.Endpoints
		return apiv1.TenantInfo{
			Tenant:    toTenant(info.Tenant),
			Endpoints: apiv1.Endpoints{EntityID: e.EntityID, MetadataURL: e.MetadataURL, ACSURL: e.ACSURL, SLOURL: e.SLOURL, LoginURL: e.LoginURL},
			IdPs:      listOf(info.IdPs, idpConverter(d.Now())),
			Users:     info.Users,
		}, nil
	})
}

// handleTenantSet changes tenant settings (the keys of SetTenant).
func handleTenantSet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, in apiv1.Settings) (apiv1.TenantChange, error) {
		t, changes, err := d.Tenants.SetTenant(r.Context(), actor(r), r.PathValue("tenant"), settingsList(in))
		if err != nil {
			return apiv1.TenantChange{}, err
		}
		return apiv1.TenantChange{Tenant: toTenant(t), Changes: orEmpty(changes)}, nil
	})
}

func toTenant(t lanyard.Tenant) apiv1.Tenant {
	out := apiv1.Tenant{ID: t.ID, Slug: t.Slug, DisplayName: t.DisplayName, EmailDomains: append([]string{}, t.EmailDomains...),
		SSOEnabled: t.SSO.Enabled, Settings: map[string]string{}, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
	for _, kv := range admin.TenantSettingValues(t) {
		out.Settings[kv.Key] = kv.Value
	}
	return out
}

// settingsList is the body of a PATCH call as SetTenant and SetUser take
// it: "key=value" strings.
func settingsList(b apiv1.Settings) []string {
	out := make([]string, 0, len(b.Settings))
	for k, v := range b.Settings {
		out = append(out, k+"="+v)
	}
	return out
}

// handleTenantDelete deletes a tenant (?confirm=SLUG).
func handleTenantDelete(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.TenantDeleteQuery, _ none) (apiv1.Deleted, error) {
		del, err := d.Tenants.DeleteTenant(r.Context(), actor(r), r.PathValue("tenant"), q.Confirm)
		if err != nil {
			return apiv1.Deleted{}, err
		}
		return apiv1.Deleted{Deleted: del.Tenant.Slug}, nil
	})
}
