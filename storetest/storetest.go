// Package storetest is the conformance suite of lanyard.Store: every engine
// runs it from a short test file, so all engines behave the same.
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) lanyard.Store { return openFreshStore(t) })
//	}
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// Run runs the conformance suite, its tests in parallel. open must return
// a fresh, migrated, empty store for each call, and close it when the test
// ends (t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) lanyard.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lanyard.Store)
	}{
		{"Ping", testPing},
		{"TenantCreateRead", testTenantCreateRead},
		{"TenantEmailDomain", testTenantEmailDomain},
		{"TenantList", testTenantList},
		{"TenantUpdate", testTenantUpdate},
		{"TenantDeleteCascades", testTenantDeleteCascades},
		{"IdPPutGet", testIdPPutGet},
		{"IdPUpdateDelete", testIdPUpdateDelete},
		{"SPKeys", testSPKeys},
		{"SPKeyNext", testSPKeyNext},
		{"MetadataFetches", testMetadataFetches},
		{"ConfigVersion", testConfigVersion},
		{"UserCreateRead", testUserCreateRead},
		{"UserLoginCaseInsensitive", testUserLoginCaseInsensitive},
		{"UserCreateConflictWithRoles", testUserCreateConflictWithRoles},
		{"CreateLinkedUser", testCreateLinkedUser},
		{"UsersByEmail", testUsersByEmail},
		{"UsersBySignInName", testUsersBySignInName},
		{"UserUpdate", testUserUpdate},
		{"UserDeleteCascades", testUserDeleteCascades},
		{"Links", testLinks},
		{"Roles", testRoles},
		{"UsersFilter", testUsersFilter},
		{"UsersPaging", testUsersPaging},
		{"SessionCreateGet", testSessionCreateGet},
		{"CreateSessionWithAudit", testCreateSessionWithAudit},
		{"SessionUpdate", testSessionUpdate},
		{"SessionDelete", testSessionDelete},
		{"SessionCopies", testSessionCopies},
		{"SessionPurge", testSessionPurge},
		{"SessionPurgeAfterActivity", testSessionPurgeAfterActivity},
		{"AuditAppendFilter", testAuditAppendFilter},
		{"AuditPaging", testAuditPaging},
		{"ReplayCache", testReplayCache},
		{"PendingRequests", testPendingRequests},
		{"Tokens", testTokens},
		{"Throttle", testThrottle},
		{"ImportJournal", testImportJournal},
		{"AtomicRollback", testAtomicRollback},
		{"AtomicCommit", testAtomicCommit},
		{"AtomicNested", testAtomicNested},
		{"AtomicConflictInside", testAtomicConflictInside},
		{"AtomicUpdateInside", testAtomicUpdateInside},
		{"RaceFirstLogin2", func(t *testing.T, s lanyard.Store) { testRaceFirstLogin(t, s, 2) }},
		{"RaceFirstLogin8", func(t *testing.T, s lanyard.Store) { testRaceFirstLogin(t, s, 8) }},
		{"RaceUpdateUser", testRaceUpdateUser},
		{"RaceUpdateCounter", testRaceUpdateCounter},
		{"RaceReplay", testRaceReplay},
		{"RaceTakePending", testRaceTakePending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// t0 is the fixed "now" of tests that pass explicit times.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.UTC)

func ctxFor(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
	if target == lanyard.ErrNotFound || target == lanyard.ErrConflict {
		if msg := lanyard.ErrorMessage(err); msg == "" || msg == "An internal error occurred." {
			t.Errorf("%s: error %v has no user-safe message", what, err)
		}
	}
}

func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func wantInt(t *testing.T, what string, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %d, want %d", what, got, want)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func mkTenant(t *testing.T, s lanyard.Store, slug string, domains ...string) lanyard.Tenant {
	t.Helper()
	tn := lanyard.Tenant{Slug: slug, DisplayName: "Tenant " + slug, EmailDomains: domains}
	must(t, s.CreateTenant(ctxFor(t), &tn), "create tenant "+slug)
	return tn
}

func mkUser(t *testing.T, s lanyard.Store, tenantID int64, login string, roles ...string) lanyard.User {
	t.Helper()
	u := lanyard.User{
		TenantID: tenantID, Login: login, Email: login + "@example.com",
		Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, Source: lanyard.SourceLocal, WebAccess: true,
	}
	for _, r := range roles {
		u.Roles = append(u.Roles, lanyard.RoleGrant{Role: r, Source: lanyard.RoleManual})
	}
	must(t, s.CreateUser(ctxFor(t), &u), "create user "+login)
	return u
}

func mkSession(t *testing.T, s lanyard.Store, u lanyard.User, id string, idle, abs time.Time) lanyard.Session {
	t.Helper()
	sess := lanyard.Session{
		Hash: lanyard.HashSessionID(id), TenantID: u.TenantID, UserID: u.ID, Kind: lanyard.SessionSSO,
		IdPEntityID: "https://idp.example.com", NameID: u.Login, SessionIndex: "idx-" + id,
		CreatedAt: t0, LastSeenAt: t0, IdleExpiresAt: idle, AbsExpiresAt: abs,
	}
	must(t, s.CreateSession(ctxFor(t), &sess), "create session "+id)
	return sess
}

// logins returns the logins of us, in order.
func logins(us []lanyard.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.Login)
	}
	return out
}

// normUser makes a user comparable: nil and empty roles are the same.
func normUser(u lanyard.User) lanyard.User {
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	return u
}

func wantUser(t *testing.T, what string, got, want lanyard.User) {
	t.Helper()
	wantEqual(t, what, normUser(got), normUser(want))
}

func testPing(t *testing.T, s lanyard.Store) {
	must(t, s.Ping(ctxFor(t)), "ping")
	// The write probe commits, again and again, on behalf of several
	// nodes; a healthy store reports no write failure after it.
	for _, node := range []string{"node-a", "node-b", "node-a"} {
		must(t, s.ProbeWrite(ctxFor(t), node), "probe write "+node)
	}
	if err := s.WriteHealth(); err != nil {
		t.Errorf("WriteHealth after successful writes: %v, want nil", err)
	}
}

// seq names the i-th of a series.
func seq(prefix string, i int) string { return fmt.Sprintf("%s%02d", prefix, i) }
