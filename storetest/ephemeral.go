package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

func testAuditAppendFilter(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	events := []lanyard.AuditEvent{
		{Time: t0, TenantID: 1, Actor: "bob", Action: "sso.login", Outcome: lanyard.OutcomeSuccess, UserID: 10,
			Subject: "bob", ClientIP: "192.0.2.1", Message: "welcome", Detail: map[string]string{"idp": "https://idp", "k": "v"}},
		{Time: t0.Add(time.Minute), TenantID: 1, Actor: "amy", Action: "sso.login", Outcome: lanyard.OutcomeFailure,
			Reason: "inactive", UserID: 11, Subject: "amy"},
		{Time: t0.Add(2 * time.Minute), TenantID: 2, Actor: "cli", Action: "tenant.update", Outcome: lanyard.OutcomeSuccess},
		{Time: t0.Add(3 * time.Minute), TenantID: 1, Actor: "bob", Action: "admin.login", Outcome: lanyard.OutcomeFailure,
			Reason: "bad_password", UserID: 10},
	}
	for i := range events {
		must(t, s.AppendAudit(ctx, &events[i]), "append")
		if events[i].ID == 0 {
			t.Fatal("AppendAudit did not set the ID")
		}
		if i > 0 && events[i].ID <= events[i-1].ID {
			t.Fatalf("audit IDs do not grow: %d after %d", events[i].ID, events[i-1].ID)
		}
	}
	noTime := lanyard.AuditEvent{Action: "system.start", Outcome: lanyard.OutcomeSuccess}
	must(t, s.AppendAudit(ctx, &noTime), "append without time")
	if noTime.Time.IsZero() {
		t.Fatal("AppendAudit did not set Time")
	}

	all, err := s.AuditEvents(ctx, lanyard.AuditFilter{})
	must(t, err, "all")
	wantEqual(t, "all, newest first", all, []lanyard.AuditEvent{noTime, events[3], events[2], events[1], events[0]})

	ids := func(es []lanyard.AuditEvent) []int64 {
		out := []int64{}
		for _, e := range es {
			out = append(out, e.ID)
		}
		return out
	}
	e := events
	for _, tc := range []struct {
		name   string
		filter lanyard.AuditFilter
		want   []int64
	}{
		{"tenant", lanyard.AuditFilter{TenantID: 1}, []int64{e[3].ID, e[1].ID, e[0].ID}},
		{"user", lanyard.AuditFilter{UserID: 10}, []int64{e[3].ID, e[0].ID}},
		{"action", lanyard.AuditFilter{Action: "sso.login"}, []int64{e[1].ID, e[0].ID}},
		{"outcome", lanyard.AuditFilter{Outcome: lanyard.OutcomeFailure}, []int64{e[3].ID, e[1].ID}},
		{"reason", lanyard.AuditFilter{Reason: "inactive"}, []int64{e[1].ID}},
		{"since (inclusive)", lanyard.AuditFilter{TenantID: 1, Since: t0.Add(time.Minute)}, []int64{e[3].ID, e[1].ID}},
		{"until", lanyard.AuditFilter{TenantID: 1, Until: t0.Add(90 * time.Second)}, []int64{e[1].ID, e[0].ID}},
		{"window", lanyard.AuditFilter{Since: t0.Add(30 * time.Second), Until: t0.Add(150 * time.Second)}, []int64{e[2].ID, e[1].ID}},
		{"limit", lanyard.AuditFilter{TenantID: 1, Limit: 2}, []int64{e[3].ID, e[1].ID}},
		{"before id", lanyard.AuditFilter{TenantID: 1, BeforeID: e[3].ID}, []int64{e[1].ID, e[0].ID}},
		{"combined", lanyard.AuditFilter{TenantID: 1, UserID: 10, Outcome: lanyard.OutcomeSuccess}, []int64{e[0].ID}},
		{"no match", lanyard.AuditFilter{TenantID: 3}, []int64{}},
	} {
		got, err := s.AuditEvents(ctx, tc.filter)
		must(t, err, tc.name)
		wantEqual(t, "audit "+tc.name, ids(got), tc.want)
	}
}

func testAuditPaging(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	const total = 105
	for i := 0; i < total; i++ {
		ev := lanyard.AuditEvent{Time: t0.Add(time.Duration(i) * time.Second), TenantID: 1, Action: "sso.login",
			Outcome: lanyard.OutcomeSuccess, Subject: seq("user", i)}
		must(t, s.AppendAudit(ctx, &ev), "append")
	}
	page, err := s.AuditEvents(ctx, lanyard.AuditFilter{})
	must(t, err, "default page")
	wantInt(t, "default page size", len(page), 100)
	// Page through 40 at a time with BeforeID: every event once, newest first.
	seen := 0
	var before int64
	for {
		page, err := s.AuditEvents(ctx, lanyard.AuditFilter{TenantID: 1, Limit: 40, BeforeID: before})
		must(t, err, "page")
		if len(page) == 0 {
			break
		}
		for _, ev := range page {
			if want := seq("user", total-1-seen); ev.Subject != want {
				t.Fatalf("event %d: subject %q, want %q", seen, ev.Subject, want)
			}
			seen++
		}
		before = page[len(page)-1].ID
	}
	wantInt(t, "events paged", seen, total)
}

