package slapdtest

import "fmt"

// Person is an account of the fixture directory.
type Person struct {
	UID, Given, Surname string
	UAC                 int // userAccountControl; 514 is disabled (bit 2)
}

// DN of a person of the fixture.
func DN(uid string) string { return fmt.Sprintf("uid=%s,ou=people,%s", uid, BaseDN) }

// GroupDN of a group of the fixture.
func GroupDN(cn string) string { return fmt.Sprintf("cn=%s,ou=groups,%s", cn, BaseDN) }

// PersonLDIF is the entry of p: an inetOrgPerson with the AD attributes
// (sAMAccountName, userPrincipalName uid@example.org, userAccountControl).
func PersonLDIF(p Person) string {
	uac := p.UAC
	if uac == 0 {
		uac = 512
	}
	return fmt.Sprintf(`dn: %s
objectClass: inetOrgPerson
objectClass: lanyardTestADUser
uid: %s
cn: %s %s
givenName: %s
sn: %s
mail: %s@example.org
sAMAccountName: %s
userPrincipalName: %s@example.org
userAccountControl: %d

`, DN(p.UID), p.UID, p.Given, p.Surname, p.Given, p.Surname, p.UID, p.UID, p.UID, uac)
}

// GroupLDIF is a groupOfNames with members (DNs).
func GroupLDIF(cn string, members ...string) string {
	s := fmt.Sprintf("dn: %s\nobjectClass: groupOfNames\ncn: %s\n", GroupDN(cn), cn)
	for _, m := range members {
		s += "member: " + m + "\n"
	}
	return s + "\n"
}

// Fixture is the directory the tests share: alice (group admins), bob
// (staff), dave (engineers, a group nested in staff), and carol, whose
// account is disabled (userAccountControl 514).
func Fixture() string {
	s := ""
	for _, p := range []Person{
		{UID: "alice", Given: "Alice", Surname: "Archer"},
		{UID: "bob", Given: "Bob", Surname: "Baker"},
		{UID: "carol", Given: "Carol", Surname: "Cooper", UAC: 514},
		{UID: "dave", Given: "Dave", Surname: "Dyer"},
	} {
		s += PersonLDIF(p)
	}
	s += GroupLDIF("admins", DN("alice"))
	s += GroupLDIF("engineers", DN("dave"))
	s += GroupLDIF("staff", DN("bob"), GroupDN("engineers"))
	return s
}
