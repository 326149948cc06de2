package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

func testSessionCreateGet(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob")
	sess := lanyard.Session{
		Hash: lanyard.HashSessionID("id-1"), TenantID: a.ID, UserID: u.ID, Kind: lanyard.SessionSSO,
		IdPEntityID: "https://idp", NameID: "bob@idp", NameIDFormat: "urn:format", SessionIndex: "_idx1",
		CreatedAt: t0, LastSeenAt: t0, IdleExpiresAt: t0.Add(time.Hour), AbsExpiresAt: t0.Add(8 * time.Hour),
		ClientIP: "192.0.2.1", UserAgent: "Mozilla/5.0", LastRefreshAt: t0, CSRFSecret: []byte{1, 2, 3, 0, 255},
	}
	must(t, s.CreateSession(ctx, &sess), "create")
	got, err := s.Session(ctx, sess.Hash, t0)
	must(t, err, "get")
	wantEqual(t, "get", got, sess)
	got, err = s.Session(ctx, sess.Hash, t0.Add(time.Hour-time.Nanosecond))
	must(t, err, "get just before idle expiry")
	wantEqual(t, "get just before idle expiry", got, sess)

	_, err = s.Session(ctx, sess.Hash, t0.Add(time.Hour))
	wantErr(t, err, lanyard.ErrNotFound, "get at idle expiry")
	_, err = s.Session(ctx, lanyard.HashSessionID("other"), t0)
	wantErr(t, err, lanyard.ErrNotFound, "get unknown")

	// The absolute expiry applies even when the idle one is later.
	abs := mkSession(t, s, u, "id-2", t0.Add(10*time.Hour), t0.Add(2*time.Hour))
	_, err = s.Session(ctx, abs.Hash, t0.Add(3*time.Hour))
	wantErr(t, err, lanyard.ErrNotFound, "get after absolute expiry")

	dup := sess
	wantErr(t, s.CreateSession(ctx, &dup), lanyard.ErrConflict, "duplicate hash")

	// A password session, without SSO fields or CSRF secret.
	pw := lanyard.Session{Hash: lanyard.HashSessionID("pw"), TenantID: a.ID, UserID: u.ID, Kind: lanyard.SessionPassword,
		IdleExpiresAt: t0.Add(time.Hour), AbsExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, &pw), "create password session")
	if pw.CreatedAt.IsZero() {
		t.Fatal("CreateSession did not set CreatedAt")
	}
	got, err = s.Session(ctx, pw.Hash, t0)
	must(t, err, "get password session")
	wantEqual(t, "password session", got, pw)
}

func testSessionUpdate(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob")
	sess := mkSession(t, s, u, "id-1", t0.Add(time.Hour), t0.Add(8*time.Hour))

	later := t0.Add(50 * time.Minute)
	got, err := s.UpdateSession(ctx, sess.Hash, func(x *lanyard.Session) error {
		x.LastSeenAt = later
		x.IdleExpiresAt = later.Add(time.Hour)
		x.LastRefreshAt = later
		x.SessionIndex = "_idx2"
		x.UserID = 9999 // ignored: a session stays with its user
		return nil
	})
	must(t, err, "update")
	sameTime(t, "LastSeenAt", got.LastSeenAt, later)
	if got.UserID != u.ID || got.SessionIndex != "_idx2" {
		t.Fatalf("update result: %+v", got)
	}
	// The idle expiry moved: the session lives past the old one.
	read, err := s.Session(ctx, sess.Hash, t0.Add(90*time.Minute))
	must(t, err, "get after extension")
	wantEqual(t, "read back", read, got)

	_, err = s.UpdateSession(ctx, lanyard.HashSessionID("nope"), func(*lanyard.Session) error { return nil })
	wantErr(t, err, lanyard.ErrNotFound, "update unknown")
}

