package lanyard

import (
	"strings"
	"testing"
)

// TestCheckSourceWrite holds the precedence rules: the owner a tenant
// names alone creates; a synchronising source's fields are its own; a
// synchronising source takes over other accounts only as owner.
func TestCheckSourceWrite(t *testing.T) {
	acct := func(s UserSource) *User { return &User{Login: "x", Source: s} }
	for _, c := range []struct {
		name    string
		owner   UserSource
		writer  UserSource
		account *User
		fields  []string
		refused string // part of the refusal, "" when allowed
	}{
		{"no owner: SCIM creates", "", SourceSCIM, nil, nil, ""},
		{"no owner: JIT creates", "", SourceIdP, nil, nil, ""},
		{"owner scim: SCIM creates", SourceSCIM, SourceSCIM, nil, nil, ""},
		{"owner scim: JIT refused", SourceSCIM, SourceIdP, nil, nil, "owned by SCIM provisioning"},
		{"owner scim: admin refused", SourceSCIM, SourceLocal, nil, nil, "account_owner=scim"},
		{"owner ldap: SCIM refused", SourceLDAP, SourceSCIM, nil, nil, "owned by LDAP synchronisation"},
		{"owner ldap: LDAP creates", SourceLDAP, SourceLDAP, nil, nil, ""},
		{"SCIM updates its own", "", SourceSCIM, acct(SourceSCIM), []string{"email"}, ""},
		{"LDAP cannot change a SCIM account's email", "", SourceLDAP, acct(SourceSCIM), []string{"email"}, "kept by SCIM provisioning"},
		{"SCIM cannot change an LDAP account's status", SourceSCIM, SourceSCIM, acct(SourceLDAP), []string{"status"}, "kept by LDAP synchronisation"},
		{"admin cannot rename a SCIM account", "", SourceLocal, acct(SourceSCIM), []string{"login"}, "kept by SCIM"},
		{"admin may lock a SCIM account", "", SourceLocal, acct(SourceSCIM), []string{"locked"}, ""},
		{"any field unknown: refused", "", SourceLocal, acct(SourceSCIM), nil, "kept by SCIM"},
		{"SCIM takes over a local account as owner", SourceSCIM, SourceSCIM, acct(SourceLocal), []string{"email"}, ""},
		{"SCIM does not take over a local account otherwise", "", SourceSCIM, acct(SourceLocal), []string{"email"}, "account_owner=scim"},
		{"SCIM does not take over a JIT account otherwise", SourceIdP, SourceSCIM, acct(SourceIdP), []string{"email"}, "account_owner=scim"},
		{"admin changes a JIT account", "", SourceLocal, acct(SourceIdP), []string{"email"}, ""},
		{"SCIM never takes over an operator", SourceSCIM, SourceSCIM, &User{Login: "root", Source: SourceLocal, Roles: []RoleGrant{{RoleOperator, RoleManual}}}, []string{"status"}, "administrator's"},
		{"nor a tenant administrator given by hand", SourceSCIM, SourceSCIM, &User{Login: "ta", Source: SourceLocal, Roles: []RoleGrant{{RoleTenantAdmin, RoleManual}}}, []string{"email"}, "administrator's"},
		{"bad owner", "nis", SourceSCIM, nil, nil, "not a source"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckSourceWrite(c.owner, c.writer, c.account, c.fields...)
			switch {
			case c.refused == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.refused != "" && err == nil:
				t.Fatal("allowed")
			case c.refused != "" && !strings.Contains(ErrorMessage(err), c.refused):
				t.Fatalf("refusal %q does not say %q", ErrorMessage(err), c.refused)
			}
		})
	}
}
