package storetest

import (
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

func testUserCreateRead(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := lanyard.User{
		TenantID: a.ID, Login: "Bob.Smith", Email: "Bob.Smith@Example.com", FirstName: "Bob", LastName: "Smith",
		Status: lanyard.StatusInactive, Locked: true, LoginMethod: lanyard.LoginPassword, WebAccess: true,
		Source: lanyard.SourceIdP, IdPSourced: true, PasswordHash: "$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA",
		AutoLogin: true, LastLoginAt: t0,
		Roles: []lanyard.RoleGrant{
			{Role: "viewer", Source: lanyard.RoleIdP}, {Role: "admin", Source: lanyard.RoleManual},
			{Role: "viewer", Source: lanyard.RoleManual}, {Role: "admin", Source: lanyard.RoleManual},
		},
	}
	must(t, s.CreateUser(ctx, &u), "create")
	if u.ID == 0 || u.CreatedAt.IsZero() || u.UpdatedAt.IsZero() {
		t.Fatalf("CreateUser did not set ID and timestamps: %+v", u)
	}
	wantEqual(t, "roles normalized", u.Roles, []lanyard.RoleGrant{
		{Role: "admin", Source: lanyard.RoleManual},
		{Role: "viewer", Source: lanyard.RoleIdP}, {Role: "viewer", Source: lanyard.RoleManual},
	})
	got, err := s.User(ctx, u.ID)
	must(t, err, "user by id")
	wantUser(t, "user by id", got, u)
	got, err = s.UserByLogin(ctx, a.ID, "bob.smith")
	must(t, err, "user by login")
	wantUser(t, "user by login", got, u)

	plain := mkUser(t, s, a.ID, "plain")
	got, err = s.User(ctx, plain.ID)
	must(t, err, "user without roles")
	wantUser(t, "user without roles", got, plain)
	if !got.LastLoginAt.IsZero() {
		t.Fatalf("LastLoginAt of a user who never logged in: %v, want zero", got.LastLoginAt)
	}

	_, err = s.User(ctx, u.ID+1000)
	wantErr(t, err, lanyard.ErrNotFound, "unknown id")
	_, err = s.UserByLogin(ctx, a.ID, "nobody")
	wantErr(t, err, lanyard.ErrNotFound, "unknown login")
}

func testUserLoginCaseInsensitive(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	bob := mkUser(t, s, a.ID, "Bob")
	for _, login := range []string{"bob", "BOB", "Bob"} {
		u := lanyard.User{TenantID: a.ID, Login: login, Status: lanyard.StatusActive}
		wantErr(t, s.CreateUser(ctx, &u), lanyard.ErrConflict, "create "+login)
	}
	// Another tenant may have the same login.
	other := mkUser(t, s, b.ID, "bob")
	if other.ID == bob.ID {
		t.Fatal("users of two tenants share an ID")
	}
	got, err := s.UserByLogin(ctx, a.ID, "bOB")
	must(t, err, "lookup bOB")
	wantInt(t, "user of bOB", int(got.ID), int(bob.ID))
	if got.Login != "Bob" {
		t.Fatalf("login lost its case: %q", got.Login)
	}
	got, err = s.UserByLogin(ctx, b.ID, "BOB")
	must(t, err, "lookup in other tenant")
	wantInt(t, "user in other tenant", int(got.ID), int(other.ID))

	// Renaming to another user's login, in any case, is a conflict too.
	alice := mkUser(t, s, a.ID, "alice")
	_, err = s.UpdateUser(ctx, alice.ID, func(u *lanyard.User) error { u.Login = "BOB"; return nil })
	wantErr(t, err, lanyard.ErrConflict, "rename to BOB")
	// Changing only the case of one's own login is fine.
	got, err = s.UpdateUser(ctx, alice.ID, func(u *lanyard.User) error { u.Login = "Alice"; return nil })
	must(t, err, "recase own login")
	if got.Login != "Alice" {
		t.Fatalf("recased login: %q", got.Login)
	}
}

// An account with roles is written whole or not at all: a login that the
// tenant has already, or a tenant that does not exist, writes no role,
// in a transaction (which goes on) or not.
func testUserCreateConflictWithRoles(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	bob := mkUser(t, s, a.ID, "bob", "viewer")
	dup := func(login string) lanyard.User {
		return lanyard.User{TenantID: a.ID, Login: login, Status: lanyard.StatusActive,
			Roles: []lanyard.RoleGrant{{Role: "admin", Source: lanyard.RoleManual}, {Role: "staff", Source: lanyard.RoleIdP}}}
	}
	u := dup("BOB")
	wantErr(t, s.CreateUser(ctx, &u), lanyard.ErrConflict, "create BOB with roles")
	err := s.Atomic(ctx, func(tx lanyard.Store) error {
		u := dup("Bob")
		wantErr(t, tx.CreateUser(ctx, &u), lanyard.ErrConflict, "create Bob with roles in a transaction")
		// The transaction goes on.
		carol := dup("carol")
		return tx.CreateUser(ctx, &carol)
	})
	must(t, err, "transaction after the conflict")
	got, err := s.User(ctx, bob.ID)
	must(t, err, "read bob")
	wantEqual(t, "bob's roles after the conflicts", got.RoleNames(), []string{"viewer"})
	carol, err := s.UserByLogin(ctx, a.ID, "carol")
	must(t, err, "read carol")
	names := carol.RoleNames()
	sort.Strings(names)
	wantEqual(t, "carol's roles", names, []string{"admin", "staff"})

	nowhere := lanyard.User{TenantID: a.ID + 1000, Login: "dave", Status: lanyard.StatusActive,
		Roles: []lanyard.RoleGrant{{Role: "admin", Source: lanyard.RoleManual}}}
	wantKind(t, s.CreateUser(ctx, &nowhere), lanyard.KindInvalid, "create in a tenant that does not exist")
	n, err := s.CountUsers(ctx, lanyard.UserFilter{Role: "admin"})
	must(t, err, "count admins")
	wantInt(t, "accounts with admin", n, 1)
}

// An account created with its link: both written, or the account alone
// when the identity is linked already, or nothing when the login is
// taken; in a transaction (which goes on) or not.
func testCreateLinkedUser(t *testing.T, s lanyard.Store) {
	creator, ok := s.(lanyard.LinkedUserCreator)
	if !ok {
		t.Skip("the store does not create accounts with their links")
	}
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	const idp = "https://idp.example.com"
	account := func(login string) lanyard.User {
		return lanyard.User{TenantID: a.ID, Login: login, Email: login + "@example.com", Status: lanyard.StatusActive,
			Roles: []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleIdP}}}
	}
	link := func(nameID string) lanyard.Link {
		return lanyard.Link{TenantID: a.ID, IdPEntityID: idp, NameID: nameID, NameIDFormat: "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"}
	}

	ada := account("ada")
	linked, err := creator.CreateLinkedUser(ctx, &ada, link("n-ada"))
	must(t, err, "create ada")
	if !linked || ada.ID == 0 {
		t.Fatalf("ada: linked %v, id %d", linked, ada.ID)
	}
	got, err := s.UserByLink(ctx, a.ID, idp, "n-ada")
	must(t, err, "ada by link")
	wantInt(t, "ada's account by link", int(got.ID), int(ada.ID))
	wantEqual(t, "ada's roles", got.RoleNames(), []string{"staff"})
	links, err := s.Links(ctx, ada.ID)
	must(t, err, "ada's links")
	if len(links) != 1 || links[0].NameIDFormat != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" || links[0].CreatedAt.IsZero() {
		t.Fatalf("ada's links: %+v", links)
	}

	// The identity is linked already: the account alone.
	bob := account("bob")
	linked, err = creator.CreateLinkedUser(ctx, &bob, link("n-ada"))
	must(t, err, "create bob with ada's identity")
	if linked || bob.ID == 0 {
		t.Fatalf("bob: linked %v, id %d", linked, bob.ID)
	}
	links, err = s.Links(ctx, bob.ID)
	must(t, err, "bob's links")
	wantInt(t, "bob's links", len(links), 0)

	// The login is taken, in a transaction that goes on: nothing written.
	err = s.Atomic(ctx, func(tx lanyard.Store) error {
		again := account("ADA")
		_, err := tx.(lanyard.LinkedUserCreator).CreateLinkedUser(ctx, &again, link("n-other"))
		wantErr(t, err, lanyard.ErrConflict, "create ADA")
		carol := account("carol")
		linked, err := tx.(lanyard.LinkedUserCreator).CreateLinkedUser(ctx, &carol, link("n-carol"))
		if err == nil && !linked {
			t.Error("carol's identity not linked")
		}
		return err
	})
	must(t, err, "transaction after the conflict")
	_, err = s.UserByLink(ctx, a.ID, idp, "n-other")
	wantErr(t, err, lanyard.ErrNotFound, "the refused account's identity")
	_, err = s.UserByLink(ctx, a.ID, idp, "n-carol")
	must(t, err, "carol by link")
	n, err := s.CountUsers(ctx, lanyard.UserFilter{TenantID: a.ID})
	must(t, err, "count")
	wantInt(t, "accounts", n, 3)
}

