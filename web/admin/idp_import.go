package admin

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// handleAdminIdPImport connects an IdP from an uploaded file, pasted XML
// or a URL.
func handleAdminIdPImport(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		src := admin.IdPSource{EntityID: strings.TrimSpace(r.PostFormValue("entity_id")), LegacySHA1: r.PostFormValue("legacy_sha1") == "true",
			LegacyEncryption: r.PostFormValue("legacy_encryption") == "true"}
		if f, _, err := r.FormFile("metadata_file"); err == nil {
			var buf bytes.Buffer
			_, err := buf.ReadFrom(f)
			f.Close()
			if err != nil {
				d.Kit.RenderError(w, r, fmt.Errorf("web: read metadata upload: %w", err))
				return
			}
			src.Metadata = buf.Bytes()
		}
		if len(src.Metadata) == 0 {
			src.Metadata = []byte(strings.TrimSpace(r.PostFormValue("metadata_xml")))
		}
		if u := strings.TrimSpace(r.PostFormValue("metadata_url")); len(src.Metadata) == 0 && u != "" {
			src.Metadata, src.URL = nil, u
		}
		slug := r.PathValue("tenant")
		if len(src.Metadata) == 0 && src.URL == "" {
			page := newAdminPage(r, "")
			page.Notice, page.Problems = "", []string{"Give the IdP metadata: upload its file, paste its XML or give its URL."}
			d.renderTenant(w, r, page, nil)
			return
		}
		c, warnings, err := d.Admin.ImportIdP(r.Context(), actor(r), slug, src)
		d.answerIdPConnected(w, r, slug, c, warnings, err, "")
	})
}

// answerIdPConnected answers a form that connected an IdP (how says how,
// empty for from its metadata): the problems on the tenant page, another
// error's page, or the tenant page with what was done and its warnings.
func (d *Deps) answerIdPConnected(w http.ResponseWriter, r *http.Request, slug string, c lanyard.IdPConnection, warnings []string, err error, how string) {
	if p := problems(err); p != nil {
		page := newAdminPage(r, "")
		page.Notice, page.Problems = "", p
		d.renderTenant(w, r, page, nil)
		return
	}
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	msg := "Connected IdP " + c.EntityID
	if how != "" {
		msg += " (" + how + ")"
	}
	msg += "."
	if len(warnings) > 0 {
		msg += " Warnings: " + strings.Join(warnings, "; ")
	}
	done(w, r, tenantURL(slug, ""), msg)
}
