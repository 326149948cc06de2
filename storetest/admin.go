package storetest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// RunAdmin runs the conformance tests of the lanyard.AdminStore part of the
// store (API tokens, login traces, moving an account's records, bulk
// writes). open must return a fresh, migrated, empty store.
func RunAdmin(t *testing.T, open func(t *testing.T) lanyard.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lanyard.Store)
	}{
		{"APITokens", testAPITokens},
		{"LoginTraces", testLoginTraces},
		{"MoveUserRecords", testMoveUserRecords},
		{"MoveUserRecordsInTx", testMoveUserRecordsInTx},
		{"CreateUsers", testCreateUsers},
		{"AppendAuditEvents", testAppendAuditEvents},
		{"UpdateUsers", testUpdateUsers},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

func testAPITokens(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	ci := lanyard.APIToken{Name: "ci", Hash: tokenHash("a"), Prefix: "lyd_a", Scopes: []string{lanyard.ScopeRead},
		CreatedBy: "cli", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateAPIToken(ctx, &ci), "create ci")
	if ci.ID == 0 {
		t.Fatal("CreateAPIToken did not set the ID")
	}
	dupName := lanyard.APIToken{Name: "ci", Hash: tokenHash("b"), Scopes: []string{lanyard.ScopeWrite}}
	wantErr(t, s.CreateAPIToken(ctx, &dupName), lanyard.ErrConflict, "second live token named ci")
	bad := lanyard.APIToken{Name: "bad", Hash: tokenHash("c"), Scopes: []string{"admin"}}
	wantKind(t, s.CreateAPIToken(ctx, &bad), lanyard.KindInvalid, "unknown scope")

	got, err := s.APITokenByHash(ctx, tokenHash("a"))
	must(t, err, "token by hash")
	wantEqual(t, "token read back", got, ci)
	_, err = s.APITokenByHash(ctx, tokenHash("nope"))
	wantErr(t, err, lanyard.ErrNotFound, "unknown hash")

	used := t0.Add(time.Minute)
	must(t, s.TouchAPIToken(ctx, ci.ID, used), "touch")
	revoked, err := s.RevokeAPIToken(ctx, ci.ID, t0.Add(2*time.Minute))
	must(t, err, "revoke")
	sameTime(t, "last used", revoked.LastUsedAt, used)
	sameTime(t, "revoked at", revoked.RevokedAt, t0.Add(2*time.Minute))
	if revoked.Live(t0.Add(3 * time.Minute)) {
		t.Error("a revoked token is still live")
	}
	_, err = s.RevokeAPIToken(ctx, ci.ID, t0.Add(3*time.Minute))
	wantErr(t, err, lanyard.ErrNotFound, "revoke twice")

	// Once revoked, the name is free again.
	again := lanyard.APIToken{Name: "ci", Hash: tokenHash("d"), Scopes: []string{lanyard.ScopeWrite}, CreatedAt: t0.Add(time.Hour)}
	must(t, s.CreateAPIToken(ctx, &again), "create ci after revoking the first")
	all, err := s.APITokens(ctx)
	must(t, err, "list")
	wantInt(t, "tokens", len(all), 2)
	if all[0].ID != again.ID {
		t.Errorf("tokens are not listed newest first: %d, %d", all[0].ID, all[1].ID)
	}

	// A tenant's token keeps its tenant and its creator.
	a := mkTenant(t, s, "a")
	creator := mkUser(t, s, a.ID, "admin-of-a", lanyard.RoleTenantAdmin)
	owned := lanyard.APIToken{Name: "a-sync", Hash: tokenHash("e"), Prefix: "lyd_e", Scopes: []string{lanyard.ScopeRead},
		CreatedBy: "admin-of-a", CreatedAt: t0, TenantID: a.ID, CreatorID: creator.ID}
	must(t, s.CreateAPIToken(ctx, &owned), "create a tenant's token")
	got, err = s.APITokenByHash(ctx, tokenHash("e"))
	must(t, err, "tenant token by hash")
	wantEqual(t, "tenant token read back", got, owned)
}

func testLoginTraces(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "a")
	b := mkTenant(t, s, "b")
	for i := range 5 {
		tr := lanyard.LoginTrace{TenantID: a.ID, AuditID: int64(100 + i), Time: t0.Add(time.Duration(i) * time.Hour), Reason: "expired",
			Message: seq("m", i), ClockSkew: -90 * time.Second, Document: "<Response/>"}
		must(t, s.AddLoginTrace(ctx, &tr, 3), "add trace to a")
	}
	other := lanyard.LoginTrace{TenantID: b.ID, Time: t0, Reason: "bad_signature", IdPEntityID: "https://idp"}
	must(t, s.AddLoginTrace(ctx, &other, 3), "add trace to b")

	got, err := s.LoginTraces(ctx, lanyard.LoginTraceFilter{TenantID: a.ID})
	must(t, err, "list a")
	wantInt(t, "traces kept for a (bounded to 3)", len(got), 3)
	if got[0].Message != "m04" || got[2].Message != "m02" {
		t.Errorf("kept %q..%q, want the newest m04..m02", got[0].Message, got[2].Message)
	}
	wantEqual(t, "clock skew", got[0].ClockSkew, -90*time.Second)
	one, err := s.LoginTrace(ctx, got[1].ID)
	must(t, err, "one trace")
	wantEqual(t, "trace read back", one, got[1])
	_, err = s.LoginTrace(ctx, 1) // the first one was dropped by the bound
	wantErr(t, err, lanyard.ErrNotFound, "dropped trace")

	byRef, err := s.LoginTraces(ctx, lanyard.LoginTraceFilter{AuditID: 103})
	must(t, err, "list by reference")
	if len(byRef) != 1 || byRef[0].AuditID != 103 || byRef[0].Message != "m03" {
		t.Errorf("trace of reference 103: %+v", byRef)
	}
	if gone, err := s.LoginTraces(ctx, lanyard.LoginTraceFilter{AuditID: 100}); err != nil || len(gone) != 0 {
		t.Errorf("trace of reference 100 (dropped): %v %+v", err, gone)
	}

	byReason, err := s.LoginTraces(ctx, lanyard.LoginTraceFilter{Reason: "bad_signature"})
	must(t, err, "list by reason")
	wantInt(t, "traces with bad_signature", len(byReason), 1)
	page, err := s.LoginTraces(ctx, lanyard.LoginTraceFilter{TenantID: a.ID, BeforeID: got[0].ID, Limit: 1})
	must(t, err, "page")
	if len(page) != 1 || page[0].ID != got[1].ID {
		t.Errorf("page after %d: %+v", got[0].ID, page)
	}

	n, err := s.PurgeLoginTraces(ctx, t0.Add(3*time.Hour))
	must(t, err, "purge")
	wantInt(t, "purged (b's and a's m02)", n, 2)
}