func testReplayCache(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	exp := t0.Add(5 * time.Minute)
	first, err := s.MarkAssertionUsed(ctx, "_a1", exp, t0)
	must(t, err, "first use")
	if !first {
		t.Fatal("first use reported as a replay")
	}
	again, err := s.MarkAssertionUsed(ctx, "_a1", exp, t0.Add(time.Minute))
	must(t, err, "second use")
	if again {
		t.Fatal("replay not detected")
	}
	other, err := s.MarkAssertionUsed(ctx, "_a2", exp, t0)
	must(t, err, "other id")
	if !other {
		t.Fatal("another ID reported as a replay")
	}
	// After expiry the ID is forgotten: a new use is a first use, and it is
	// remembered until the new expiry.
	later := exp.Add(time.Second)
	reuse, err := s.MarkAssertionUsed(ctx, "_a1", later.Add(5*time.Minute), later)
	must(t, err, "use after expiry")
	if !reuse {
		t.Fatal("use after expiry reported as a replay")
	}
	again, err = s.MarkAssertionUsed(ctx, "_a1", later.Add(5*time.Minute), later.Add(time.Minute))
	must(t, err, "replay after renewal")
	if again {
		t.Fatal("replay after renewal not detected")
	}

	n, err := s.PurgeReplay(ctx, later)
	must(t, err, "purge")
	wantInt(t, "purged (only _a2 expired)", n, 1)
	fresh, err := s.MarkAssertionUsed(ctx, "_a2", later.Add(time.Hour), later)
	must(t, err, "use after purge")
	if !fresh {
		t.Fatal("purged ID reported as a replay")
	}
}

