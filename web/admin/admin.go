package admin

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/web/internal/params"
	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// The web admin UI: server-rendered pages over package admin, one handler
// per page or form, post/redirect/get. Every route is behind requireAdmin
// (routes.go); every form carries the session's CSRF token, checked by
// adminForm before anything changes; every change is made by an admin.Service
// method with the administrator's login as the actor.

// maxUploadBytes bounds the uploads of the admin UI (CSV files, metadata).
const maxUploadBytes = 64 << 20

// adminPage is what every admin page shows: the navigation, a notice after
// a change, the problems of a refused form.
type adminPage struct {
	Title    string
	User     lanyard.User
	Tenant   lanyard.Tenant
	CSRF     string
	Notice   string
	Problems []string
}

// newAdminPage starts the data of a page; the notice comes from the
// redirect after a change (post/redirect/get), and is shown only when its
// MAC matches the administrator's session: a link from elsewhere cannot
// make an admin page show a text of someone else's choosing.
func newAdminPage(r *http.Request, title string) adminPage {
	auth := ui.AdminFrom(r.Context())
	page := adminPage{Title: title, User: auth.User, CSRF: session.CSRFToken(auth.Session)}
	q := r.URL.Query()
	if notice := q.Get("notice"); notice != "" && hmac.Equal([]byte(q.Get("mac")), []byte(noticeMAC(auth.Session, notice))) {
		page.Notice = notice
	}
	return page
}

// newTenantPage is newAdminPage for a page of the tenant the path names
// ({tenant}), with page.Tenant set; an error when there is no such tenant.
func (d *Deps) newTenantPage(r *http.Request, title string) (adminPage, error) {
	page := newAdminPage(r, title)
	t, err := d.Admin.Tenant(r.Context(), r.PathValue("tenant"))
	if err != nil {
		return page, err
	}
	page.Tenant = t
	return page, nil
}

// noticeMAC authenticates a notice for the session.
func noticeMAC(sess lanyard.Session, notice string) string {
	m := hmac.New(sha256.New, []byte("lanyard admin notice\x00"+session.CSRFToken(sess)))
	m.Write([]byte(notice))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// actor is the audit actor of the administrator of r.
func actor(r *http.Request) string {
	return ui.AdminFrom(r.Context()).User.Login
}

// adminForm checks a posted admin form: its size, origin and CSRF token.
// Multipart forms (uploads) may be up to maxUploadBytes.
func (d *Deps) adminForm(w http.ResponseWriter, r *http.Request) error {
	limit := int64(ui.MaxFormBytes)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		limit = maxUploadBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return &lanyard.Error{Kind: lanyard.KindInvalid, Message: "The upload could not be read (at most 64 MiB). Choose the file again and send the form.", Err: err}
		}
	} else if err := ui.ParseForm(r); err != nil {
		return err
	}
	return d.Kit.VerifySessionToken(r, ui.AdminFrom(r.Context()).Session)
}

// problems returns the problems of a refused change, one per line, or nil
// when err is not a refusal the administrator can fix (then it is rendered
// as an error page).
func problems(err error) []string {
	switch lanyard.ErrorKind(err) {
	case lanyard.KindInvalid, lanyard.KindConflict, lanyard.KindNotFound:
	default:
		return nil
	}
	msg := lanyard.ErrorMessage(err)
	head, rest, ok := strings.Cut(msg, "\n  - ")
	if !ok {
		return []string{msg}
	}
	out := []string{}
	if !strings.HasSuffix(head, " problems:") {
		out = append(out, head)
	}
	return append(out, strings.Split(rest, "\n  - ")...)
}

// done redirects after a change, with a notice for the next page.
func done(w http.ResponseWriter, r *http.Request, to, notice string) {
	u, _ := url.Parse(to)
	if len(notice) > 1500 {
		notice = notice[:1500] + "…"
	}
	q := u.Query()
	q.Set("notice", notice)
	q.Set("mac", noticeMAC(ui.AdminFrom(r.Context()).Session, notice))
	u.RawQuery = q.Encode()
	ui.Redirect(w, r, u.String())
}

// tenantURL is the admin page of a tenant, plus a sub-path.
func tenantURL(slug, sub string) string {
	return "/admin/tenants/" + url.PathEscape(slug) + sub
}

// --- Tenant: SSO settings, IdP connections, SP metadata panel ---

// settingField is one tenant setting in the SSO settings form.
type settingField struct {
	Key, Values, Value string
	Bool               bool
	Choices            []string
}