func testMoveUserRecords(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	tn := mkTenant(t, s, "acme")
	keep := mkUser(t, s, tn.ID, "jdoe@acme.com")
	dup := mkUser(t, s, tn.ID, "john.doe")
	must(t, s.LinkUser(ctx, lanyard.Link{TenantID: tn.ID, UserID: dup.ID, IdPEntityID: "https://idp", NameID: "jd"}), "link")
	mkSession(t, s, dup, "s1", t0.Add(time.Hour), t0.Add(2*time.Hour))
	must(t, s.AppendAudit(ctx, &lanyard.AuditEvent{TenantID: tn.ID, UserID: dup.ID, Action: "sso.login", Actor: "x", Outcome: lanyard.OutcomeSuccess}), "audit")
	must(t, s.SaveToken(ctx, &lanyard.OneTimeToken{Hash: tokenHash("t"), Purpose: "reset", UserID: dup.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}), "token")

	moved, err := s.MoveUserRecords(ctx, dup.ID, keep.ID)
	must(t, err, "move")
	wantEqual(t, "moved", moved, lanyard.MovedRecords{Links: 1, Sessions: 1, AuditEvents: 1})
	u, err := s.UserByLink(ctx, tn.ID, "https://idp", "jd")
	must(t, err, "user by link")
	wantInt(t, "linked user", int(u.ID), int(keep.ID))
	sessions, err := s.UserSessions(ctx, keep.ID, t0)
	must(t, err, "sessions")
	wantInt(t, "sessions of the kept user", len(sessions), 1)
	evs, err := s.AuditEvents(ctx, lanyard.AuditFilter{UserID: keep.ID})
	must(t, err, "audit")
	wantInt(t, "audit events of the kept user", len(evs), 1)
	_, err = s.TakeToken(ctx, tokenHash("t"), "reset", t0)
	wantErr(t, err, lanyard.ErrNotFound, "token of the merged user")

	_, err = s.MoveUserRecords(ctx, keep.ID, keep.ID)
	wantKind(t, err, lanyard.KindInvalid, "merge into itself")
	_, err = s.MoveUserRecords(ctx, 999999, keep.ID)
	wantErr(t, err, lanyard.ErrNotFound, "unknown user")
	other := mkTenant(t, s, "other")
	stranger := mkUser(t, s, other.ID, "stranger")
	_, err = s.MoveUserRecords(ctx, stranger.ID, keep.ID)
	wantKind(t, err, lanyard.KindInvalid, "users of two tenants")
}