func testPendingRequests(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	r := lanyard.PendingRequest{ID: "_req1", TenantID: 1, IdPEntityID: "https://idp", ReturnTo: "/app?x=1",
		Binding: []byte{9, 8, 7}, Passive: true, CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	must(t, s.SavePendingRequest(ctx, &r), "save")
	dup := r
	wantErr(t, s.SavePendingRequest(ctx, &dup), lanyard.ErrConflict, "duplicate ID")

	got, err := s.TakePendingRequest(ctx, r.ID, t0.Add(time.Minute))
	must(t, err, "take")
	wantEqual(t, "take", got, r)
	_, err = s.TakePendingRequest(ctx, r.ID, t0.Add(time.Minute))
	wantErr(t, err, lanyard.ErrNotFound, "second take")
	_, err = s.TakePendingRequest(ctx, "_unknown", t0)
	wantErr(t, err, lanyard.ErrNotFound, "take unknown")

	exp := lanyard.PendingRequest{ID: "_req2", TenantID: 1, ExpiresAt: t0.Add(time.Minute)}
	must(t, s.SavePendingRequest(ctx, &exp), "save short-lived")
	if exp.CreatedAt.IsZero() {
		t.Fatal("SavePendingRequest did not set CreatedAt")
	}
	_, err = s.TakePendingRequest(ctx, exp.ID, t0.Add(time.Minute))
	wantErr(t, err, lanyard.ErrNotFound, "take at expiry")

	for i, ttl := range []time.Duration{-time.Minute, -time.Second, time.Minute} {
		x := lanyard.PendingRequest{ID: seq("_p", i), ExpiresAt: t0.Add(ttl)}
		must(t, s.SavePendingRequest(ctx, &x), "save for purge")
	}
	for _, tc := range []struct{ limit, want int }{{10, 3}, {3, 3}, {2, 2}, {1, 1}} {
		live, err := s.CountPendingRequests(ctx, t0.Add(-2*time.Minute), tc.limit)
		must(t, err, "count")
		wantInt(t, fmt.Sprintf("live requests counted up to %d", tc.limit), live, tc.want)
	}
	live, err := s.CountPendingRequests(ctx, t0, 10)
	must(t, err, "count")
	wantInt(t, "live requests at t0", live, 1)
	n, err := s.PurgePendingRequests(ctx, t0)
	must(t, err, "purge")
	wantInt(t, "purged", n, 2)
	_, err = s.TakePendingRequest(ctx, seq("_p", 2), t0)
	must(t, err, "live request survives the purge")
}

func testTokens(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob")
	tok := lanyard.OneTimeToken{Hash: []byte("hash-1"), Purpose: "password-reset", UserID: u.ID,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.SaveToken(ctx, &tok), "save")
	dup := tok
	wantErr(t, s.SaveToken(ctx, &dup), lanyard.ErrConflict, "duplicate hash")

	_, err := s.TakeToken(ctx, tok.Hash, "invite", t0)
	wantErr(t, err, lanyard.ErrNotFound, "take with another purpose")
	got, err := s.TakeToken(ctx, tok.Hash, tok.Purpose, t0.Add(time.Minute))
	must(t, err, "take (the wrong purpose did not consume it)")
	wantEqual(t, "take", got, tok)
	_, err = s.TakeToken(ctx, tok.Hash, tok.Purpose, t0.Add(time.Minute))
	wantErr(t, err, lanyard.ErrNotFound, "second take")

	exp := lanyard.OneTimeToken{Hash: []byte("hash-2"), Purpose: "password-reset", UserID: u.ID, ExpiresAt: t0}
	must(t, s.SaveToken(ctx, &exp), "save expiring")
	_, err = s.TakeToken(ctx, exp.Hash, exp.Purpose, t0)
	wantErr(t, err, lanyard.ErrNotFound, "take at expiry")
	_, err = s.TakeToken(ctx, []byte("unknown"), "password-reset", t0)
	wantErr(t, err, lanyard.ErrNotFound, "take unknown")

	// DeleteUserTokens: the user's tokens of the purpose, no others.
	other := mkUser(t, s, a.ID, "carol")
	for i, x := range []struct {
		user    int64
		purpose string
	}{{u.ID, "password-reset"}, {u.ID, "password-reset"}, {u.ID, "autologin"}, {other.ID, "password-reset"}} {
		must(t, s.SaveToken(ctx, &lanyard.OneTimeToken{Hash: []byte(seq("h", i)), Purpose: x.purpose, UserID: x.user, ExpiresAt: t0.Add(time.Hour)}), "save")
	}
	n, err := s.DeleteUserTokens(ctx, u.ID, "password-reset")
	must(t, err, "delete user tokens")
	wantInt(t, "reset tokens deleted", n, 2)
	for i, live := range []bool{false, false, true, true} {
		purpose := []string{"password-reset", "password-reset", "autologin", "password-reset"}[i]
		_, err := s.TakeToken(ctx, []byte(seq("h", i)), purpose, t0)
		if live {
			must(t, err, "token kept "+seq("h", i))
		} else {
			wantErr(t, err, lanyard.ErrNotFound, "token deleted "+seq("h", i))
		}
	}
}

func testThrottle(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	for i := 0; i < 5; i++ {
		must(t, s.RecordFailure(ctx, "user:bob", t0.Add(time.Duration(i)*time.Minute)), "record")
	}
	must(t, s.RecordFailure(ctx, "ip:192.0.2.1", t0), "record other key")
	count := func(key string, since time.Time, want int) {
		t.Helper()
		n, err := s.Failures(ctx, key, since)
		must(t, err, "failures")
		wantInt(t, "failures of "+key+" since "+since.Format(time.TimeOnly), n, want)
	}
	count("user:bob", t0, 5)
	count("user:bob", t0.Add(2*time.Minute), 3) // inclusive
	count("user:bob", t0.Add(10*time.Minute), 0)
	count("user:nobody", t0, 0)

	n, err := s.PurgeFailures(ctx, t0.Add(2*time.Minute))
	must(t, err, "purge")
	wantInt(t, "purged (older than the cut, all keys)", n, 3)
	count("user:bob", t0, 3)
	count("ip:192.0.2.1", t0, 0)

	must(t, s.ClearFailures(ctx, "user:bob"), "clear")
	count("user:bob", t0, 0)
	must(t, s.ClearFailures(ctx, "user:nobody"), "clear unknown key")

	// ClearFailuresWithPrefix: keys starting with the prefix, whatever
	// characters follow (LIKE wildcards included), no others.
	for _, key := range []string{"acct:1:a_b|from:1", "acct:1:a_b|from:2", "acct:1:a_b", "acct:1:aXb|from:1", "acct:1:a_b%|from:1", "acct:10:a_b|from:1"} {
		must(t, s.RecordFailure(ctx, key, t0.Add(5*time.Minute)), "record "+key)
	}
	must(t, s.ClearFailuresWithPrefix(ctx, "acct:1:a_b|from:"), "clear with prefix")
	for key, want := range map[string]int{"acct:1:a_b|from:1": 0, "acct:1:a_b|from:2": 0, "acct:1:a_b": 1, "acct:1:aXb|from:1": 1, "acct:1:a_b%|from:1": 1, "acct:10:a_b|from:1": 1} {
		count(key, t0, want)
	}
}