func testSessionDelete(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	bob := mkUser(t, s, a.ID, "bob")
	amy := mkUser(t, s, a.ID, "amy")
	idle, abs := t0.Add(time.Hour), t0.Add(2*time.Hour)

	s1 := mkSession(t, s, bob, "b1", idle, abs)
	must(t, s.DeleteSession(ctx, s1.Hash), "delete")
	_, err := s.Session(ctx, s1.Hash, t0)
	wantErr(t, err, lanyard.ErrNotFound, "deleted session")
	must(t, s.DeleteSession(ctx, s1.Hash), "delete absent session")

	mkSession(t, s, bob, "b2", idle, abs)
	mkSession(t, s, bob, "b3", idle, abs)
	expired := mkSession(t, s, bob, "b4", t0.Add(-time.Minute), abs)
	mkSession(t, s, amy, "a1", idle, abs)
	live, err := s.UserSessions(ctx, bob.ID, t0)
	must(t, err, "user sessions")
	wantInt(t, "live sessions of bob", len(live), 2)
	for _, x := range live {
		if x.UserID != bob.ID || string(x.Hash) == string(expired.Hash) {
			t.Fatalf("UserSessions returned %+v", x)
		}
	}
	n, err := s.DeleteUserSessions(ctx, bob.ID)
	must(t, err, "delete user sessions")
	wantInt(t, "deleted sessions of bob (expired included)", n, 3)
	live, err = s.UserSessions(ctx, bob.ID, t0)
	must(t, err, "user sessions after delete")
	wantInt(t, "sessions of bob after delete", len(live), 0)
	live, err = s.UserSessions(ctx, amy.ID, t0)
	must(t, err, "sessions of amy")
	wantInt(t, "sessions of amy", len(live), 1)

	// By NameID: with a session index, only that session; without, all.
	mk := func(id, nameID, index string) {
		x := lanyard.Session{Hash: lanyard.HashSessionID(id), TenantID: a.ID, UserID: bob.ID, Kind: lanyard.SessionSSO,
			IdPEntityID: "https://idp", NameID: nameID, SessionIndex: index, IdleExpiresAt: idle, AbsExpiresAt: abs}
		must(t, s.CreateSession(ctx, &x), "create "+id)
	}
	mk("n1", "bob@idp", "i1")
	mk("n2", "bob@idp", "i2")
	mk("n3", "bob@idp", "i3")
	mk("n4", "other@idp", "i1")
	n, err = s.DeleteSessionsByNameID(ctx, a.ID, "https://idp", "bob@idp", "i2")
	must(t, err, "delete by name id and index")
	wantInt(t, "deleted by index", n, 1)
	_, err = s.Session(ctx, lanyard.HashSessionID("n2"), t0)
	wantErr(t, err, lanyard.ErrNotFound, "session of the index")
	n, err = s.DeleteSessionsByNameID(ctx, a.ID, "https://idp", "bob@idp", "")
	must(t, err, "delete by name id")
	wantInt(t, "deleted by name id", n, 2)
	n, err = s.DeleteSessionsByNameID(ctx, a.ID, "https://other-idp", "other@idp", "")
	must(t, err, "delete by name id of another idp")
	wantInt(t, "deleted by name id of another idp", n, 0)
	_, err = s.Session(ctx, lanyard.HashSessionID("n4"), t0)
	must(t, err, "session of another NameID survives")
}

func testSessionPurge(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob")
	mkSession(t, s, u, "idle-gone", t0.Add(-time.Second), t0.Add(time.Hour))
	mkSession(t, s, u, "abs-gone", t0.Add(time.Hour), t0)
	live := mkSession(t, s, u, "live", t0.Add(time.Hour), t0.Add(time.Hour))
	n, err := s.PurgeExpiredSessions(ctx, t0)
	must(t, err, "purge")
	wantInt(t, "purged", n, 2)
	_, err = s.Session(ctx, live.Hash, t0)
	must(t, err, "live session survives")
	n, err = s.PurgeExpiredSessions(ctx, t0)
	must(t, err, "purge again")
	wantInt(t, "purged again", n, 0)
}