// testMoveUserRecordsInTx checks that the move joins a caller's
// transaction and is undone with it.
func testMoveUserRecordsInTx(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	tn := mkTenant(t, s, "acme")
	keep := mkUser(t, s, tn.ID, "keep")
	dup := mkUser(t, s, tn.ID, "dup")
	must(t, s.LinkUser(ctx, lanyard.Link{TenantID: tn.ID, UserID: dup.ID, IdPEntityID: "https://idp", NameID: "d"}), "link")
	errUndo := lanyard.Errorf(lanyard.KindInvalid, "undo")
	err := s.Atomic(ctx, func(tx lanyard.Store) error {
		if _, err := tx.MoveUserRecords(ctx, dup.ID, keep.ID); err != nil {
			return err
		}
		return errUndo
	})
	wantErr(t, err, errUndo, "atomic")
	u, err := s.UserByLink(ctx, tn.ID, "https://idp", "d")
	must(t, err, "user by link")
	wantInt(t, "linked user after the rollback", int(u.ID), int(dup.ID))
}

// wantKind fails the test unless err is a *lanyard.Error of the kind.
func wantKind(t *testing.T, err error, kind lanyard.Kind, what string) {
	t.Helper()
	if err == nil || lanyard.ErrorKind(err) != kind {
		t.Fatalf("%s: got error %v, want one of kind %v", what, err, kind)
	}
}

func testCreateUsers(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	tn := mkTenant(t, s, "acme")
	mkUser(t, s, tn.ID, "taken")
	var users []*lanyard.User
	for i := range 1203 { // more than two statements' worth
		users = append(users, &lanyard.User{TenantID: tn.ID, Login: fmt.Sprintf("User%04d", i), Email: fmt.Sprintf("u%d@acme.com", i),
			Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, Source: lanyard.SourceLocal, WebAccess: true,
			Roles: []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleManual}, {Role: fmt.Sprintf("team%d", i%3), Source: lanyard.RoleManual}}})
	}
	must(t, s.CreateUsers(ctx, users), "create users")
	for _, i := range []int{0, 600, 1202} {
		got, err := s.UserByLogin(ctx, tn.ID, fmt.Sprintf("user%04d", i))
		must(t, err, "read back")
		if got.ID != users[i].ID || got.Email != users[i].Email {
			t.Errorf("user %d: got ID %d email %s, want ID %d email %s", i, got.ID, got.Email, users[i].ID, users[i].Email)
		}
		wantEqual(t, "roles", got.RoleNames(), []string{"staff", fmt.Sprintf("team%d", i%3)})
		sameTime(t, "created", got.CreatedAt, users[i].CreatedAt)
	}
	n, err := s.CountUsers(ctx, lanyard.UserFilter{TenantID: tn.ID})
	must(t, err, "count")
	wantInt(t, "users", n, 1204)

	// A login that exists, or appears twice, inserts nothing.
	clash := []*lanyard.User{
		{TenantID: tn.ID, Login: "fresh", Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, Source: lanyard.SourceLocal},
		{TenantID: tn.ID, Login: "TAKEN", Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, Source: lanyard.SourceLocal},
	}
	wantErr(t, s.CreateUsers(ctx, clash), lanyard.ErrConflict, "existing login")
	twice := []*lanyard.User{
		{TenantID: tn.ID, Login: "fresh", Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, Source: lanyard.SourceLocal},
		{TenantID: tn.ID, Login: "Fresh", Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, Source: lanyard.SourceLocal},
	}
	wantErr(t, s.CreateUsers(ctx, twice), lanyard.ErrConflict, "login twice")
	_, err = s.UserByLogin(ctx, tn.ID, "fresh")
	wantErr(t, err, lanyard.ErrNotFound, "user of a refused batch")
	must(t, s.CreateUsers(ctx, nil), "no users")
}