type tenantView struct {
	adminPage
	Info     admin.TenantInfo
	Fields   []settingField
	Groups   []admin.Setting // group_roles.<GROUP> mappings
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
			v.Groups = append(v.Groups, kv)
		}
	}
	for _, k := range admin.TenantSettingKeys() {
		if strings.Contains(k.Key, "<") {
			continue
		}
		f := settingField{Key: k.Key, Values: k.Values, Value: values[k.Key], Choices: choices(k.Values)}
		if posted != nil && posted.Has(k.Key) {
			f.Value = posted.Get(k.Key)
		}
		f.Bool = k.Values == "true|false"
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
		if !k.Active {
			continue
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

// handleAdminTenantSettings saves the SSO settings form: only the values
// that differ from the stored ones are sent to SetTenant, which checks them
// all at once and writes all or nothing.
func handleAdminTenantSettings(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		t, err := d.Admin.Tenant(r.Context(), slug)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		var settings []string
		for _, kv := range admin.TenantSettingValues(t) {
			if nv, ok := r.PostForm[kv.Key]; ok && strings.TrimSpace(nv[0]) != kv.Value {
				settings = append(settings, kv.Key+"="+strings.TrimSpace(nv[0]))
			}
		}
		if g := strings.TrimSpace(r.PostFormValue("new_group")); g != "" {
			settings = append(settings, "group_roles."+g+"="+strings.TrimSpace(r.PostFormValue("new_group_roles")))
		}
		if len(settings) == 0 {
			done(w, r, tenantURL(slug, ""), "No setting changed.")
			return
		}
		_, changes, err := d.Admin.SetTenant(r.Context(), actor(r), slug, settings)
		if p := problems(err); p != nil {
			page := newAdminPage(r, "")
			page.Notice, page.Problems = "", p
			d.renderTenant(w, r, page, r.PostForm)
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, ""), "Saved: "+strings.Join(changes, "; "))
	})
}

// handleAdminIdPImport connects an IdP from an uploaded file, pasted XML
// or a URL.
func handleAdminIdPImport(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		src := admin.IdPSource{EntityID: strings.TrimSpace(r.PostFormValue("entity_id")), LegacySHA1: r.PostFormValue("legacy_sha1") == "true"}
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
		msg := "Connected IdP " + c.EntityID + "."
		if len(warnings) > 0 {
			msg += " Warnings: " + strings.Join(warnings, "; ")
		}
		done(w, r, tenantURL(slug, ""), msg)
	})
}

// handleAdminIdPDelete removes an IdP connection.
func handleAdminIdPDelete(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug, id := r.PathValue("tenant"), r.PostFormValue("entity_id")
		if err := d.Admin.DeleteIdP(r.Context(), actor(r), slug, id); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, ""), "Removed IdP "+id+".")
	})
}

// handleAdminTenantCreate creates a tenant from the dashboard.
func handleAdminTenantCreate(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		var domains []string
		for _, d := range strings.Split(r.PostFormValue("email_domains"), ",") {
			if d = strings.TrimSpace(d); d != "" {
				domains = append(domains, d)
			}
		}
		t, err := d.Admin.CreateTenant(r.Context(), actor(r), strings.TrimSpace(r.PostFormValue("slug")), strings.TrimSpace(r.PostFormValue("display_name")), domains)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(t.Slug, ""), "Created tenant "+t.Slug+" with its SP keys. Connect its IdP below.")
	})
}

// handleAdminSSOTest starts "Test SSO connection": an SP-initiated login
// whose return path makes the ACS report instead of signing in.
func handleAdminSSOTest(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		slug := r.PathValue("tenant")
		if _, err := d.Admin.Tenant(r.Context(), slug); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		ui.Redirect(w, r, ui.SSOPath(slug)+"login?"+url.Values{"return_to": {ui.SSOTestReturn(slug)}}.Encode())
	})
}

// --- Users ---

type usersView struct {
	adminPage
	Users  []lanyard.User
	Filter lanyard.UserFilter
	Total  int
	Roles  []string
	More   bool
	Next   int // offset of the next page when More
}

// usersPageSize is how many users a page of the list shows.
const usersPageSize = 100

// handleAdminUsers lists and filters a tenant's users.
func handleAdminUsers(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		page, err := d.newTenantPage(r, "Users")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		q := r.URL.Query()
		f := lanyard.UserFilter{Query: q.Get("query"), Status: lanyard.UserStatus(q.Get("status")), Source: lanyard.UserSource(q.Get("source")),
			LoginMethod: lanyard.LoginMethod(q.Get("login_method")), Role: q.Get("role"), Limit: usersPageSize + 1}
		if n, err := params.QueryInt(r, "offset"); err == nil {
			f.Offset = int(n)
		}
		users, err := d.Admin.Users(ctx, page.Tenant.Slug, f)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		v := usersView{adminPage: page, Users: users, Filter: f}
		if len(users) > usersPageSize {
			v.Users, v.More, v.Next = users[:usersPageSize], true, f.Offset+usersPageSize
		}
		f.TenantID = page.Tenant.ID
		if v.Total, err = d.Store.CountUsers(ctx, f); err != nil {
			d.Kit.RenderError(w, r, fmt.Errorf("web: count users: %w", err))
			return
		}
		if v.Roles, err = d.Store.Roles(ctx, page.Tenant.ID); err != nil {
			d.Kit.RenderError(w, r, fmt.Errorf("web: roles: %w", err))
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_users", v)
	})
}

