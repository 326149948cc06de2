package ldapsync_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/slapdtest"
	"github.com/lanyard-sso/lanyard/ldapsync"
)

// Every way the directory names people and their groups maps the same
// fixture to the expected accounts: the login from uid, sAMAccountName or
// userPrincipalName; groups from memberOf, member or uniqueMember, nested
// groups followed in each; disabled by userAccountControl or by a
// configured attribute.
func TestMappingModes(t *testing.T) {
	s := slapdtest.Start(t, slapdtest.Options{})
	s.Add(t, slapdtest.Fixture()+fmt.Sprintf(`dn: ou=unique,%[1]s
objectClass: organizationalUnit
ou: unique

dn: cn=auditors,ou=unique,%[1]s
objectClass: groupOfUniqueNames
cn: auditors
uniqueMember: %[2]s

dn: cn=board,ou=unique,%[1]s
objectClass: groupOfUniqueNames
cn: board
uniqueMember: cn=auditors,ou=unique,%[1]s

`, slapdtest.BaseDN, slapdtest.DN("dave")))
	s.Modify(t, fmt.Sprintf("dn: %s\nchangetype: modify\nadd: employeeType\nemployeeType: Left\n\n", slapdtest.DN("bob")))

	for _, c := range []struct {
		name string
		edit func(d *lanyard.LDAPDirectory)
		want string // login:groups:state of each person, sorted by the directory's order
	}{
		{"uid and memberOf", func(*lanyard.LDAPDirectory) {},
			"alice:admins:active bob:staff:active carol::disabled dave:engineers,staff:active"},
		{"sAMAccountName and member", func(d *lanyard.LDAPDirectory) { d.LoginAttr, d.Groups = "sAMAccountName", lanyard.GroupsMember },
			"alice:admins:active bob:staff:active carol::disabled dave:engineers,staff:active"},
		{"userPrincipalName", func(d *lanyard.LDAPDirectory) { d.LoginAttr = "userPrincipalName" },
			"alice@example.org:admins:active bob@example.org:staff:active carol@example.org::disabled dave@example.org:engineers,staff:active"},
		{"uniqueMember, nested", func(d *lanyard.LDAPDirectory) {
			d.Groups, d.GroupBaseDN = lanyard.GroupsUniqueMember, "ou=unique,"+slapdtest.BaseDN
		}, "alice::active bob::active carol::disabled dave:auditors,board:active"},
		{"disabled by an attribute", func(d *lanyard.LDAPDirectory) { d.DisabledAttr, d.DisabledValue = "employeeType", "left" },
			"alice:admins:active bob:staff:disabled carol::disabled dave:engineers,staff:active"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := directory(s)
			c.edit(&d)
			conn, err := ldapsync.Dial(context.Background(), d)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var got []string
			err = conn.People(context.Background(), "", nil, func(p ldapsync.Person) error {
				state := "active"
				if p.Disabled {
					state = "disabled"
				}
				got = append(got, p.Login+":"+strings.Join(p.Groups, ",")+":"+state)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != c.want {
				t.Fatalf("mapped\n  %s\nwant\n  %s", strings.Join(got, " "), c.want)
			}
		})
	}
}
