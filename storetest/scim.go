package storetest

import (
	"slices"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// RunSCIM runs the conformance tests of lanyard.SCIMStore.
func RunSCIM(t *testing.T, open func(t *testing.T) lanyard.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lanyard.Store)
	}{
		{"Profiles", testSCIMProfiles},
		{"UserConditions", testSCIMUserConditions},
		{"Groups", testSCIMGroups},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func testSCIMProfiles(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "acme")
	u := mkUser(t, s, a.ID, "ada")
	p, err := s.SCIMProfile(ctx, u.ID)
	must(t, err, "profile of a user without one")
	if p.ExternalID != "" || p.Attributes != "" {
		t.Fatalf("empty profile expected: %+v", p)
	}
	want := lanyard.SCIMProfile{UserID: u.ID, ExternalID: "ext-1", Attributes: `{"title":"Countess"}`}
	must(t, s.PutSCIMProfile(ctx, want), "put")
	want.ExternalID = "ext-2"
	must(t, s.PutSCIMProfile(ctx, want), "replace")
	if p, _ := s.SCIMProfile(ctx, u.ID); p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	wantErr(t, s.PutSCIMProfile(ctx, lanyard.SCIMProfile{UserID: 987654}), lanyard.ErrNotFound, "profile of no user")
	must(t, s.DeleteUser(ctx, u.ID), "delete user")
	if p, _ := s.SCIMProfile(ctx, u.ID); p.ExternalID != "" {
		t.Fatal("the profile outlived its user")
	}
}

func testSCIMUserConditions(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "acme")
	b := mkTenant(t, s, "bravo")
	for _, l := range []string{"ann", "bob", "cid"} {
		u := mkUser(t, s, a.ID, l)
		must(t, s.PutSCIMProfile(ctx, lanyard.SCIMProfile{UserID: u.ID, ExternalID: "X-" + l}), "profile")
	}
	mkUser(t, s, b.ID, "ann")
	eq := func(f lanyard.CondField, v any) *lanyard.Cond {
		return &lanyard.Cond{Op: lanyard.CondEq, Field: f, Value: v}
	}
	logins := func(c *lanyard.Cond, p lanyard.SCIMPage) ([]string, int) {
		t.Helper()
		us, ps, total, err := s.SCIMUsers(ctx, a.ID, c, p)
		must(t, err, "SCIMUsers "+c.String())
		var out []string
		for i, u := range us {
			if ps[i].UserID != u.ID {
				t.Fatalf("profile %d for user %d", ps[i].UserID, u.ID)
			}
			out = append(out, u.Login)
		}
		return out, total
	}
	all := lanyard.SCIMPage{Limit: 100}
	for _, c := range []struct {
		cond *lanyard.Cond
		want []string
	}{
		{nil, []string{"ann", "bob", "cid"}},
		{eq(lanyard.FieldLogin, "ANN"), []string{"ann"}},
		{eq(lanyard.FieldExternalID, "X-bob"), []string{"bob"}},
		{eq(lanyard.FieldExternalID, "x-bob"), nil},
		// Values are bound, never spliced into the SQL.
		{eq(lanyard.FieldLogin, "ann' OR '1'='1"), nil},
		{&lanyard.Cond{Op: lanyard.CondCo, Field: lanyard.FieldLogin, Value: "%"}, nil},
		{&lanyard.Cond{Op: lanyard.CondOr, Left: eq(lanyard.FieldLogin, "ann"), Right: eq(lanyard.FieldLogin, "cid")}, []string{"ann", "cid"}},
		{&lanyard.Cond{Op: lanyard.CondNot, Left: eq(lanyard.FieldLogin, "ann")}, []string{"bob", "cid"}},
		{&lanyard.Cond{Op: lanyard.CondConst, Value: false}, nil},
		{eq(lanyard.FieldActive, true), []string{"ann", "bob", "cid"}},
		{eq(lanyard.FieldID, "not-an-id"), nil},
	} {
		if got, total := logins(c.cond, all); !slices.Equal(got, c.want) || total != len(c.want) {
			t.Errorf("%s: got %v (total %d), want %v", c.cond, got, total, c.want)
		}
	}
	// Pages.
	if got, total := logins(nil, lanyard.SCIMPage{Offset: 1, Limit: 1}); !slices.Equal(got, []string{"bob"}) || total != 3 {
		t.Errorf("page 2 of 1: %v of %d", got, total)
	}
	if got, total := logins(nil, lanyard.SCIMPage{Limit: 0}); len(got) != 0 || total != 3 {
		t.Errorf("count only: %v of %d", got, total)
	}
	// A profile the client deleted hides its user from SCIM.
	cid, err := s.UserByLogin(ctx, a.ID, "cid")
	must(t, err, "cid")
	must(t, s.PutSCIMProfile(ctx, lanyard.SCIMProfile{UserID: cid.ID, ExternalID: "X-cid", Deleted: true}), "delete cid")
	if p, _ := s.SCIMProfile(ctx, cid.ID); !p.Deleted {
		t.Fatal("Deleted not kept")
	}
	if got, total := logins(nil, all); !slices.Equal(got, []string{"ann", "bob"}) || total != 2 {
		t.Errorf("with cid deleted: %v of %d", got, total)
	}
	// Fields outside the table, and values of the wrong type, are refused.
	for _, c := range []*lanyard.Cond{
		eq("login_lower; DROP TABLE users", "x"),
		eq(lanyard.FieldDisplayName, "x"),
		eq(lanyard.FieldActive, "yes"),
		{Op: lanyard.CondGt, Field: lanyard.FieldActive, Value: true},
		eq(lanyard.FieldCreated, "yesterday"),
		{Op: "xx", Field: lanyard.FieldLogin, Value: "x"},
	} {
		if _, _, _, err := s.SCIMUsers(ctx, a.ID, c, all); lanyard.ErrorKind(err) != lanyard.KindInvalid {
			t.Errorf("%s: got %v, want a KindInvalid error", c, err)
		}
	}
}

