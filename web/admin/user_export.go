package admin

import (
	"context"
	"io"
	"net/http"

	"github.com/lanyard-sso/lanyard/web/internal/download"
)

// handleAdminUsersExport downloads the tenant's users as CSV.
func handleAdminUsersExport(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant := r.PathValue("tenant")
		err := download.CSV(r.Context(), w, "users-"+tenant+".csv", func(ctx context.Context, out io.Writer) error {
			_, err := d.Admin.ExportUsers(ctx, tenant, out)
			return err
		})
		if err != nil {
			d.Kit.RenderError(w, r, err)
		}
	})
}
