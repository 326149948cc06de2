package admin

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// Well-known NameID formats (SAML Core 8.3), by short name.
var nameIDFormats = map[string]string{
	"unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
	"email":       "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
	"persistent":  "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
	"transient":   "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
}

// groupRolesPrefix starts the dynamic keys group_roles.<GROUP>.
const groupRolesPrefix = "group_roles."

// tenantSettings lists what "lanyard tenant set" can change.
var tenantSettings = &settingTable[lanyard.Tenant]{
	example: "jit=true",
	aliases: map[string]string{"sso": "enabled"},
	fields: []setting[lanyard.Tenant]{
		stringSetting("display_name", "text", func(t *lanyard.Tenant) *string { return &t.DisplayName }),
		{
			key:   "email_domains",
			usage: "comma-separated domains (replaces the list)",
			get:   func(t *lanyard.Tenant) string { return strings.Join(t.EmailDomains, ",") },
			set: func(t *lanyard.Tenant, s string) error {
				t.EmailDomains = lanyard.NormalizeDomains(splitList(s))
				return nil
			},
		},
		boolSetting("enabled", func(t *lanyard.Tenant) *bool { return &t.SSO.Enabled }),
		boolSetting("jit", func(t *lanyard.Tenant) *bool { return &t.SSO.JIT }),
		boolSetting("idp_initiated", func(t *lanyard.Tenant) *bool { return &t.SSO.IdPInitiated }),
		boolSetting("link_by_email", func(t *lanyard.Tenant) *bool { return &t.SSO.LinkByEmail }),
		{
			key:   "account_owner",
			usage: "local|idp|ldap|scim, or empty: the source that alone creates and updates the tenant's accounts",
			get:   func(t *lanyard.Tenant) string { return string(t.SSO.AccountOwner) },
			set: func(t *lanyard.Tenant, s string) error {
				src := lanyard.UserSource(strings.ToLower(strings.TrimSpace(s)))
				if src != "" && !slices.Contains(lanyard.WriteSources, src) {
					return errors.New("use local, idp, ldap or scim, or empty for none")
				}
				t.SSO.AccountOwner = src
				return nil
			},
		},
		{
			key:   "scim_delete",
			usage: "deactivate|delete: what a SCIM DELETE of a user does (default deactivate)",
			get: func(t *lanyard.Tenant) string {
				if t.SSO.SCIMDelete == "" {
					return lanyard.SCIMDeleteDeactivates
				}
				return t.SSO.SCIMDelete
			},
			set: func(t *lanyard.Tenant, s string) error {
				switch v := strings.ToLower(strings.TrimSpace(s)); v {
				case lanyard.SCIMDeleteDeactivates, lanyard.SCIMDeleteDeletes:
					t.SSO.SCIMDelete = v
					return nil
				}
				return errors.New("use deactivate or delete")
			},
		},
		{
			key:   "link_idps",
			usage: "comma-separated BY@IDP: BY is login or email, IDP an entity ID or * (replaces the list; empty: only the IdP an account came from links to it)",
			get: func(t *lanyard.Tenant) string {
				var out []string
				for _, r := range t.SSO.LinkIdPs {
					out = append(out, r.By+"@"+r.IdP)
				}
				return strings.Join(out, ",")
			},
			set: func(t *lanyard.Tenant, s string) error {
				var rules []lanyard.IdPLinkRule
				for _, item := range splitList(s) {
					by, idp, ok := strings.Cut(item, "@")
					by = strings.ToLower(strings.TrimSpace(by))
					idp = strings.TrimSpace(idp)
					if !ok || idp == "" || (by != lanyard.LinkByLogin && by != lanyard.LinkByEmailAttr) {
						return fmt.Errorf("%q: use login@ENTITY-ID, email@ENTITY-ID or login@* (the IdP's entity ID, or * for every IdP)", item)
					}
					if lanyard.HasControl(idp) {
						return fmt.Errorf("%q: the entity ID holds control characters", item)
					}
					rules = append(rules, lanyard.IdPLinkRule{IdP: idp, By: by})
				}
				t.SSO.LinkIdPs = rules
				return nil
			},
		},
		optionalDurationSetting("clock_skew", lanyard.DefaultClockSkew, func(t *lanyard.Tenant) **lanyard.Duration { return &t.SSO.ClockSkew }),
		durationSetting("message_lifetime", func(t *lanyard.Tenant) *lanyard.Duration { return &t.SSO.MessageLifetime }),
		durationSetting("session_idle", func(t *lanyard.Tenant) *lanyard.Duration { return &t.SSO.SessionIdle }),
		durationSetting("session_absolute", func(t *lanyard.Tenant) *lanyard.Duration { return &t.SSO.SessionAbsolute }),
		durationSetting("refresh_interval", func(t *lanyard.Tenant) *lanyard.Duration { return &t.SSO.RefreshInterval }),
		{
			key:   "entity_id_scheme",
			usage: "default|explicit|subdomain",
			get: func(t *lanyard.Tenant) string {
				if t.SSO.EntityIDScheme == lanyard.EntityIDDefault {
					return "default"
				}
				return string(t.SSO.EntityIDScheme)
			},
			set: func(t *lanyard.Tenant, s string) error {
				switch s = strings.ToLower(s); s {
				case "default", "":
					t.SSO.EntityIDScheme = lanyard.EntityIDDefault
				case string(lanyard.EntityIDExplicit), string(lanyard.EntityIDSubdomain):
					t.SSO.EntityIDScheme = lanyard.EntityIDScheme(s)
				default:
					return errors.New("use default, explicit or subdomain")
				}
				return nil
			},
		},
		stringSetting("entity_id", "absolute URI (with entity_id_scheme=explicit)", func(t *lanyard.Tenant) *string { return &t.SSO.EntityID }),
		{
			key:   "entity_subdomain",
			usage: "DNS label (with entity_id_scheme=subdomain)",
			get:   func(t *lanyard.Tenant) string { return t.SSO.EntitySubdomain },
			set: func(t *lanyard.Tenant, s string) error {
				t.SSO.EntitySubdomain = strings.ToLower(s)
				return nil
			},
		},
		optionalBoolSetting("sign_authn_requests", true, func(t *lanyard.Tenant) **bool { return &t.SSO.SignAuthnRequests }),
		boolSetting("force_authn", func(t *lanyard.Tenant) *bool { return &t.SSO.ForceAuthn }),
		boolSetting("artifact_binding", func(t *lanyard.Tenant) *bool { return &t.SSO.ArtifactBinding }),
		{
			key:   "name_id_format",
			usage: "email|persistent|transient|unspecified|urn:...|empty for none",
			get:   func(t *lanyard.Tenant) string { return t.SSO.NameIDFormat },
			set: func(t *lanyard.Tenant, s string) error {
				if full, ok := nameIDFormats[strings.ToLower(s)]; ok {
					s = full
				}
				if s != "" && !strings.HasPrefix(s, "urn:") {
					return errors.New("use email, persistent, transient, unspecified, a urn:... format, or nothing")
				}
				t.SSO.NameIDFormat = s
				return nil
			},
		},
		{
			key:   "authn_context",
			usage: "comma-separated AuthnContextClassRef URIs",
			get:   func(t *lanyard.Tenant) string { return strings.Join(t.SSO.AuthnContext, ",") },
			set: func(t *lanyard.Tenant, s string) error {
				list := splitList(s)
				for _, c := range list {
					if !strings.Contains(c, ":") {
						return fmt.Errorf("%q is not a URI (e.g. urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport)", c)
					}
				}
				t.SSO.AuthnContext = list
				return nil
			},
		},
		{
			key:   "ignore_on_update",
			usage: "comma-separated of " + strings.Join(lanyard.UpdatableFields, ","),
			get:   func(t *lanyard.Tenant) string { return strings.Join(t.SSO.IgnoreOnUpdate, ",") },
			set: func(t *lanyard.Tenant, s string) error {
				list := splitList(strings.ToLower(s))
				for _, f := range list {
					if !slices.Contains(lanyard.UpdatableFields, f) {
						return fmt.Errorf("%q is not an updatable field: use %s", f, strings.Join(lanyard.UpdatableFields, ", "))
					}
				}
				t.SSO.IgnoreOnUpdate = list
				return nil
			},
		},
		{
			key:   "default_landing",
			usage: "path on this site, e.g. /",
			get:   func(t *lanyard.Tenant) string { return t.SSO.DefaultLanding },
			set: func(t *lanyard.Tenant, s string) error {
				if s != "" && !lanyard.IsLocalPath(s) {
					return errors.New("must be a path on this site, starting with a single /")
				}
				t.SSO.DefaultLanding = s
				return nil
			},
		},
		{
			key:   "new_user.roles",
			usage: "roles separated by ,",
			get:   func(t *lanyard.Tenant) string { return strings.Join(t.SSO.NewUser.Roles, ",") },
			set: func(t *lanyard.Tenant, s string) error {
				roles := lanyard.ParseRoles(s)
				if err := checkRoles(roles); err != nil {
					return err
				}
				if err := lanyard.CheckDefaultRoles(roles); err != nil {
					return errors.New(lanyard.ErrorMessage(err))
				}
				t.SSO.NewUser.Roles = roles
				return nil
			},
		},
		optionalBoolSetting("new_user.web_access", true, func(t *lanyard.Tenant) **bool { return &t.SSO.NewUser.WebAccess }),
		boolSetting("new_user.auto_login", func(t *lanyard.Tenant) *bool { return &t.SSO.NewUser.AutoLogin }),
		boolSetting("new_user.inactive", func(t *lanyard.Tenant) *bool { return &t.SSO.NewUser.Inactive }),
		boolSetting("new_user.login_by_upn", func(t *lanyard.Tenant) *bool { return &t.SSO.NewUser.LoginByUPN }),
		listSetting("attr.login_id", func(t *lanyard.Tenant) *[]string { return &t.SSO.Attributes.LoginID }),
		listSetting("attr.firstname", func(t *lanyard.Tenant) *[]string { return &t.SSO.Attributes.FirstName }),
		listSetting("attr.lastname", func(t *lanyard.Tenant) *[]string { return &t.SSO.Attributes.LastName }),
		listSetting("attr.email", func(t *lanyard.Tenant) *[]string { return &t.SSO.Attributes.Email }),
		listSetting("attr.access", func(t *lanyard.Tenant) *[]string { return &t.SSO.Attributes.Access }),
		listSetting("attr.groups", func(t *lanyard.Tenant) *[]string { return &t.SSO.Attributes.Groups }),
		keyRolloverSetting,
	},
	dynamicUsage: groupRolesPrefix + "<GROUP>",
	dynamic: func(key string) (setting[lanyard.Tenant], bool) {
		group, ok := strings.CutPrefix(key, groupRolesPrefix)
		if !ok || strings.TrimSpace(group) == "" {
			return setting[lanyard.Tenant]{}, false
		}
		return setting[lanyard.Tenant]{
			key:   key,
			usage: "roles separated by , (empty removes the mapping)",
			get:   func(t *lanyard.Tenant) string { return strings.Join(t.SSO.GroupRoles[group], ",") },
			set: func(t *lanyard.Tenant, s string) error {
				roles := lanyard.ParseRoles(s)
				if err := checkRoles(roles); err != nil {
					return err
				}
				// A group mapping is a grant by the IdP: of the reserved
				// roles, only the tenant administrator's.
				if err := lanyard.CheckIdPRoles(roles); err != nil {
					return errors.New(lanyard.ErrorMessage(err))
				}
				if len(roles) == 0 {
					delete(t.SSO.GroupRoles, group)
					return nil
				}
				if t.SSO.GroupRoles == nil {
					t.SSO.GroupRoles = map[string][]string{}
				}
				t.SSO.GroupRoles[group] = roles
				return nil
			},
		}, true
	},
}

