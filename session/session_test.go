package session_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

// fixture is a migrated SQLite store with one tenant and one user.
type fixture struct {
	store  *sqlstore.DB
	clock  *testdb.Clock
	tenant lanyard.Tenant
	user   lanyard.User
	mgr    *session.Manager
}

// eachEngine runs a test on every store engine (PostgreSQL skips without
// LANYARD_TEST_POSTGRES_URL, see internal/testdb).
func eachEngine(t *testing.T, fn func(t *testing.T, engine string)) {
	for _, engine := range testdb.Engines {
		t.Run(engine, func(t *testing.T) { fn(t, engine) })
	}
}

func newFixture(t *testing.T, engine string, sso lanyard.SSOSettings) *fixture {
	t.Helper()
	ctx := context.Background()
	db := testdb.Open(t, engine).(*sqlstore.DB)
	c := testdb.NewClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	db.SetClock(c.Now)
	tenant := lanyard.Tenant{Slug: "acme", DisplayName: "Acme", SSO: sso}
	if err := db.CreateTenant(ctx, &tenant); err != nil {
		t.Fatalf("create tenant: %v", err)
	}
	user := lanyard.User{TenantID: tenant.ID, Login: "ada", LoginMethod: lanyard.LoginPassword}
	user.Normalize()
	if err := db.CreateUser(ctx, &user); err != nil {
		t.Fatalf("create user: %v", err)
	}
	return &fixture{
		store:  db,
		clock:  c,
		tenant: tenant,
		user:   user,
		mgr:    session.NewManager(db, session.Options{Now: c.Now}),
	}
}

func (f *fixture) open(t *testing.T) (string, lanyard.Session) {
	t.Helper()
	id, s, err := f.mgr.Open(context.Background(), f.tenant, f.user, lanyard.SessionPassword, session.Meta{ClientIP: "192.0.2.1", UserAgent: "test"})
	if err != nil {
		t.Fatalf("open session: %v", err)
	}
	return id, s
}

func TestOpenStoresOnlyTheHash(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{})
		id, s := f.open(t)

		if len(id) != 43 {
			t.Errorf("session ID %q: want 43 base64url characters (256 bits)", id)
		}
		stored, err := f.store.Session(context.Background(), lanyard.HashSessionID(id), f.clock.Now())
		if err != nil {
			t.Fatalf("stored session by hash: %v", err)
		}
		if string(stored.Hash) == id {
			t.Error("the store holds the session ID itself, want its hash")
		}
		if len(stored.CSRFSecret) != 32 {
			t.Errorf("CSRF secret: %d bytes, want 32", len(stored.CSRFSecret))
		}
		now := f.clock.Now()
		if got, want := s.IdleExpiresAt, now.Add(lanyard.DefaultSessionIdle); !got.Equal(want) {
			t.Errorf("idle expiry %s, want %s (default idle)", got, want)
		}
		if got, want := s.AbsExpiresAt, now.Add(lanyard.DefaultSessionAbsolute); !got.Equal(want) {
			t.Errorf("absolute expiry %s, want %s (default absolute)", got, want)
		}

		id2, _ := f.open(t)
		if id2 == id {
			t.Error("two sessions got the same ID")
		}
	})
}

func TestOpenRefusesUserOfAnotherTenant(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{})
		other := f.tenant
		other.ID++
		if _, _, err := f.mgr.Open(context.Background(), other, f.user, lanyard.SessionPassword, session.Meta{}); err == nil {
			t.Fatal("Open accepted a user of another tenant")
		}
	})
}

func TestLookupTouchesAtMostOncePerInterval(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{SessionIdle: lanyard.Duration(10 * time.Minute)})
		ctx := context.Background()
		id, opened := f.open(t)

		f.clock.Advance(30 * time.Second)
		s, err := f.mgr.Lookup(ctx, id)
		if err != nil {
			t.Fatalf("lookup after 30s: %v", err)
		}
		if !s.LastSeenAt.Equal(opened.LastSeenAt) || !s.IdleExpiresAt.Equal(opened.IdleExpiresAt) {
			t.Errorf("lookup within the touch interval wrote the session: last seen %s, idle expiry %s", s.LastSeenAt, s.IdleExpiresAt)
		}

		f.clock.Advance(31 * time.Second)
		s, err = f.mgr.Lookup(ctx, id)
		if err != nil {
			t.Fatalf("lookup after 61s: %v", err)
		}
		now := f.clock.Now()
		if !s.LastSeenAt.Equal(now) {
			t.Errorf("last seen %s, want %s after the touch interval", s.LastSeenAt, now)
		}
		if want := now.Add(10 * time.Minute); !s.IdleExpiresAt.Equal(want) {
			t.Errorf("idle expiry %s, want %s", s.IdleExpiresAt, want)
		}
		stored, err := f.store.Session(ctx, lanyard.HashSessionID(id), now)
		if err != nil {
			t.Fatal(err)
		}
		if !stored.IdleExpiresAt.Equal(s.IdleExpiresAt) {
			t.Errorf("stored idle expiry %s, want the touched %s", stored.IdleExpiresAt, s.IdleExpiresAt)
		}
	})
}

func TestLookupIdleExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{SessionIdle: lanyard.Duration(10 * time.Minute)})
		ctx := context.Background()
		id, _ := f.open(t)

		f.clock.Advance(9 * time.Minute)
		if _, err := f.mgr.Lookup(ctx, id); err != nil {
			t.Fatalf("lookup after 9 idle minutes: %v", err)
		}
		// The touch at 9 minutes moved the idle expiry to 19 minutes.
		f.clock.Advance(9 * time.Minute)
		if _, err := f.mgr.Lookup(ctx, id); err != nil {
			t.Fatalf("lookup 9 minutes after a touch: %v", err)
		}
		f.clock.Advance(10*time.Minute + time.Second)
		if _, err := f.mgr.Lookup(ctx, id); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("lookup after more than 10 idle minutes: got %v, want ErrNoSession", err)
		}
	})
}

func TestLookupAbsoluteExpiry(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{
			SessionIdle:     lanyard.Duration(30 * time.Minute),
			SessionAbsolute: lanyard.Duration(time.Hour),
		})
		ctx := context.Background()
		id, _ := f.open(t)
		for elapsed := 20 * time.Minute; elapsed < time.Hour; elapsed += 20 * time.Minute {
			f.clock.Advance(20 * time.Minute)
			s, err := f.mgr.Lookup(ctx, id)
			if err != nil {
				t.Fatalf("lookup at %s: %v", elapsed, err)
			}
			if s.IdleExpiresAt.After(s.AbsExpiresAt) {
				t.Errorf("idle expiry %s is past the absolute expiry %s", s.IdleExpiresAt, s.AbsExpiresAt)
			}
		}
		f.clock.Advance(20 * time.Minute) // one hour: activity does not help
		if _, err := f.mgr.Lookup(ctx, id); !errors.Is(err, session.ErrNoSession) {
			t.Fatalf("lookup at the absolute expiry: got %v, want ErrNoSession", err)
		}
	})
}

func TestLookupRefusesUnknownAndMalformedIDs(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{})
		ctx := context.Background()
		for _, id := range []string{"", "short", "not base64 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
			if _, err := f.mgr.Lookup(ctx, id); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("Lookup(%q): got %v, want ErrNoSession", id, err)
			}
		}
	})
}

func TestEnd(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{})
		ctx := context.Background()
		id, _ := f.open(t)
		other, _ := f.open(t)
		if err := f.mgr.End(ctx, id); err != nil {
			t.Fatalf("End: %v", err)
		}
		if _, err := f.mgr.Lookup(ctx, id); !errors.Is(err, session.ErrNoSession) {
			t.Errorf("lookup of an ended session: got %v, want ErrNoSession", err)
		}
		if err := f.mgr.End(ctx, id); err != nil {
			t.Errorf("ending twice: %v, want nil", err)
		}
		if _, err := f.mgr.Lookup(ctx, other); err != nil {
			t.Errorf("ending one session ended another: %v", err)
		}
	})
}

func TestEndAllForUser(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{})
		ctx := context.Background()
		a, _ := f.open(t)
		b, _ := f.open(t)
		n, err := f.mgr.EndAllForUser(ctx, f.user.ID)
		if err != nil {
			t.Fatalf("EndAllForUser: %v", err)
		}
		if n != 2 {
			t.Errorf("ended %d sessions, want 2", n)
		}
		for _, id := range []string{a, b} {
			if _, err := f.mgr.Lookup(ctx, id); !errors.Is(err, session.ErrNoSession) {
				t.Errorf("lookup after EndAllForUser: got %v, want ErrNoSession", err)
			}
		}
	})
}

func TestCSRFToken(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine, lanyard.SSOSettings{})
		_, s := f.open(t)
		_, other := f.open(t)
		token := session.CSRFToken(s)
		if !session.ValidCSRFToken(s, token) {
			t.Error("the session's own token is refused")
		}
		if session.ValidCSRFToken(other, token) {
			t.Error("a token of one session is accepted by another")
		}
		for _, bad := range []string{"", "x", token + "A", token[:len(token)-1]} {
			if session.ValidCSRFToken(s, bad) {
				t.Errorf("token %q accepted", bad)
			}
		}
		if session.ValidCSRFToken(lanyard.Session{}, session.CSRFToken(lanyard.Session{})) {
			t.Error("a session without a CSRF secret accepts a token")
		}
	})
}