type userView struct {
	adminPage
	Info admin.UserInfo
	U    *lanyard.User // Info.User, addressable for its methods in templates
	Form map[string]string
}

// handleAdminUser shows a user with its state and the form to change it.
func handleAdminUser(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderUser(w, r, newAdminPage(r, ""))
	})
}

func (d *Deps) renderUser(w http.ResponseWriter, r *http.Request, page adminPage) {
	info, err := d.Admin.DescribeUser(r.Context(), r.PathValue("tenant"), r.PathValue("login"))
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	page.Tenant, page.Title = info.Tenant, "User "+info.User.Login
	v := userView{adminPage: page, Info: info, U: &info.User, Form: map[string]string{}}
	for _, kv := range admin.UserSettingValues(info.User) {
		v.Form[kv.Key] = kv.Value
	}
	status := http.StatusOK
	if len(page.Problems) > 0 {
		status = http.StatusBadRequest
	}
	d.Kit.Render(w, r, status, "admin_user", v)
}

// userFormKeys are the fields of the user form, as SetUser keys.
var userFormKeys = []string{"email", "firstname", "lastname", "status", "locked", "login_method", "web_access", "auto_login", "roles"}

// handleAdminUserSave changes a user from its form, or runs one of the
// quick actions (lock, unlock, activate, deactivate) named by "action".
func handleAdminUserSave(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug, login := r.PathValue("tenant"), r.PathValue("login")
		u, err := d.Admin.User(r.Context(), slug, login)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		var settings []string
		switch r.PostFormValue("action") {
		case "lock":
			settings = []string{"locked=true"}
		case "unlock":
			settings = []string{"locked=false"}
		case "activate":
			settings = []string{"status=active"}
		case "deactivate":
			settings = []string{"status=inactive"}
		default:
			current := map[string]string{}
			for _, kv := range admin.UserSettingValues(u) {
				current[kv.Key] = kv.Value
			}
			for _, k := range userFormKeys {
				if nv, ok := r.PostForm[k]; ok && strings.TrimSpace(nv[0]) != current[k] {
					settings = append(settings, k+"="+strings.TrimSpace(nv[0]))
				}
			}
		}
		if len(settings) == 0 {
			done(w, r, tenantURL(slug, "/users/"+url.PathEscape(u.Login)), "Nothing changed.")
			return
		}
		updated, changes, err := d.Admin.SetUser(r.Context(), actor(r), slug, u.Login, settings)
		if p := problems(err); p != nil {
			page := newAdminPage(r, "")
			page.Notice, page.Problems = "", p
			d.renderUser(w, r, page)
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, "/users/"+url.PathEscape(updated.Login)), "Saved: "+strings.Join(changes, "; "))
	})
}

// handleAdminUsersConvert converts the accounts checked in the list (or
// one account from its page) to SSO accounts.
func handleAdminUsersConvert(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		logins := r.PostForm["login"]
		results, err := d.Admin.ConvertToSSO(r.Context(), actor(r), slug, logins, admin.ConvertOptions{Domain: r.PostFormValue("domain")})
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		var names []string
		for _, c := range results {
			names = append(names, c.Login+" → "+c.NewLogin)
		}
		done(w, r, tenantURL(slug, "/users"), fmt.Sprintf("Converted %d account(s) to SSO: %s", len(results), strings.Join(names, ", ")))
	})
}

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

// --- Merge ---

type mergeView struct {
	adminPage
	Keep, Remove string
	Plan         *admin.MergePlan
}

// handleAdminMerge shows the merge form and, with keep and remove given,
// the preview of the merge with a button to confirm it.
func handleAdminMerge(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := d.newTenantPage(r, "Merge accounts")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		v := mergeView{adminPage: page, Keep: r.URL.Query().Get("keep"), Remove: r.URL.Query().Get("remove")}
		if v.Keep != "" && v.Remove != "" {
			plan, err := d.Admin.PreviewMerge(r.Context(), page.Tenant.Slug, v.Keep, v.Remove)
			if p := problems(err); p != nil {
				v.Problems = p
			} else if err != nil {
				d.Kit.RenderError(w, r, err)
				return
			} else {
				v.Plan = &plan
			}
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_merge", v)
	})
}