// testSessionPurgeAfterActivity: activity moves a session's expiry, and
// the purge honours the moved expiry whatever it indexed when the session
// was written; a session active past its first expiry is purged at its
// new one, and an idle expiry cannot outlive the absolute one.
func testSessionPurgeAfterActivity(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	activity, ok := s.(interface {
		RecordSessionActivity(ctx context.Context, activity []lanyard.SessionActivity) error
	})
	if !ok {
		t.Fatalf("%T does not record session activity", s)
	}
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob")
	active := mkSession(t, s, u, "active", t0.Add(time.Hour), t0.Add(10*time.Hour))
	idle := mkSession(t, s, u, "idle", t0.Add(time.Hour), t0.Add(10*time.Hour))
	capped := mkSession(t, s, u, "capped", t0.Add(time.Hour), t0.Add(90*time.Minute))
	must(t, activity.RecordSessionActivity(ctx, []lanyard.SessionActivity{
		{Hash: active.Hash, LastSeenAt: t0.Add(50 * time.Minute), IdleExpiresAt: t0.Add(110 * time.Minute)},
		{Hash: capped.Hash, LastSeenAt: t0.Add(50 * time.Minute), IdleExpiresAt: t0.Add(90 * time.Minute)},
	}), "record activity")

	// Past the first expiry: only the session without activity has gone.
	at := t0.Add(80 * time.Minute)
	n, err := s.PurgeExpiredSessions(ctx, at)
	must(t, err, "purge past the first expiry")
	wantInt(t, "purged past the first expiry", n, 1)
	_, err = s.Session(ctx, idle.Hash, at)
	wantErr(t, err, lanyard.ErrNotFound, "idle session")
	for _, x := range []lanyard.Session{active, capped} {
		got, err := s.Session(ctx, x.Hash, at)
		must(t, err, "active session past its first expiry")
		if !got.LastSeenAt.Equal(t0.Add(50 * time.Minute)) {
			t.Fatalf("session last seen %v, want the recorded activity", got.LastSeenAt)
		}
	}
	n, err = s.PurgeExpiredSessions(ctx, at)
	must(t, err, "purge again")
	wantInt(t, "purged again", n, 0)

	// The absolute expiry ends the capped session; the other lives on.
	at = t0.Add(100 * time.Minute)
	n, err = s.PurgeExpiredSessions(ctx, at)
	must(t, err, "purge past the absolute expiry")
	wantInt(t, "purged past the absolute expiry", n, 1)
	_, err = s.Session(ctx, capped.Hash, at)
	wantErr(t, err, lanyard.ErrNotFound, "capped session")
	_, err = s.Session(ctx, active.Hash, at)
	must(t, err, "active session before its new expiry")

	// Its new idle expiry ends the active one, purge or not.
	at = t0.Add(110 * time.Minute)
	_, err = s.Session(ctx, active.Hash, at)
	wantErr(t, err, lanyard.ErrNotFound, "active session at its new expiry")
	live, err := s.UserSessions(ctx, u.ID, at)
	must(t, err, "user sessions at the new expiry")
	wantInt(t, "live sessions at the new expiry", len(live), 0)
	n, err = s.PurgeExpiredSessions(ctx, at)
	must(t, err, "purge at the new expiry")
	wantInt(t, "purged at the new expiry", n, 1)
}

// testSessionCopies: a copy made for an application's host keeps its
// origin and parent through updates, and ends with its parent, however
// the parent ends; DeleteSessionsByNameID does not count it.
func testSessionCopies(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	bob := mkUser(t, s, a.ID, "bob")
	idle, abs := t0.Add(time.Hour), t0.Add(2*time.Hour)
	mkCopy := func(parent lanyard.Session, id, origin string) lanyard.Session {
		t.Helper()
		c := parent
		c.Hash, c.Origin, c.ParentHash, c.CSRFSecret = lanyard.HashSessionID(id), origin, parent.Hash, nil
		must(t, s.CreateSession(ctx, &c), "create copy "+id)
		return c
	}
	for _, end := range []struct {
		name string
		end  func(parent lanyard.Session)
	}{
		{"DeleteSession", func(p lanyard.Session) { must(t, s.DeleteSession(ctx, p.Hash), "delete parent") }},
		{"DeleteSessionsByNameID", func(p lanyard.Session) {
			n, err := s.DeleteSessionsByNameID(ctx, a.ID, p.IdPEntityID, p.NameID, p.SessionIndex)
			must(t, err, "delete by name id")
			wantInt(t, "sessions ended by name id (copies not counted)", n, 1)
		}},
		{"DeleteUserSessions", func(p lanyard.Session) {
			_, err := s.DeleteUserSessions(ctx, bob.ID)
			must(t, err, "delete user sessions")
		}},
	} {
		parent := mkSession(t, s, bob, "p-"+end.name, idle, abs)
		copy1 := mkCopy(parent, "c1-"+end.name, "https://app.example.com")
		copy2 := mkCopy(parent, "c2-"+end.name, "https://wiki.example.com:8443")
		got, err := s.Session(ctx, copy1.Hash, t0)
		must(t, err, "read copy")
		if got.Origin != "https://app.example.com" || string(got.ParentHash) != string(parent.Hash) {
			t.Fatalf("copy read back with origin %q, parent %x", got.Origin, got.ParentHash)
		}
		got, err = s.UpdateSession(ctx, copy1.Hash, func(x *lanyard.Session) error {
			x.Origin, x.ParentHash = "https://evil.example.com", nil
			return nil
		})
		must(t, err, "update copy")
		if got.Origin != "https://app.example.com" || string(got.ParentHash) != string(parent.Hash) {
			t.Fatalf("an update changed the copy's origin or parent: %q %x", got.Origin, got.ParentHash)
		}
		if got, _ := s.Session(ctx, parent.Hash, t0); got.Origin != "" || got.ParentHash != nil {
			t.Fatalf("the original reads back as a copy: %q %x", got.Origin, got.ParentHash)
		}
		end.end(parent)
		for _, c := range []lanyard.Session{copy1, copy2} {
			_, err := s.Session(ctx, c.Hash, t0)
			wantErr(t, err, lanyard.ErrNotFound, "copy after "+end.name+" of its original")
		}
	}
}

