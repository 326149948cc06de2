package login_test

import (
	"fmt"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
)

// SAMLMay over every combination that matters: no directory, a disabled
// one, an enabled one with and without scope domains (matched by the
// login's or the email's domain, in any case), allow_jit, saml_roles, and
// accounts of each source.
func TestSAMLMay(t *testing.T) {
	dir := func(edit func(*lanyard.LDAPDirectory)) *lanyard.LDAPDirectory {
		d := &lanyard.LDAPDirectory{Enabled: true, URLs: []string{"ldap://x"}, BaseDN: "dc=x"}
		if edit != nil {
			edit(d)
		}
		d.Normalize()
		return d
	}
	scoped := func(d *lanyard.LDAPDirectory) { d.ScopeDomains = []string{"Example.ORG"} }
	ldapUser := &lanyard.User{Source: lanyard.SourceLDAP}
	idpUser := &lanyard.User{Source: lanyard.SourceIdP}
	localUser := &lanyard.User{Source: lanyard.SourceLocal}
	scimUser := &lanyard.User{Source: lanyard.SourceSCIM}
	for _, c := range []struct {
		name         string
		dir          *lanyard.LDAPDirectory
		u            *lanyard.User
		login, email string
		want         string // create, owned fields, roles
	}{
		{"no directory, no account", nil, nil, "a", "a@example.org", "create=true owned=[] roles=true"},
		{"disabled directory", dir(func(d *lanyard.LDAPDirectory) { d.Enabled = false }), nil, "a", "a@example.org", "create=true owned=[] roles=true"},
		{"in scope (no domains: everyone)", dir(nil), nil, "a", "", "create=false owned=[] roles=true"},
		{"in scope by email", dir(scoped), nil, "a", "a@example.org", "create=false owned=[] roles=true"},
		{"in scope by UPN login, other case", dir(scoped), nil, "a@EXAMPLE.org", "", "create=false owned=[] roles=true"},
		{"out of scope", dir(scoped), nil, "a@other.example", "a@other.example", "create=true owned=[] roles=true"},
		{"subdomain is out of scope", dir(scoped), nil, "a@x.example.org", "", "create=true owned=[] roles=true"},
		{"in scope, allow_jit", dir(func(d *lanyard.LDAPDirectory) { scoped(d); d.AllowJIT = true }), nil, "a@example.org", "", "create=true owned=[] roles=true"},
		{"directory account", dir(nil), ldapUser, "a", "", "create=true owned=[login email firstname lastname status] roles=false"},
		{"directory account, saml_roles", dir(func(d *lanyard.LDAPDirectory) { d.SAMLRoles = true }), ldapUser, "a", "", "create=true owned=[login email firstname lastname status] roles=true"},
		{"directory account, directory since removed", nil, ldapUser, "a", "", "create=true owned=[login email firstname lastname status] roles=false"},
		{"IdP account in scope", dir(nil), idpUser, "a", "", "create=true owned=[] roles=true"},
		{"local account in scope", dir(nil), localUser, "a", "", "create=true owned=[] roles=true"},
		{"SCIM account", nil, scimUser, "a", "", "create=true owned=[login email firstname lastname status] roles=true"},
		{"SCIM account, directory in scope", dir(nil), scimUser, "a", "", "create=true owned=[login email firstname lastname status] roles=true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := login.SAMLMay(c.dir, c.u, c.login, c.email)
			got := fmt.Sprintf("create=%v owned=%v roles=%v", r.Create, r.OwnedFields, r.Roles)
			if got != c.want {
				t.Fatalf("got %s, want %s", got, c.want)
			}
			if !r.Create && r.CreateRefusal == "" {
				t.Fatal("a refusal without its reason")
			}
		})
	}
}