// handleAdminMergeSubmit merges after the preview was confirmed.
func handleAdminMergeSubmit(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		plan, err := d.Admin.MergeUsers(r.Context(), actor(r), slug, r.PostFormValue("keep"), r.PostFormValue("remove"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, "/users/"+url.PathEscape(plan.Keep.Login)),
			fmt.Sprintf("Merged %s into %s: %d link(s), %d session(s) and %d audit event(s) moved; %s deleted.",
				plan.Remove.Login, plan.Keep.Login, len(plan.Links), plan.Sessions, plan.AuditEvents, plan.Remove.Login))
	})
}

// --- CSV import ---

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

// --- SAML tracer ---

type tracesView struct {
	adminPage
	Traces []lanyard.LoginTrace
	Reason string
	Keep   int
	Days   int
}

// handleAdminTraces lists a tenant's refused SSO logins.
func handleAdminTraces(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, err := d.newTenantPage(r, "Refused logins")
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		reason := r.URL.Query().Get("reason")
		traces, err := d.Admin.LoginTraces(r.Context(), page.Tenant.Slug, reason, 200, 0)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_traces", tracesView{adminPage: page, Traces: traces, Reason: reason,
			Keep: admin.TraceKeepPerTenant, Days: int(admin.TraceRetention / (24 * time.Hour))})
	})
}

type traceView struct {
	adminPage
	Trace lanyard.LoginTrace
}

// handleAdminTrace shows one refused login (or SSO test report).
func handleAdminTrace(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := newAdminPage(r, "")
		id, err := params.ParseID(r.PathValue("id"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		tr, err := d.Admin.LoginTrace(r.Context(), r.PathValue("tenant"), id)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page.Tenant, _ = d.Admin.Tenant(r.Context(), r.PathValue("tenant"))
		page.Title = fmt.Sprintf("Login trace %d", tr.ID)
		d.Kit.Render(w, r, http.StatusOK, "admin_trace", traceView{adminPage: page, Trace: tr})
	})
}

// --- Audit log ---

type auditView struct {
	adminPage
	Events  []lanyard.AuditEvent
	Query   url.Values
	Tenants []lanyard.Tenant
	NextID  int64
}

// handleAdminAudit lists audit events with filters.
func handleAdminAudit(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := newAdminPage(r, "Audit log")
		q := r.URL.Query()
		before, _ := params.QueryInt(r, "before")
		evs, err := d.Admin.AuditLog(r.Context(), admin.AuditQuery{Tenant: q.Get("tenant"), User: q.Get("user"), Filter: lanyard.AuditFilter{
			Action: q.Get("action"), Outcome: lanyard.Outcome(q.Get("outcome")), Reason: q.Get("reason"), Limit: 100, BeforeID: before}})
		v := auditView{adminPage: page, Events: evs, Query: q}
		if p := problems(err); p != nil {
			v.Problems = p
		} else if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		if len(evs) == 100 {
			v.NextID = evs[len(evs)-1].ID
		}
		if v.Tenants, err = d.Admin.Tenants(r.Context()); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.Kit.Render(w, r, http.StatusOK, "admin_audit", v)
	})
}

// --- API tokens ---

type tokensView struct {
	adminPage
	Tokens []lanyard.APIToken
	Secret string // a token just created, shown once
	Now    time.Time
}

// handleAdminTokens lists the API tokens with the form to create one.
func handleAdminTokens(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderTokens(w, r, newAdminPage(r, "API tokens"), "")
	})
}

func (d *Deps) renderTokens(w http.ResponseWriter, r *http.Request, page adminPage, secret string) {
	toks, err := d.Admin.APITokens(r.Context())
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	d.Kit.Render(w, r, http.StatusOK, "admin_tokens", tokensView{adminPage: page, Tokens: toks, Secret: secret, Now: d.Kit.Now()})
}

// handleAdminTokenCreate creates a token and shows its secret once (no
// redirect: the secret must not go into a URL).
func handleAdminTokenCreate(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page := newAdminPage(r, "API tokens")
		days, _ := queryIntValue(r.PostFormValue("expires_days"))
		scopes := r.PostForm["scopes"]
		tok, secret, err := d.Admin.CreateAPIToken(r.Context(), actor(r), r.PostFormValue("name"), scopes, time.Duration(days)*24*time.Hour)
		if p := problems(err); p != nil {
			page.Problems = p
			d.renderTokens(w, r, page, "")
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page.Notice = "Created API token " + tok.Name + ". Copy it now: it is shown only once."
		d.renderTokens(w, r, page, secret)
	})
}

// handleAdminTokenRevoke revokes a token.
func handleAdminTokenRevoke(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		tok, err := d.Admin.RevokeAPIToken(r.Context(), actor(r), r.PostFormValue("token"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, "/admin/tokens", "Revoked API token "+tok.Name+".")
	})
}

// queryIntValue reads a non-negative integer, 0 when empty.
func queryIntValue(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	var n int
	_, err := fmt.Sscan(s, &n)
	if n < 0 {
		n = 0
	}
	return n, err
}
