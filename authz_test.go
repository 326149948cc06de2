package lanyard

import (
	"slices"
	"testing"
)

func TestReservedRoleSpellings(t *testing.T) {
	for _, c := range []struct {
		role     string
		reserved bool
	}{
		{"lanyard:operator", true},
		{"lanyard:tenant-admin", true},
		{"Lanyard:Operator", true},
		{"LANYARD:OPERATOR", true},
		{" lanyard:operator ", true},
		{"lanyard:", true},
		{"lanyard:admin", true},
		{"lanyard:operator\u200b", true},
		{"admin", false},
		{"operator", false},
		{"lanyard", false},
		{"lanyard-operator", false},
		{"lanyard operator", false},
		{"xlanyard:operator", false},
		{"", false},
	} {
		if got := IsReservedRole(c.role); got != c.reserved {
			t.Errorf("IsReservedRole(%q) = %v", c.role, got)
		}
	}
}

// Only the two known reserved roles exist, the operator's only by hand; an
// IdP mapping grants at most the tenant administrator's.
func TestReservedRolesInAccounts(t *testing.T) {
	for _, c := range []struct {
		grant RoleGrant
		ok    bool
	}{
		{RoleGrant{RoleOperator, RoleManual}, true},
		{RoleGrant{RoleOperator, RoleIdP}, false},
		{RoleGrant{RoleTenantAdmin, RoleManual}, true},
		{RoleGrant{RoleTenantAdmin, RoleIdP}, true},
		{RoleGrant{"Lanyard:Operator", RoleManual}, false},
		{RoleGrant{"LANYARD:TENANT-ADMIN", RoleIdP}, false},
		{RoleGrant{"lanyard:root", RoleManual}, false},
		{RoleGrant{"lanyard:operator\u200b", RoleManual}, false},
		{RoleGrant{"admin", RoleIdP}, true},
		{RoleGrant{"admin", RoleManual}, true},
	} {
		u := User{TenantID: 1, Login: "x", Status: StatusActive, LoginMethod: LoginSSO, Source: SourceLocal, Roles: []RoleGrant{c.grant}}
		if err := u.Validate(); (err == nil) != c.ok {
			t.Errorf("account with %+v: valid %v, want %v (%v)", c.grant, err == nil, c.ok, err)
		}
	}
	for _, c := range []struct {
		roles []string
		ok    bool
	}{
		{[]string{"admin", "staff"}, true},
		{[]string{RoleTenantAdmin}, true},
		{[]string{RoleOperator}, false},
		{[]string{"staff", "Lanyard:operator"}, false},
		{[]string{"lanyard:anything"}, false},
	} {
		if err := CheckIdPRoles(c.roles); (err == nil) != c.ok {
			t.Errorf("group mapping to %q: accepted %v, want %v", c.roles, err == nil, c.ok)
		}
	}
	if err := CheckDefaultRoles([]string{"staff", RoleTenantAdmin}); err == nil {
		t.Error("a reserved role is accepted as a default role of new accounts")
	}
	got := IdPGrantable([]string{"staff", RoleOperator, RoleTenantAdmin, "LANYARD:operator", "admin", "lanyard:x"})
	if !slices.Equal(got, []string{"staff", RoleTenantAdmin, "admin"}) {
		t.Errorf("IdPGrantable: %q", got)
	}
}

