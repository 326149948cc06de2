package admin

import (
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard/admin"
)

type importView struct {
	adminPage
	Report  *admin.ImportReport
	Columns string
}

// handleAdminImport shows the CSV import form.
func handleAdminImport(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := d.newTenantPage(r, "CSV import")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_import", importView{adminPage: page, Columns: strings.Join(admin.ImportColumns, ",")})
	})
}

// handleAdminImportSubmit imports (or, with dry_run, checks) an uploaded
// CSV file and shows the report.
func handleAdminImportSubmit(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page, err := d.newTenantPage(r, "CSV import")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		v := importView{adminPage: page, Columns: strings.Join(admin.ImportColumns, ",")}
		f, _, err := r.FormFile("file")
		if err != nil {
			v.Problems = []string{"Choose a CSV file to import."}
			d.Kit.Render(w, r, http.StatusBadRequest, "admin_import", v)
			return
		}
		defer f.Close()
		rep, err := d.Admin.ImportUsers(r.Context(), actor(r), page.Tenant.Slug, f, admin.ImportOptions{DryRun: r.PostFormValue("dry_run") == "true"})
		if p := problems(err); p != nil {
			v.Problems = p
			d.Kit.Render(w, r, http.StatusBadRequest, "admin_import", v)
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		v.Report = &rep
		d.Kit.Render(w, r, http.StatusOK, "admin_import", v)
	})
}