func testUsersByEmail(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	for _, x := range []struct {
		tenant       int64
		login, email string
	}{
		{a.ID, "zed", "Shared@Example.com"}, {a.ID, "amy", "shared@example.com"},
		{a.ID, "solo", "solo@example.com"}, {b.ID, "other", "shared@example.com"},
	} {
		u := lanyard.User{TenantID: x.tenant, Login: x.login, Email: x.email, Status: lanyard.StatusActive}
		must(t, s.CreateUser(ctx, &u), "create "+x.login)
	}
	got, err := s.UsersByEmail(ctx, a.ID, "SHARED@example.COM")
	must(t, err, "by email")
	wantEqual(t, "users with the email, by login", logins(got), []string{"amy", "zed"})
	got, err = s.UsersByEmail(ctx, a.ID, "none@example.com")
	must(t, err, "by unknown email")
	wantInt(t, "users with an unknown email", len(got), 0)
}

// testUsersBySignInName: one lookup finds, across tenants, the accounts
// whose login or email is the name, whatever its case, each once.
func testUsersBySignInName(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	for _, x := range []struct {
		tenant       int64
		login, email string
	}{
		{a.ID, "alice", "alice@alpha.test"}, {b.ID, "Alice", "alice@beta.test"},
		{b.ID, "alice@alpha.test", "alice@alpha.test"}, {a.ID, "bob", "ALICE@beta.test"},
		{b.ID, "carol", "carol@beta.test"},
	} {
		u := lanyard.User{TenantID: x.tenant, Login: x.login, Email: x.email, Status: lanyard.StatusActive}
		must(t, s.CreateUser(ctx, &u), "create "+x.login)
	}
	for _, tc := range []struct {
		name string
		want []string
	}{
		{"alice", []string{"alice", "Alice"}},
		{" ALICE ", []string{"alice", "Alice"}},
		{"Alice@Alpha.test", []string{"alice", "alice@alpha.test"}},
		{"alice@beta.test", []string{"bob", "Alice"}},
		{"carol", []string{"carol"}},
		{"nobody", []string{}},
		{"", []string{}},
	} {
		got, err := s.UsersBySignInName(ctx, tc.name, 10)
		must(t, err, "by sign-in name "+tc.name)
		wantEqual(t, "users signing in as "+tc.name, logins(got), tc.want)
	}
	got, err := s.UsersBySignInName(ctx, "alice", 1)
	must(t, err, "limited")
	wantInt(t, "users with a limit of 1", len(got), 1)
}

