package admin

import (
	"bytes"
	"fmt"
	"net/http"
)

// handleAdminUsersExport downloads the tenant's users as CSV.
func handleAdminUsersExport(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.writeUsersCSV(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
		}
	})
}

// writeUsersCSV answers the users of the tenant the path names
// ({tenant}) as a CSV download. When the export fails it writes nothing
// and returns the error, for the caller to answer in its own way.
func (d *Deps) writeUsersCSV(w http.ResponseWriter, r *http.Request) error {
	var buf bytes.Buffer
	if _, err := d.Admin.ExportUsers(r.Context(), r.PathValue("tenant"), &buf); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="users-%s.csv"`, r.PathValue("tenant")))
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
	return nil
}
