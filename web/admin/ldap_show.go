package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/ldapsync"
	"github.com/lanyard-sso/lanyard/web/internal/params"
)

// DirectoryAdmin manages tenants' LDAP directories and runs their syncs
// (ldapsync.Service).
type DirectoryAdmin interface {
	Status(ctx context.Context, slug string, runs int) (ldapsync.Status, error)
	Set(ctx context.Context, actor, slug string, settings []string, readFile func(string) ([]byte, error)) ([]string, error)
	Test(ctx context.Context, slug string) (ldapsync.TestResult, error)
	Sync(ctx context.Context, slug string, opt ldapsync.Options) (lanyard.LDAPSyncRun, error)
	Run(ctx context.Context, slug string, id int64) (lanyard.LDAPSyncRun, error)
}

var _ DirectoryAdmin = (*ldapsync.Service)(nil)

// ldapField is an input of the connection form: the setting it sets.
type ldapField struct {
	Key, Label, Help string
	Kind             string   // text, password, textarea, bool, select
	Options          []string // select
	Value            string
	Checked          bool
}

// ldapFormFields are the form's inputs, in order; each is a key of
// ldapsync.SettingKeys.
var ldapFormFields = []ldapField{
	{Key: "enabled", Label: "Enabled (scheduled syncs; the precedence rules apply to SSO logins)", Kind: "bool"},
	{Key: "urls", Label: "Directory URLs, tried in order (ldap://host:389, ldaps://host:636)", Kind: "text"},
	{Key: "start_tls", Label: "StartTLS on ldap:// URLs", Kind: "bool"},
	{Key: "ca_cert_pem", Label: "CA certificate (PEM) of the directory; empty: the system's", Kind: "textarea"},
	{Key: "pinned_sha256", Label: "Or a pinned certificate: its SHA-256 (hex)", Kind: "text"},
	{Key: "bind_dn", Label: "Bind DN", Kind: "text"},
	{Key: "bind_password", Label: "Bind password (stored sealed; leave empty to keep the stored one)", Kind: "password"},
	{Key: "base_dn", Label: "Base DN of the users", Kind: "text"},
	{Key: "user_filter", Label: "User filter", Kind: "text"},
	{Key: "login_attr", Label: "Login from", Kind: "select", Options: []string{"uid", "sAMAccountName", "userPrincipalName"}},
	{Key: "email_attr", Label: "Email attribute", Kind: "text"},
	{Key: "firstname_attr", Label: "First name attribute", Kind: "text"},
	{Key: "lastname_attr", Label: "Last name attribute", Kind: "text"},
	{Key: "group_base_dn", Label: "Base DN of the groups", Kind: "text"},
	{Key: "group_filter", Label: "Group filter", Kind: "text"},
	{Key: "groups", Label: "Group membership from", Kind: "select", Options: []string{lanyard.GroupsMemberOf, lanyard.GroupsMember, lanyard.GroupsUniqueMember, lanyard.GroupsInChain}},
	{Key: "disabled_attr", Label: "Disabled when this attribute… (AD's userAccountControl bit 2 is always read)", Kind: "text"},
	{Key: "disabled_value", Label: "…has this value", Kind: "text"},
	{Key: "incremental", Label: "Incremental syncs by", Kind: "select", Options: []string{lanyard.IncrementalModifyTimestamp, lanyard.IncrementalUSNChanged, lanyard.IncrementalOff}},
	{Key: "full_interval", Label: "Full sync every", Kind: "text"},
	{Key: "incremental_interval", Label: "Incremental sync every", Kind: "text"},
	{Key: "max_deactivate_percent", Label: "Safety stop: a sync deactivating more than this % of the directory's accounts waits for confirmation", Kind: "text"},
	{Key: "match_by", Label: "SSO logins link to synchronised accounts by", Kind: "select", Options: []string{lanyard.MatchByLogin, lanyard.MatchByEmail}},
	{Key: "scope_domains", Label: "Domains in the directory's scope (empty: every SSO login)", Kind: "text"},
	{Key: "allow_jit", Label: "Let SAML create accounts of people in scope who are not synchronised yet", Kind: "bool"},
	{Key: "saml_roles", Label: "Let SSO logins set roles of directory accounts from IdP groups", Kind: "bool"},
}

type ldapView struct {
	adminPage
	Status ldapsync.Status
	Fields []ldapField
	Test   *ldapsync.TestResult
	// TestRoles are Test's roles, joined, by person.
	TestRoles []string
	Run       *lanyard.LDAPSyncRun
}

// handleAdminLDAP shows the tenant's directory: the precedence rules, the
// sync status and history, the connection form.
func handleAdminLDAP(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page := newAdminPage(r, "LDAP directory")
		d.renderLDAP(w, r, page, http.StatusOK, nil, nil)
	})
}

