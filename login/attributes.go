package login

import (
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// Attribute is one SAML attribute of a validated assertion.
type Attribute struct {
	Name         string
	NameFormat   string
	FriendlyName string
	Values       []string
}

// Assertion is what the login flow needs from a validated SAML assertion.
// The web layer fills it from package saml's result, so this package stays
// free of protocol code.
type Assertion struct {
	IdPEntityID  string
	NameID       string
	NameIDFormat string
	SessionIndex string
	Attributes   []Attribute
}

// DefaultAttributeNames are the names tried, in order, for each field when a
// tenant's mapping leaves it empty: friendly names, the urn:oid names of
// eduPerson/inetOrgPerson, and the claim URIs of Entra ID and ADFS.
var DefaultAttributeNames = lanyard.AttributeMap{
	LoginID: []string{
		"login_id", "login", "username", "uid", "upn", "userPrincipalName",
		"urn:oid:0.9.2342.19200300.100.1.1",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",
		"eduPersonPrincipalName", "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
	},
	FirstName: []string{
		"firstname", "first_name", "givenName", "given_name",
		"urn:oid:2.5.4.42",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
	},
	LastName: []string{
		"lastname", "last_name", "sn", "surname", "family_name",
		"urn:oid:2.5.4.4",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
	},
	Email: []string{
		"email", "mail", "emailaddress", "emailAddress",
		"urn:oid:0.9.2342.19200300.100.1.3",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"http://schemas.microsoft.com/identity/claims/emailaddress",
	},
	Access: []string{"access"},
	Groups: []string{
		"groups", "group", "memberOf", "isMemberOf", "roles", "role",
		"urn:oid:1.3.6.1.4.1.5923.1.5.1.1", "urn:oid:1.2.840.113556.1.2.102",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/groups",
		"http://schemas.microsoft.com/ws/2008/06/identity/claims/role",
	},
}

// Profile is what the attribute mapping made of an assertion.
type Profile struct {
	Login     string
	FirstName string
	LastName  string
	Email     string
	// AccessMapped says whether an access attribute was present; Access is
	// then its verdict.
	AccessMapped bool
	Access       bool
	Groups       []string
	// LoginFromNameID says the login name fell back to the NameID.
	LoginFromNameID bool
}

// attributeIndex finds attributes by any of their names (Name or
// FriendlyName), case-insensitively, whatever their NameFormat.
type attributeIndex map[string]*Attribute

func indexAttributes(attrs []Attribute) attributeIndex {
	idx := make(attributeIndex, 2*len(attrs))
	for i := range attrs {
		a := &attrs[i]
		for _, n := range []string{a.Name, a.FriendlyName} {
			if n == "" {
				continue
			}
			k := strings.ToLower(n)
			if prev, ok := idx[k]; ok && prev != a {
				// Two attributes answer to one name: merge their values
				// into the first so no group is lost.
				prev.Values = append(prev.Values, a.Values...)
				continue
			}
			idx[k] = a
		}
	}
	return idx
}

// lookup returns the values of the first of names that is present.
func (idx attributeIndex) lookup(names []string) ([]string, bool) {
	for _, n := range names {
		if a, ok := idx[strings.ToLower(n)]; ok {
			return a.Values, true
		}
	}
	return nil, false
}

func (idx attributeIndex) first(names []string) string {
	vs, _ := idx.lookup(names)
	for _, v := range vs {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// upnAttributeNames carry a user principal name (user@domain).
var upnAttributeNames = []string{
	"upn", "userPrincipalName",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
	"eduPersonPrincipalName", "urn:oid:1.3.6.1.4.1.5923.1.1.1.6",
}

// UPNOf is the user principal name (user@domain) of an assertion: a UPN
// attribute, else a NameID, login or email in that form; "" when none.
func UPNOf(a Assertion, p Profile) string {
	idx := indexAttributes(a.Attributes)
	for _, v := range []string{idx.first(upnAttributeNames), strings.TrimSpace(a.NameID), p.Login, p.Email} {
		if at := strings.IndexByte(v, '@'); at > 0 && at < len(v)-1 && !strings.ContainsAny(v, " \t") {
			return v
		}
	}
	return ""
}

// MapAttributes applies a tenant's attribute mapping (falling back to
// DefaultAttributeNames per field) to an assertion.
func MapAttributes(m lanyard.AttributeMap, a Assertion) Profile {
	pick := func(configured, defaults []string) []string {
		if len(configured) > 0 {
			return configured
		}
		return defaults
	}
	idx := indexAttributes(a.Attributes)
	p := Profile{
		Login:     idx.first(pick(m.LoginID, DefaultAttributeNames.LoginID)),
		FirstName: idx.first(pick(m.FirstName, DefaultAttributeNames.FirstName)),
		LastName:  idx.first(pick(m.LastName, DefaultAttributeNames.LastName)),
		Email:     idx.first(pick(m.Email, DefaultAttributeNames.Email)),
	}
	if p.Login == "" {
		p.Login = strings.TrimSpace(a.NameID)
		p.LoginFromNameID = true
	}
	if vs, ok := idx.lookup(pick(m.Access, DefaultAttributeNames.Access)); ok {
		p.AccessMapped = true
		p.Access = accessGranted(vs)
	}
	if vs, ok := idx.lookup(pick(m.Groups, DefaultAttributeNames.Groups)); ok {
		seen := map[string]bool{}
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" && !seen[v] {
				seen[v] = true
				p.Groups = append(p.Groups, v)
			}
		}
	}
	return p
}

// accessGranted reads an access attribute: any value that says yes grants.
func accessGranted(values []string) bool {
	for _, v := range values {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "yes", "1", "allow", "allowed", "granted", "enabled", "y":
			return true
		}
	}
	return false
}

// RolesForGroups maps IdP groups to Lanyard roles with a tenant's table.
func RolesForGroups(groupRoles map[string][]string, groups []string) []string {
	var roles []string
	for _, g := range groups {
		roles = append(roles, groupRoles[g]...)
	}
	// Whatever the stored mapping says, an IdP grants no more than the
	// tenant administrator role of the reserved namespace.
	return lanyard.IdPGrantable(roles)
}
