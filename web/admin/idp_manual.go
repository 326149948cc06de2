package admin

import (
	"bytes"
	"io"
	"net/http"

	"github.com/lanyard-sso/lanyard/admin"
)

// handleAdminManualIdP connects an IdP configured by hand: entity ID, URLs
// and signing certificates (uploaded or pasted).
func handleAdminManualIdP(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		certs := []byte(r.PostFormValue("signing_certs"))
		if f, _, err := r.FormFile("cert_file"); err == nil {
			var buf bytes.Buffer
			_, err := io.Copy(&buf, io.LimitReader(f, 1<<20))
			f.Close()
			if err != nil {
				d.Kit.RenderError(w, r, err)
				return
			}
			certs = append(append(buf.Bytes(), '\n'), certs...)
		}
		slug := r.PathValue("tenant")
		c, warnings, err := d.Admin.AddManualIdP(r.Context(), actor(r), slug, admin.ManualIdP{
			EntityID: r.PostFormValue("entity_id"), SSOURL: r.PostFormValue("sso_url"), SSOBinding: r.PostFormValue("sso_binding"),
			SLOURL: r.PostFormValue("slo_url"), SigningCertsPEM: certs, LegacySHA1: r.PostFormValue("legacy_sha1") == "true",
		})
		d.answerIdPConnected(w, r, slug, c, warnings, err, "configured by hand")
	})
}

// doctorView is the data of the connection doctor's page.
type doctorView struct {
	adminPage
	Diagnosis admin.Diagnosis
}

// handleAdminDoctor shows the connection doctor's findings on a tenant.
func handleAdminDoctor(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := d.newTenantPage(r, "")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		diag, err := d.Admin.Diagnose(r.Context(), page.Tenant.Slug)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page.Title = "Connection doctor of " + page.Tenant.Slug
		d.Kit.Render(w, r, http.StatusOK, "admin_doctor", doctorView{adminPage: page, Diagnosis: diag})
	})
}