// TenantSettingKeys lists the keys SetTenant accepts, with the accepted
// values, for help texts.
func TenantSettingKeys() []SettingKey { return tenantSettings.keys() }

// TenantSettingValues returns every setting of t as key and value, in the
// form SetTenant accepts, group mappings last.
func TenantSettingValues(t lanyard.Tenant) []Setting {
	var groups []string
	for _, g := range sortedKeys(t.SSO.GroupRoles) {
		groups = append(groups, groupRolesPrefix+g)
	}
	return tenantSettings.values(&t, groups)
}

// cloneTenant deep-copies the slices and maps of t, so settings applied to
// the copy leave t alone.
func cloneTenant(t lanyard.Tenant) lanyard.Tenant {
	c := t
	c.EmailDomains = slices.Clone(t.EmailDomains)
	s := &c.SSO
	s.AuthnContext = slices.Clone(t.SSO.AuthnContext)
	s.IgnoreOnUpdate = slices.Clone(t.SSO.IgnoreOnUpdate)
	s.NewUser.Roles = slices.Clone(t.SSO.NewUser.Roles)
	if p := t.SSO.NewUser.WebAccess; p != nil {
		b := *p
		s.NewUser.WebAccess = &b
	}
	if p := t.SSO.SignAuthnRequests; p != nil {
		b := *p
		s.SignAuthnRequests = &b
	}
	a := &s.Attributes
	a.LoginID, a.FirstName, a.LastName = slices.Clone(a.LoginID), slices.Clone(a.FirstName), slices.Clone(a.LastName)
	a.Email, a.Access, a.Groups = slices.Clone(a.Email), slices.Clone(a.Access), slices.Clone(a.Groups)
	if t.SSO.GroupRoles != nil {
		s.GroupRoles = make(map[string][]string, len(t.SSO.GroupRoles))
		for g, roles := range t.SSO.GroupRoles {
			s.GroupRoles[g] = slices.Clone(roles)
		}
	}
	return c
}
