package main

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// fill makes the tenants, users and sessions asked for, and session i has
// the ID SessionID(i), live, held by user i mod U, an active one of tenant
// (i mod U) mod T.
func TestFillSeedsSessionsByID(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "lanyard.db")
	if err := run([]string{"fill", "-sqlite", path, "-tenants", "3", "-users", "5", "-sessions", "7"}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 7 {
		s, u, err := db.SessionHolder(ctx, lanyard.HashSessionID(SessionID(i)))
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		tenant, err := db.TenantByID(ctx, s.TenantID)
		if err != nil {
			t.Fatal(err)
		}
		if u.Status != lanyard.StatusActive || !u.WebAccess || !u.HasRole("staff") || u.TenantID != s.TenantID {
			t.Errorf("session %d: user %+v", i, u)
		}
		if want := []string{"t00000", "t00001", "t00002"}[(i%5)%3]; tenant.Slug != want {
			t.Errorf("session %d: tenant %s, want %s", i, tenant.Slug, want)
		}
	}
	if _, _, err := db.SessionHolder(ctx, lanyard.HashSessionID(SessionID(7))); err == nil {
		t.Error("session 7 exists; 7 were asked for")
	}
	if err := run([]string{"fill", "-sqlite", path, "-postgres", "postgres://127.0.0.1/x"}); err == nil {
		t.Error("two stores named: no error")
	}
}
