package admin

import "strings"

// settingLabel is how the SSO settings form names a tenant setting: a label
// in words and what it does. The form shows the raw key in small print, for
// the CLI and the API, which take the same keys.
type settingLabel struct {
	Label, Help string
}

// groupRolesKey is the family of group mapping keys (group_roles.<GROUP>).
const groupRolesKey = "group_roles.<GROUP>"

// settingLabels labels every key of admin.TenantSettingKeys; a test checks
// that none is missing.
var settingLabels = map[string]settingLabel{
	"display_name":          {"Display name", "Shown to users on the login and refusal pages."},
	"email_domains":         {"Email domains", "Users whose email ends in one of them are sent to this tenant when they type it on the login page."},
	"enabled":               {"Single sign-on", "Off: the tenant's SAML endpoints refuse every login."},
	"jit":                   {"Create accounts at first login (JIT)", "On: a user the IdP vouches for who has no account gets one at their first login; off: an administrator creates accounts first."},
	"idp_initiated":         {"Accept logins started at the IdP", "IdP-initiated SSO, without a request from Lanyard (less protected against replays)."},
	"link_by_email":         {"Link accounts by email", "A first SSO login takes over an existing account with the same email."},
	"account_owner":         {"Source that owns accounts", "local, idp (SAML just-in-time), ldap or scim: only it creates and updates accounts; empty: each account belongs to the source that made it."},
	"scim_delete":           {"SCIM delete", "What an identity provider's SCIM DELETE of a user does: deactivate (keep the account, inactive) or delete."},
	"link_idps":             {"IdPs that may link to accounts", "Which IdP may sign in to an account it did not create, and by which field."},
	"clock_skew":            {"Allowed clock difference", "How far the IdP's clock may be from Lanyard's."},
	"message_lifetime":      {"SAML message lifetime", "How long after it was issued a response is still accepted."},
	"session_idle":          {"Session idle timeout", "A session ends after this long without activity."},
	"session_absolute":      {"Maximum session length", "A session ends this long after the login, active or not."},
	"refresh_interval":      {"Session re-check interval", "How often an open page re-checks the session with the IdP."},
	"entity_id_scheme":      {"SP entity ID scheme", "How Lanyard's entity ID for this tenant is formed."},
	"entity_id":             {"SP entity ID", "Lanyard's entity ID for this tenant, when the scheme is explicit."},
	"entity_subdomain":      {"SP entity ID subdomain", "The subdomain of Lanyard's entity ID, when the scheme is subdomain."},
	"sign_authn_requests":   {"Sign login requests", "Sign the AuthnRequests sent to the IdP."},
	"force_authn":           {"Always ask for the password at the IdP", "ForceAuthn: the IdP authenticates the user again even when they have a session there."},
	"artifact_binding":      {"Receive responses by artifact", "The IdP sends a reference and Lanyard fetches the response over a back channel."},
	"name_id_format":        {"Requested NameID format", "The kind of user identifier asked of the IdP."},
	"authn_context":         {"Requested authentication context", "AuthnContextClassRef values asked of the IdP (e.g. multi-factor)."},
	"ignore_on_update":      {"Fields a login leaves alone", "Account fields the IdP's values do not overwrite at later logins."},
	"default_landing":       {"Page after login", "Where a user lands when the login did not start from a page."},
	"new_user.roles":        {"Roles of new accounts", "Given to accounts created at their first login."},
	"new_user.web_access":   {"New accounts may use the web", "Web browser access of accounts created at their first login."},
	"new_user.auto_login":   {"New accounts sign in automatically", "The \"log in automatically\" preference of accounts created at their first login."},
	"new_user.inactive":     {"New accounts start inactive", "An administrator activates them before they can sign in."},
	"new_user.login_by_upn": {"Accounts named by UPN", "Accounts are found and created under the user principal name (user@domain)."},
	"attr.login_id":         {"Login name attribute", "The IdP attributes the login name is read from, first found wins; empty: the NameID."},
	"attr.firstname":        {"First name attribute", "The IdP attributes the first name is read from."},
	"attr.lastname":         {"Last name attribute", "The IdP attributes the last name is read from."},
	"attr.email":            {"Email attribute", "The IdP attributes the email is read from."},
	"attr.access":           {"Access attribute", "An IdP attribute that grants or denies access to Lanyard's applications."},
	"attr.groups":           {"Groups attribute", "The IdP attributes the user's groups are read from, for the group mappings below."},
	groupRolesKey:           {"Roles of an IdP group", "Roles given to members of the IdP group; empty removes the mapping."},
}

// labelOf is the label of a setting key; a group mapping is labelled with
// its group.
func labelOf(key string) settingLabel {
	if group, ok := strings.CutPrefix(key, "group_roles."); ok && key != groupRolesKey {
		l := settingLabels[groupRolesKey]
		return settingLabel{Label: "Roles of group " + group, Help: l.Help}
	}
	return settingLabels[key]
}