func (d *Deps) renderLDAP(w http.ResponseWriter, r *http.Request, page adminPage, status int, test *ldapsync.TestResult, run *lanyard.LDAPSyncRun) {
	if d.Directories == nil {
		d.Kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindUnavailable, Message: "LDAP synchronisation is not available on this server"})
		return
	}
	st, err := d.Directories.Status(r.Context(), r.PathValue("tenant"), 20)
	if err != nil {
		d.Kit.RenderError(w, r, err)
		return
	}
	page.Tenant = st.Tenant
	values := ldapsync.SettingValues(st.Directory)
	fields := make([]ldapField, len(ldapFormFields))
	for i, f := range ldapFormFields {
		f.Value = values[f.Key]
		f.Checked = f.Value == "true"
		if f.Kind == "password" {
			f.Value = ""
		}
		fields[i] = f
	}
	v := ldapView{adminPage: page, Status: st, Fields: fields, Test: test, Run: run}
	if test != nil {
		for _, roles := range test.Roles {
			v.TestRoles = append(v.TestRoles, strings.Join(roles, ", "))
		}
	}
	d.Kit.Render(w, r, status, "admin_ldap", v)
}

// handleAdminLDAPSave stores the connection form.
func handleAdminLDAPSave(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		slug := r.PathValue("tenant")
		var settings []string
		for _, f := range ldapFormFields {
			switch {
			case f.Kind == "bool":
				settings = append(settings, f.Key+"="+boolText(r.PostFormValue(f.Key) != ""))
			case f.Kind == "password":
				if v := r.PostFormValue(f.Key); v != "" {
					settings = append(settings, f.Key+"="+v)
				}
			default:
				if _, ok := r.PostForm[f.Key]; ok {
					settings = append(settings, f.Key+"="+r.PostFormValue(f.Key))
				}
			}
		}
		changes, err := d.Directories.Set(r.Context(), actor(r), slug, settings, nil)
		if p := problems(err); p != nil {
			page := newAdminPage(r, "LDAP directory")
			page.Problems = p
			d.renderLDAP(w, r, page, http.StatusUnprocessableEntity, nil, nil)
			return
		}
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		done(w, r, tenantURL(slug, "/ldap"), "Directory settings saved: "+strings.Join(changes, "; "))
	})
}

// handleAdminLDAPTest binds, searches and shows five users as mapped.
func handleAdminLDAPTest(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		page := newAdminPage(r, "LDAP directory")
		res, err := d.Directories.Test(r.Context(), r.PathValue("tenant"))
		if err != nil {
			page.Problems = []string{"Test connection failed: " + lanyard.ErrorMessage(err)}
			d.renderLDAP(w, r, page, http.StatusOK, nil, nil)
			return
		}
		page.Notice = "Connected to " + res.URL + " and bound."
		d.renderLDAP(w, r, page, http.StatusOK, &res, nil)
	})
}

// handleAdminLDAPSync runs a sync now: a dry run, a full or incremental
// sync, or the confirmation of a stopped one; the page shows its report.
func handleAdminLDAPSync(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := d.adminForm(w, r); err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		opt := ldapsync.Options{Kind: lanyard.SyncFull, Actor: actor(r)}
		switch r.PostFormValue("mode") {
		case "dry_run":
			opt.DryRun = true
		case "incremental":
			opt.Kind = lanyard.SyncIncremental
		case "confirm":
			opt.Confirm = true
		case "full":
		default:
			d.Kit.RenderError(w, r, &lanyard.Error{Kind: lanyard.KindInvalid, Message: "mode: one of dry_run, full, incremental, confirm"})
			return
		}
		page := newAdminPage(r, "LDAP directory")
		run, err := d.Directories.Sync(context.WithoutCancel(r.Context()), r.PathValue("tenant"), opt)
		if err != nil && run.ID == 0 {
			page.Problems = []string{lanyard.ErrorMessage(err)}
			d.renderLDAP(w, r, page, http.StatusOK, nil, nil)
			return
		}
		if run.Status == lanyard.SyncOK {
			page.Notice = "Sync " + run.Kind + ": " + run.Message
		} else {
			page.Problems = []string{"Sync " + run.Status + ": " + run.Message}
		}
		d.renderLDAP(w, r, page, http.StatusOK, nil, &run)
	})
}

// handleAdminLDAPRun shows one run with its report.
func handleAdminLDAPRun(d *Deps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := params.ParseID(r.PathValue("id"))
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		run, err := d.Directories.Run(r.Context(), r.PathValue("tenant"), id)
		if err != nil {
			d.Kit.RenderError(w, r, err)
			return
		}
		d.renderLDAP(w, r, newAdminPage(r, "LDAP directory"), http.StatusOK, nil, &run)
	})
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