// A session written with its login's audit event: both, or neither when
// the session cannot be written; in a transaction, both commit or roll
// back with it.
func testCreateSessionWithAudit(t *testing.T, s lanyard.Store) {
	creator, ok := s.(lanyard.SessionAuditCreator)
	if !ok {
		t.Skip("the store does not write sessions with their audit events")
	}
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob")
	session := func(id string) lanyard.Session {
		return lanyard.Session{
			Hash: lanyard.HashSessionID(id), TenantID: a.ID, UserID: u.ID, Kind: lanyard.SessionSSO,
			IdPEntityID: "https://idp", NameID: "bob@idp", SessionIndex: "_idx-" + id,
			CreatedAt: t0, LastSeenAt: t0, IdleExpiresAt: t0.Add(time.Hour), AbsExpiresAt: t0.Add(8 * time.Hour),
			ClientIP: "192.0.2.1", LastRefreshAt: t0, CSRFSecret: []byte{1, 2, 3},
		}
	}
	event := func(msg string) lanyard.AuditEvent {
		return lanyard.AuditEvent{TenantID: a.ID, Time: t0, Actor: "bob", Action: "sso.login", Outcome: lanyard.OutcomeSuccess,
			UserID: u.ID, Subject: "bob", ClientIP: "192.0.2.1", Message: msg, Detail: map[string]string{"found_by": "link"}}
	}
	events := func() []lanyard.AuditEvent {
		t.Helper()
		es, err := s.AuditEvents(ctx, lanyard.AuditFilter{TenantID: a.ID})
		must(t, err, "audit events")
		return es
	}

	sess, e := session("one"), event("first")
	must(t, creator.CreateSessionWithAudit(ctx, &sess, &e), "create")
	got, err := s.Session(ctx, sess.Hash, t0)
	must(t, err, "the session")
	wantEqual(t, "the session", got, sess)
	if es := events(); len(es) != 1 || e.ID == 0 || es[0].ID != e.ID || es[0].Message != "first" || es[0].Detail["found_by"] != "link" || es[0].UserID != u.ID {
		t.Fatalf("events %+v, id %d", es, e.ID)
	}

	// The session exists: neither is written.
	dup, e2 := session("one"), event("second")
	wantErr(t, creator.CreateSessionWithAudit(ctx, &dup, &e2), lanyard.ErrConflict, "duplicate session")
	// An account that does not exist: neither is written.
	orphan, e3 := session("orphan"), event("third")
	orphan.UserID = u.ID + 1000
	wantKind(t, creator.CreateSessionWithAudit(ctx, &orphan, &e3), lanyard.KindInvalid, "session of no account")
	wantInt(t, "events after the refused writes", len(events()), 1)

	// In a transaction: rolled back with it, committed with it.
	rolledBack := session("rolled-back")
	err = s.Atomic(ctx, func(tx lanyard.Store) error {
		e := event("rolled back")
		if err := tx.(lanyard.SessionAuditCreator).CreateSessionWithAudit(ctx, &rolledBack, &e); err != nil {
			return err
		}
		return lanyard.ErrNotFound
	})
	wantErr(t, err, lanyard.ErrNotFound, "the transaction's own error")
	_, err = s.Session(ctx, rolledBack.Hash, t0)
	wantErr(t, err, lanyard.ErrNotFound, "the rolled-back session")
	committed, e4 := session("committed"), event("committed")
	must(t, s.Atomic(ctx, func(tx lanyard.Store) error {
		return tx.(lanyard.SessionAuditCreator).CreateSessionWithAudit(ctx, &committed, &e4)
	}), "transaction")
	_, err = s.Session(ctx, committed.Hash, t0)
	must(t, err, "the committed session")
	if es := events(); len(es) != 2 || es[0].ID != e4.ID || es[0].Message != "committed" {
		t.Fatalf("events after the transactions: %+v", es)
	}
}