func testAppendAuditEvents(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	var evs []*lanyard.AuditEvent
	for i := range 700 {
		evs = append(evs, &lanyard.AuditEvent{Time: t0, TenantID: 1, Actor: "cli", Action: "user.create", Outcome: lanyard.OutcomeSuccess,
			UserID: int64(i + 1), Subject: fmt.Sprintf("u%d", i), Detail: map[string]string{"line": fmt.Sprint(i + 2)}})
	}
	must(t, s.AppendAuditEvents(ctx, evs), "append")
	got, err := s.AuditEvents(ctx, lanyard.AuditFilter{UserID: 500})
	must(t, err, "read back")
	if len(got) != 1 || got[0].ID != evs[499].ID || got[0].Subject != "u499" || got[0].Detail["line"] != "501" {
		t.Errorf("event of user 500: %+v, want ID %d", got, evs[499].ID)
	}
	byID, err := s.AuditEvents(ctx, lanyard.AuditFilter{ID: evs[41].ID})
	must(t, err, "read by ID")
	if len(byID) != 1 || byID[0].Subject != "u41" {
		t.Errorf("event %d by ID: %+v", evs[41].ID, byID)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Fatalf("IDs not in order: %d then %d", evs[i-1].ID, evs[i].ID)
		}
	}
}

func testUpdateUsers(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	tn := mkTenant(t, s, "acme")
	var ids []int64
	for i := range 40 {
		u := mkUser(t, s, tn.ID, fmt.Sprintf("u%02d", i), "staff")
		ids = append(ids, u.ID)
	}
	mkUser(t, s, tn.ID, "taken")
	slicesReverse := func(xs []int64) []int64 {
		out := make([]int64, 0, len(xs))
		for i := len(xs) - 1; i >= 0; i-- {
			out = append(out, xs[i])
		}
		return out
	}
	got, err := s.UpdateUsers(ctx, slicesReverse(ids), func(u *lanyard.User) error {
		u.FirstName = "First " + u.Login
		if u.ID%2 == 0 {
			u.SetRoles(lanyard.RoleManual, []string{"editor", "staff"})
		}
		return nil
	})
	must(t, err, "update users")
	wantInt(t, "updated", len(got), 40)
	if got[0].ID != ids[0] {
		t.Errorf("not in ID order: first %d", got[0].ID)
	}
	for _, id := range []int64{ids[0], ids[1], ids[39]} {
		u, err := s.User(ctx, id)
		must(t, err, "read back")
		want := []string{"staff"}
		if id%2 == 0 {
			want = []string{"editor", "staff"}
		}
		wantEqual(t, "roles of "+u.Login, u.RoleNames(), want)
		wantEqual(t, "first name", u.FirstName, "First "+u.Login)
	}

	// A taken login, an unknown ID or an error of fn changes nothing.
	_, err = s.UpdateUsers(ctx, ids[:2], func(u *lanyard.User) error {
		if u.ID == ids[1] {
			u.Login = "TAKEN"
		}
		u.LastName = "changed"
		return nil
	})
	wantErr(t, err, lanyard.ErrConflict, "rename to a taken login")
	_, err = s.UpdateUsers(ctx, []int64{ids[0], 999999}, func(u *lanyard.User) error { u.LastName = "changed"; return nil })
	wantErr(t, err, lanyard.ErrNotFound, "unknown user")
	u, err := s.User(ctx, ids[0])
	must(t, err, "read back")
	wantEqual(t, "last name after refused updates", u.LastName, "")
}