func TestPrincipalOf(t *testing.T) {
	acct := func(mod func(*User), roles ...RoleGrant) User {
		u := User{ID: 7, TenantID: 3, Login: "x", Status: StatusActive, Roles: roles}
		if mod != nil {
			mod(&u)
		}
		return u
	}
	for _, c := range []struct {
		name string
		u    User
		want Principal
	}{
		{"operator", acct(nil, RoleGrant{RoleOperator, RoleManual}), Principal{UserID: 7, Login: "x", Operator: true}},
		{"operator from an IdP grants nothing", acct(nil, RoleGrant{RoleOperator, RoleIdP}), Principal{UserID: 7, Login: "x"}},
		{"tenant admin by hand", acct(nil, RoleGrant{RoleTenantAdmin, RoleManual}), Principal{UserID: 7, Login: "x", TenantID: 3}},
		{"tenant admin from the IdP", acct(nil, RoleGrant{RoleTenantAdmin, RoleIdP}), Principal{UserID: 7, Login: "x", TenantID: 3}},
		{"application role admin", acct(nil, RoleGrant{"admin", RoleManual}, RoleGrant{"admin", RoleIdP}), Principal{UserID: 7, Login: "x"}},
		{"look-alike", acct(nil, RoleGrant{"Lanyard:Operator", RoleManual}), Principal{UserID: 7, Login: "x"}},
		{"inactive", acct(func(u *User) { u.Status = StatusInactive }, RoleGrant{RoleOperator, RoleManual}), Principal{UserID: 7, Login: "x"}},
		{"locked", acct(func(u *User) { u.Locked = true }, RoleGrant{RoleTenantAdmin, RoleManual}), Principal{UserID: 7, Login: "x"}},
		{"both", acct(nil, RoleGrant{RoleTenantAdmin, RoleIdP}, RoleGrant{RoleOperator, RoleManual}), Principal{UserID: 7, Login: "x", Operator: true}},
	} {
		if got := PrincipalOf(c.u); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestAuthorize(t *testing.T) {
	op := Principal{Operator: true}
	ta := Principal{TenantID: 3}
	none := Principal{UserID: 9}
	for _, c := range []struct {
		name   string
		p      Principal
		need   Access
		tenant int64
		ok     bool
	}{
		{"public, nobody", Principal{}, AccessPublic, 0, true},
		{"admin route, operator", op, AccessAdmin, 0, true},
		{"admin route, tenant admin", ta, AccessAdmin, 0, true},
		{"admin route, no admin", none, AccessAdmin, 0, false},
		{"own tenant", ta, AccessTenant, 3, true},
		{"other tenant", ta, AccessTenant, 4, false},
		{"missing tenant", ta, AccessTenant, 0, false},
		{"operator, any tenant", op, AccessTenant, 4, true},
		{"operator, missing tenant", op, AccessTenant, 0, true},
		{"no admin, tenant", none, AccessTenant, 0, false},
		{"operator route, operator", op, AccessOperator, 0, true},
		{"operator route, tenant admin", ta, AccessOperator, 0, false},
		{"operator route, no admin", none, AccessOperator, 0, false},
		{"undeclared access", op, Access(0), 0, false},
		{"unknown access", op, Access(99), 0, false},
	} {
		err := Authorize(c.p, c.need, c.tenant)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if err != nil && ErrorKind(err) != KindForbidden {
			t.Errorf("%s: kind %v, want forbidden", c.name, ErrorKind(err))
		}
	}
}

// A token never does more than its creator can now.
func TestTokenPrincipal(t *testing.T) {
	user := func(roles ...RoleGrant) *User {
		return &User{ID: 5, TenantID: 3, Login: "c", Status: StatusActive, Roles: roles}
	}
	operator := user(RoleGrant{RoleOperator, RoleManual})
	tenantAdmin := user(RoleGrant{RoleTenantAdmin, RoleIdP})
	plain := user(RoleGrant{"admin", RoleManual})
	locked := user(RoleGrant{RoleOperator, RoleManual})
	locked.Locked = true
	for _, c := range []struct {
		name    string
		tok     APIToken
		creator *User
		want    Principal
	}{
		{"CLI global token", APIToken{Name: "t"}, nil, Principal{Login: "api:t", Operator: true}},
		{"CLI tenant token", APIToken{Name: "t", TenantID: 4}, nil, Principal{Login: "api:t", TenantID: 4}},
		{"operator global token", APIToken{Name: "t", CreatorID: 5}, operator, Principal{UserID: 5, Login: "api:t", Operator: true}},
		{"operator tenant token", APIToken{Name: "t", CreatorID: 5, TenantID: 4}, operator, Principal{UserID: 5, Login: "api:t", TenantID: 4}},
		{"tenant admin's token", APIToken{Name: "t", CreatorID: 5, TenantID: 3}, tenantAdmin, Principal{UserID: 5, Login: "api:t", TenantID: 3}},
		{"tenant admin's global token", APIToken{Name: "t", CreatorID: 5}, tenantAdmin, Principal{UserID: 5, Login: "api:t"}},
		{"tenant admin's token of another tenant", APIToken{Name: "t", CreatorID: 5, TenantID: 4}, tenantAdmin, Principal{UserID: 5, Login: "api:t"}},
		{"creator lost the rights", APIToken{Name: "t", CreatorID: 5, TenantID: 3}, plain, Principal{UserID: 5, Login: "api:t"}},
		{"creator locked", APIToken{Name: "t", CreatorID: 5}, locked, Principal{UserID: 5, Login: "api:t"}},
		{"creator deleted", APIToken{Name: "t", CreatorID: 5}, nil, Principal{}},
		{"another creator", APIToken{Name: "t", CreatorID: 6}, operator, Principal{}},
	} {
		if got := TokenPrincipal(c.tok, c.creator); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

func TestCheckAccountChange(t *testing.T) {
	op := Principal{Operator: true}
	ta := Principal{TenantID: 3}
	member := &User{TenantID: 3, Login: "m", Roles: []RoleGrant{{"staff", RoleManual}}}
	other := &User{TenantID: 4, Login: "o"}
	opAcct := &User{TenantID: 3, Login: "root", Roles: []RoleGrant{{RoleOperator, RoleManual}}}
	promoted := &User{TenantID: 3, Login: "m", Roles: []RoleGrant{{RoleOperator, RoleManual}}}
	madeTA := &User{TenantID: 3, Login: "m", Roles: []RoleGrant{{RoleTenantAdmin, RoleManual}}}
	for _, c := range []struct {
		name          string
		p             Principal
		before, after *User
		ok            bool
	}{
		{"operator changes anything", op, opAcct, promoted, true},
		{"tenant admin edits a member", ta, member, member, true},
		{"tenant admin makes a tenant admin", ta, member, madeTA, true},
		{"tenant admin creates a member", ta, nil, member, true},
		{"tenant admin promotes to operator", ta, member, promoted, false},
		{"tenant admin creates an operator", ta, nil, promoted, false},
		{"tenant admin edits an operator", ta, opAcct, opAcct, false},
		{"tenant admin deletes an operator", ta, opAcct, nil, false},
		{"tenant admin edits another tenant's account", ta, other, other, false},
		{"tenant admin moves an account to another tenant", ta, member, other, false},
		{"nobody", Principal{}, member, member, false},
	} {
		err := CheckAccountChange(c.p, c.before, c.after)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

// Operators' rights need a password session: an IdP's assertion never
// makes anyone an operator.
func TestPrincipalOfSession(t *testing.T) {
	op := User{ID: 1, TenantID: 3, Status: StatusActive, Roles: []RoleGrant{{RoleOperator, RoleManual}}}
	both := User{ID: 1, TenantID: 3, Status: StatusActive, Roles: []RoleGrant{{RoleOperator, RoleManual}, {RoleTenantAdmin, RoleIdP}}}
	for _, c := range []struct {
		name string
		u    User
		kind SessionKind
		want Principal
	}{
		{"operator, password session", op, SessionPassword, Principal{UserID: 1, Operator: true}},
		{"operator, SSO session", op, SessionSSO, Principal{UserID: 1}},
		{"operator, unknown kind", op, SessionKind("other"), Principal{UserID: 1}},
		{"operator and tenant admin, SSO session", both, SessionSSO, Principal{UserID: 1, TenantID: 3}},
	} {
		if got := PrincipalOfSession(c.u, c.kind); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if !op.IsOperator() || len(op.Roles) != 1 {
		t.Error("PrincipalOfSession changed the account's roles")
	}
}
