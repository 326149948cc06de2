package admin

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// keysView is the data of a tenant's keys and certificates page.
type keysView struct {
	adminPage
	Rollover     admin.KeyRollover
	Certificates []certView
	Uses         []lanyard.KeyUse
	// HasNext, HasPrevious say per use which rollover buttons apply.
	HasNext, HasPrevious map[lanyard.KeyUse]bool
}

type certView struct {
	admin.HeldCertificate
	Warning string
	Urgent  bool
}

// handleAdminKeys shows a tenant's SP keys with their rollover stage, the
// buttons of the next step, who fetched the SP metadata since a next key
// was published, and every certificate of the tenant with its expiry.
func handleAdminKeys(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := d.newTenantPage(r, "")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.renderKeys(w, r, page)
	})
}

func (d *Deps) renderKeys(w http.ResponseWriter, r *http.Request, page adminPage) {
	ctx := r.Context()
	slug := r.PathValue("tenant")
	ro, err := d.Admin.SPKeyRollover(ctx, slug)
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	certs, err := d.Admin.Certificates(ctx, slug)
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	page.Tenant = ro.Tenant
	page.Title = "Keys and certificates of " + ro.Tenant.Slug
	v := keysView{adminPage: page, Rollover: ro, Uses: []lanyard.KeyUse{lanyard.KeySigning, lanyard.KeyEncryption},
		HasNext: map[lanyard.KeyUse]bool{}, HasPrevious: map[lanyard.KeyUse]bool{}}
	for _, k := range ro.Keys {
		switch k.Stage {
		case admin.StageNext:
			v.HasNext[k.Use] = true
		case admin.StagePrevious:
			v.HasPrevious[k.Use] = true
		}
	}
	now := d.Kit.Now()
	for _, c := range certs {
		v.Certificates = append(v.Certificates, certView{HeldCertificate: c, Warning: c.Warning(now), Urgent: c.Urgent(now)})
	}
	status := http.StatusOK
	if len(page.Problems) > 0 {
		status = http.StatusBadRequest
	}
	d.Kit.Render(w, r, status, "admin_keys", v)
}

// keyStep runs one rollover step posted from the keys page.
func keyStep(d *Deps, step string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		use := lanyard.KeyUse(r.PostFormValue("use"))
		var msg string
		var err error
		switch step {
		case "next":
			var material *admin.SPKeyMaterial
			if material, err = postedKeyMaterial(r); err == nil {
				var k admin.KeyInfo
				if k, err = d.Admin.AddNextSPKey(r.Context(), actor(r), slug, use, material); err == nil {
					msg = fmt.Sprintf("Added the next %s key (SHA-256 %s, expires %s). It is published in the SP metadata; switch to it once the IdPs have refreshed it.", use, k.Fingerprint, k.NotAfter.UTC().Format(time.DateOnly))
				}
			}
		case "switch":
			var k admin.KeyInfo
			if k, err = d.Admin.SwitchSPKey(r.Context(), actor(r), slug, use); err == nil {
				msg = fmt.Sprintf("Switched to the %s key %d. The previous key still decrypts; retire it once the IdPs have refreshed the SP metadata.", use, k.ID)
			}
		case "retire":
			var ks []admin.KeyInfo
			if ks, err = d.Admin.RetireSPKey(r.Context(), actor(r), slug, use); err == nil {
				msg = fmt.Sprintf("Retired %d previous %s key(s).", len(ks), use)
			}
		}
		if p := problems(err); p != nil {
			page := newAdminPage(r, "")
			page.Notice, page.Problems = "", p
			d.renderKeys(w, r, page)
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, "/keys"), msg)
	})
}

// postedKeyMaterial reads an own key pair from the form, nil when none
// was given (the key is then generated).
func postedKeyMaterial(r *http.Request) (*admin.SPKeyMaterial, error) {
	read := func(field string) ([]byte, error) {
		f, _, err := r.FormFile(field)
		if err != nil {
			return nil, nil // no file
		}
		defer f.Close()
		var buf bytes.Buffer
		if _, err := io.Copy(&buf, io.LimitReader(f, admin.MaxKeyMaterialSize+1)); err != nil {
			return nil, fmt.Errorf("web: read %s upload: %w", field, err)
		}
		return buf.Bytes(), nil
	}
	var m admin.SPKeyMaterial
	var err error
	if m.KeyPEM, err = read("key_file"); err != nil {
		return nil, err
	}
	if m.CertificatePEM, err = read("cert_file"); err != nil {
		return nil, err
	}
	if m.PKCS12, err = read("pkcs12_file"); err != nil {
		return nil, err
	}
	if len(m.KeyPEM) == 0 && len(m.CertificatePEM) == 0 && len(m.PKCS12) == 0 {
		return nil, nil
	}
	m.Password = r.PostFormValue("pkcs12_password")
	return &m, nil
}

func init() {
	settingLabels["key_rollover_days"] = settingLabel{"Automatic SP key rollover", "Days before the SP keys expire to add their successors (switched to half-way, the old ones retired once expired); off: roll over by hand on the keys page."}
}