func testUserUpdate(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob", "viewer", "editor")
	time.Sleep(2 * time.Millisecond) // let UpdatedAt move on coarse clocks

	got, err := s.UpdateUser(ctx, u.ID, func(x *lanyard.User) error {
		x.Email = "robert@example.com"
		x.FirstName = "Robert"
		x.Locked = true
		x.LastLoginAt = t0
		x.TenantID = 9999 // ignored: a user stays in its tenant
		x.Roles = []lanyard.RoleGrant{{Role: "admin", Source: lanyard.RoleManual}}
		x.SetRoles(lanyard.RoleIdP, []string{"idp-role"})
		return nil
	})
	must(t, err, "update")
	if got.Email != "robert@example.com" || got.FirstName != "Robert" || !got.Locked || got.TenantID != a.ID {
		t.Fatalf("update result: %+v", got)
	}
	sameTime(t, "LastLoginAt", got.LastLoginAt, t0)
	sameTime(t, "CreatedAt kept", got.CreatedAt, u.CreatedAt)
	if got.UpdatedAt.Before(u.UpdatedAt) {
		t.Fatalf("UpdatedAt went back: %v < %v", got.UpdatedAt, u.UpdatedAt)
	}
	wantEqual(t, "roles replaced", got.Roles, []lanyard.RoleGrant{
		{Role: "admin", Source: lanyard.RoleManual}, {Role: "idp-role", Source: lanyard.RoleIdP},
	})
	read, err := s.User(ctx, u.ID)
	must(t, err, "read back")
	wantUser(t, "read back", read, got)

	// Removing every role.
	got, err = s.UpdateUser(ctx, u.ID, func(x *lanyard.User) error { x.Roles = nil; return nil })
	must(t, err, "drop roles")
	read, err = s.User(ctx, u.ID)
	must(t, err, "read back without roles")
	wantInt(t, "roles after drop", len(read.Roles), 0)
	wantUser(t, "read back without roles", read, got)

	boom := errors.New("boom")
	_, err = s.UpdateUser(ctx, u.ID, func(x *lanyard.User) error { x.Email = "x@example.com"; return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("update with failing fn: got %v, want boom", err)
	}
	read, err = s.User(ctx, u.ID)
	must(t, err, "read after failed update")
	wantUser(t, "user after failed update", read, got)

	_, err = s.UpdateUser(ctx, u.ID+1000, func(*lanyard.User) error { return nil })
	wantErr(t, err, lanyard.ErrNotFound, "update unknown")
}

func testUserDeleteCascades(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob", "gone-role")
	keep := mkUser(t, s, a.ID, "keep", "kept-role")
	must(t, s.LinkUser(ctx, lanyard.Link{TenantID: a.ID, UserID: u.ID, IdPEntityID: "https://idp", NameID: "bob"}), "link")
	mkSession(t, s, u, "s1", t0.Add(time.Hour), t0.Add(2*time.Hour))
	mkSession(t, s, keep, "s2", t0.Add(time.Hour), t0.Add(2*time.Hour))
	must(t, s.SaveToken(ctx, &lanyard.OneTimeToken{Hash: []byte("tok"), Purpose: "reset", UserID: u.ID, ExpiresAt: t0.Add(time.Hour)}), "token")
	ev := lanyard.AuditEvent{TenantID: a.ID, UserID: u.ID, Action: "sso.login", Outcome: lanyard.OutcomeSuccess}
	must(t, s.AppendAudit(ctx, &ev), "audit")

	must(t, s.DeleteUser(ctx, u.ID), "delete")
	_, err := s.User(ctx, u.ID)
	wantErr(t, err, lanyard.ErrNotFound, "deleted user")
	_, err = s.UserByLink(ctx, a.ID, "https://idp", "bob")
	wantErr(t, err, lanyard.ErrNotFound, "link of deleted user")
	links, err := s.Links(ctx, u.ID)
	must(t, err, "links of deleted user")
	wantInt(t, "links of deleted user", len(links), 0)
	_, err = s.Session(ctx, lanyard.HashSessionID("s1"), t0)
	wantErr(t, err, lanyard.ErrNotFound, "session of deleted user")
	_, err = s.Session(ctx, lanyard.HashSessionID("s2"), t0)
	must(t, err, "session of another user survives")
	_, err = s.TakeToken(ctx, []byte("tok"), "reset", t0)
	wantErr(t, err, lanyard.ErrNotFound, "token of deleted user")
	roles, err := s.Roles(ctx, a.ID)
	must(t, err, "roles")
	wantEqual(t, "roles after delete", roles, []string{"kept-role"})
	events, err := s.AuditEvents(ctx, lanyard.AuditFilter{UserID: u.ID})
	must(t, err, "audit of deleted user")
	wantInt(t, "audit events kept", len(events), 1)

	// The login is free again.
	mkUser(t, s, a.ID, "bob")
	wantErr(t, s.DeleteUser(ctx, u.ID), lanyard.ErrNotFound, "delete twice")
}

func testLinks(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	bob := mkUser(t, s, a.ID, "bob", "viewer")
	alice := mkUser(t, s, a.ID, "alice")
	l1 := lanyard.Link{TenantID: a.ID, UserID: bob.ID, IdPEntityID: "https://idp1", NameID: "bob@idp1",
		NameIDFormat: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress", CreatedAt: t0}
	l2 := lanyard.Link{TenantID: a.ID, UserID: bob.ID, IdPEntityID: "https://idp2", NameID: "B0B", CreatedAt: t0.Add(time.Second)}
	must(t, s.LinkUser(ctx, l1), "link 1")
	must(t, s.LinkUser(ctx, l2), "link 2")

	got, err := s.UserByLink(ctx, a.ID, "https://idp1", "bob@idp1")
	must(t, err, "user by link")
	wantUser(t, "user by link", got, bob)
	links, err := s.Links(ctx, bob.ID)
	must(t, err, "links")
	wantEqual(t, "links", links, []lanyard.Link{l1, l2})

	// An identity is linked to one account only.
	dup := l1
	dup.UserID = alice.ID
	wantErr(t, s.LinkUser(ctx, dup), lanyard.ErrConflict, "identity linked to another user")
	wantErr(t, s.LinkUser(ctx, l1), lanyard.ErrConflict, "same link twice")

	// NameIDs are compared exactly; the tenant is part of the identity.
	_, err = s.UserByLink(ctx, a.ID, "https://idp2", "b0b")
	wantErr(t, err, lanyard.ErrNotFound, "NameID of another case")
	_, err = s.UserByLink(ctx, b.ID, "https://idp1", "bob@idp1")
	wantErr(t, err, lanyard.ErrNotFound, "link in another tenant")
	links, err = s.Links(ctx, alice.ID)
	must(t, err, "links of unlinked user")
	wantInt(t, "links of unlinked user", len(links), 0)
}

func testRoles(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	roles, err := s.Roles(ctx, a.ID)
	must(t, err, "roles of empty tenant")
	wantInt(t, "roles of empty tenant", len(roles), 0)
	mkUser(t, s, a.ID, "u1", "viewer", "admin")
	u2 := mkUser(t, s, a.ID, "u2", "viewer", "editor")
	mkUser(t, s, b.ID, "u3", "other-tenant-role")
	_, err = s.UpdateUser(ctx, u2.ID, func(u *lanyard.User) error {
		u.Roles = append(u.Roles, lanyard.RoleGrant{Role: "viewer", Source: lanyard.RoleIdP})
		return nil
	})
	must(t, err, "add idp grant")
	roles, err = s.Roles(ctx, a.ID)
	must(t, err, "roles")
	wantEqual(t, "distinct roles, sorted", roles, []string{"admin", "editor", "viewer"})
}

func testUsersFilter(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	b := mkTenant(t, s, "beta")
	type spec struct {
		tenant              int64
		login, email, first string
		last                string
		status              lanyard.UserStatus
		source              lanyard.UserSource
		method              lanyard.LoginMethod
		roles               []string
	}
	for _, x := range []spec{
		{a.ID, "carol", "carol@corp.example", "Carol", "Jones", lanyard.StatusActive, lanyard.SourceLocal, lanyard.LoginPassword, []string{"admin"}},
		{a.ID, "Dave", "dave@corp.example", "Dave", "Müller", lanyard.StatusInactive, lanyard.SourceIdP, lanyard.LoginSSO, []string{"viewer"}},
		{a.ID, "erin", "erin@other.example", "Erin", "O'Hara", lanyard.StatusActive, lanyard.SourceLDAP, lanyard.LoginSSO, []string{"viewer", "admin"}},
		{a.ID, "frank_100%", "frank@corp.example", "Frank", "Smith", lanyard.StatusActive, lanyard.SourceIdP, lanyard.LoginSSO, nil},
		{b.ID, "bob", "bob@corp.example", "Bob", "Jones", lanyard.StatusActive, lanyard.SourceLocal, lanyard.LoginSSO, []string{"admin"}},
	} {
		u := lanyard.User{TenantID: x.tenant, Login: x.login, Email: x.email, FirstName: x.first, LastName: x.last,
			Status: x.status, Source: x.source, LoginMethod: x.method}
		for _, r := range x.roles {
			u.Roles = append(u.Roles, lanyard.RoleGrant{Role: r, Source: lanyard.RoleManual})
		}
		must(t, s.CreateUser(ctx, &u), "create "+x.login)
	}
	for _, tc := range []struct {
		name   string
		filter lanyard.UserFilter
		want   []string
	}{
		{"all", lanyard.UserFilter{}, []string{"carol", "Dave", "erin", "frank_100%", "bob"}},
		{"tenant", lanyard.UserFilter{TenantID: a.ID}, []string{"carol", "Dave", "erin", "frank_100%"}},
		{"other tenant", lanyard.UserFilter{TenantID: b.ID}, []string{"bob"}},
		{"query login", lanyard.UserFilter{TenantID: a.ID, Query: "DAV"}, []string{"Dave"}},
		{"query email", lanyard.UserFilter{TenantID: a.ID, Query: "other.example"}, []string{"erin"}},
		{"query first name", lanyard.UserFilter{TenantID: a.ID, Query: "caro"}, []string{"carol"}},
		{"query last name", lanyard.UserFilter{Query: "jones"}, []string{"carol", "bob"}},
		{"query non-ASCII", lanyard.UserFilter{Query: "MÜLLER"}, []string{"Dave"}},
		{"query quote", lanyard.UserFilter{Query: "o'h"}, []string{"erin"}},
		{"query percent is literal", lanyard.UserFilter{Query: "100%"}, []string{"frank_100%"}},
		{"query underscore is literal", lanyard.UserFilter{Query: "k_1"}, []string{"frank_100%"}},
		{"query wildcard alone is literal", lanyard.UserFilter{Query: "%"}, []string{"frank_100%"}},
		{"query no match", lanyard.UserFilter{Query: "zzz"}, []string{}},
		{"status", lanyard.UserFilter{TenantID: a.ID, Status: lanyard.StatusInactive}, []string{"Dave"}},
		{"source", lanyard.UserFilter{TenantID: a.ID, Source: lanyard.SourceIdP}, []string{"Dave", "frank_100%"}},
		{"login method", lanyard.UserFilter{LoginMethod: lanyard.LoginPassword}, []string{"carol"}},
		{"role", lanyard.UserFilter{TenantID: a.ID, Role: "admin"}, []string{"carol", "erin"}},
		{"role all tenants", lanyard.UserFilter{Role: "admin"}, []string{"carol", "erin", "bob"}},
		{"combined", lanyard.UserFilter{TenantID: a.ID, Role: "viewer", Status: lanyard.StatusActive, Query: "erin"}, []string{"erin"}},
	} {
		got, err := s.Users(ctx, tc.filter)
		must(t, err, "users "+tc.name)
		wantEqual(t, "users "+tc.name, logins(got), tc.want)
		n, err := s.CountUsers(ctx, tc.filter)
		must(t, err, "count "+tc.name)
		wantInt(t, "count "+tc.name, n, len(tc.want))
	}
	// Users come with their roles.
	got, err := s.Users(ctx, lanyard.UserFilter{TenantID: a.ID, Query: "erin"})
	must(t, err, "erin with roles")
	wantEqual(t, "roles of listed user", got[0].RoleNames(), []string{"admin", "viewer"})
}

func testUsersPaging(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	var all []string
	for i := 0; i < 7; i++ {
		mkUser(t, s, a.ID, seq("user", i), "r1", "r2")
		all = append(all, seq("user", i))
	}
	f := lanyard.UserFilter{TenantID: a.ID, Limit: 3}
	got, err := s.Users(ctx, f)
	must(t, err, "page 1")
	wantEqual(t, "page 1", logins(got), all[0:3])
	for _, u := range got {
		wantInt(t, "roles of "+u.Login, len(u.Roles), 2)
	}
	f.Offset = 3
	got, err = s.Users(ctx, f)
	must(t, err, "page 2")
	wantEqual(t, "page 2", logins(got), all[3:6])
	f.Offset = 6
	got, err = s.Users(ctx, f)
	must(t, err, "page 3")
	wantEqual(t, "page 3", logins(got), all[6:])
	got, err = s.Users(ctx, lanyard.UserFilter{TenantID: a.ID, Offset: 5})
	must(t, err, "offset without limit")
	wantEqual(t, "offset without limit", logins(got), all[5:])
	n, err := s.CountUsers(ctx, lanyard.UserFilter{TenantID: a.ID, Limit: 2, Offset: 1})
	must(t, err, "count ignores paging")
	wantInt(t, "count ignores paging", n, 7)
}