func testSCIMGroups(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "acme")
	b := mkTenant(t, s, "bravo")
	ann, bob := mkUser(t, s, a.ID, "ann"), mkUser(t, s, a.ID, "bob")
	stranger := mkUser(t, s, b.ID, "stranger")
	g := lanyard.SCIMGroup{TenantID: a.ID, DisplayName: "Staff", ExternalID: "g-1", Members: []int64{ann.ID}}
	must(t, s.CreateSCIMGroup(ctx, &g), "create")
	wantErr(t, s.CreateSCIMGroup(ctx, &lanyard.SCIMGroup{TenantID: a.ID, DisplayName: "STAFF"}), lanyard.ErrConflict, "same name")
	must(t, s.CreateSCIMGroup(ctx, &lanyard.SCIMGroup{TenantID: b.ID, DisplayName: "Staff"}), "same name, another tenant")
	wantErr(t, s.CreateSCIMGroup(ctx, &lanyard.SCIMGroup{TenantID: a.ID, DisplayName: "Odd", Members: []int64{stranger.ID}}), lanyard.ErrNotFound, "member of another tenant")
	must(t, s.ChangeSCIMGroupMembers(ctx, g.ID, []int64{bob.ID, bob.ID, ann.ID}, nil), "add")
	wantErr(t, s.ChangeSCIMGroupMembers(ctx, g.ID, []int64{stranger.ID}, nil), lanyard.ErrNotFound, "add a stranger")
	wantErr(t, s.ChangeSCIMGroupMembers(ctx, 987654, nil, nil), lanyard.ErrNotFound, "no group")
	got, err := s.SCIMGroup(ctx, a.ID, g.ID)
	must(t, err, "read")
	if !slices.Equal(got.Members, []int64{ann.ID, bob.ID}) || got.ExternalID != "g-1" {
		t.Fatalf("group: %+v", got)
	}
	wantErr(t, func() error { _, err := s.SCIMGroup(ctx, b.ID, g.ID); return err }(), lanyard.ErrNotFound, "another tenant's group")
	must(t, s.ChangeSCIMGroupMembers(ctx, g.ID, nil, []int64{ann.ID, 987654}), "remove")
	gs, err := s.SCIMGroupsOfUser(ctx, bob.ID)
	must(t, err, "groups of bob")
	if len(gs) != 1 || gs[0].DisplayName != "Staff" {
		t.Fatalf("groups of bob: %+v", gs)
	}
	g.DisplayName = "Crew"
	must(t, s.UpdateSCIMGroup(ctx, &g), "rename")
	member := &lanyard.Cond{Op: lanyard.CondEq, Field: lanyard.FieldMember, Value: bob.ID}
	list, total, err := s.SCIMGroups(ctx, a.ID, member, lanyard.SCIMPage{Limit: 10})
	must(t, err, "groups with bob")
	if total != 1 || len(list) != 1 || list[0].DisplayName != "Crew" || !slices.Equal(list[0].Members, []int64{bob.ID}) {
		t.Fatalf("groups with bob: %+v (%d)", list, total)
	}
	if _, _, err := s.SCIMGroups(ctx, a.ID, &lanyard.Cond{Op: lanyard.CondEq, Field: lanyard.FieldLogin, Value: "x"}, lanyard.SCIMPage{Limit: 1}); lanyard.ErrorKind(err) != lanyard.KindInvalid {
		t.Errorf("a user field on groups: %v", err)
	}
	must(t, s.DeleteUser(ctx, bob.ID), "delete member")
	if got, _ := s.SCIMGroup(ctx, a.ID, g.ID); len(got.Members) != 0 {
		t.Fatalf("a deleted user is still a member: %+v", got)
	}
	wantErr(t, s.DeleteSCIMGroup(ctx, b.ID, g.ID), lanyard.ErrNotFound, "delete from another tenant")
	must(t, s.DeleteSCIMGroup(ctx, a.ID, g.ID), "delete")
	wantErr(t, s.DeleteSCIMGroup(ctx, a.ID, g.ID), lanyard.ErrNotFound, "delete twice")
}
