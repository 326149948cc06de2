package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

var errAbort = errors.New("abort")

func testAtomicRollback(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	before, err := s.ConfigVersion(ctx)
	must(t, err, "config version")
	err = s.Atomic(ctx, func(tx lanyard.Store) error {
		tn := lanyard.Tenant{Slug: "ghost", EmailDomains: []string{"ghost.example"}}
		if err := tx.CreateTenant(ctx, &tn); err != nil {
			return err
		}
		u := lanyard.User{TenantID: tn.ID, Login: "casper", Status: lanyard.StatusActive}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		if err := tx.LinkUser(ctx, lanyard.Link{TenantID: tn.ID, UserID: u.ID, IdPEntityID: "https://idp", NameID: "c"}); err != nil {
			return err
		}
		// Reads inside the transaction see its own writes.
		if _, err := tx.UserByLogin(ctx, tn.ID, "CASPER"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Atomic: got %v, want the function's error", err)
	}
	_, err = s.Tenant(ctx, "ghost")
	wantErr(t, err, lanyard.ErrNotFound, "tenant of a rolled back transaction")
	_, err = s.TenantByEmailDomain(ctx, "ghost.example")
	wantErr(t, err, lanyard.ErrNotFound, "domain of a rolled back transaction")
	n, err := s.CountUsers(ctx, lanyard.UserFilter{})
	must(t, err, "count users")
	wantInt(t, "users after rollback", n, 0)
	after, err := s.ConfigVersion(ctx)
	must(t, err, "config version after rollback")
	if after != before {
		t.Fatalf("config version after a rolled back transaction: %d, was %d", after, before)
	}
}

func testAtomicCommit(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	var tn lanyard.Tenant
	var u lanyard.User
	err := s.Atomic(ctx, func(tx lanyard.Store) error {
		tn = lanyard.Tenant{Slug: "real"}
		if err := tx.CreateTenant(ctx, &tn); err != nil {
			return err
		}
		u = lanyard.User{TenantID: tn.ID, Login: "bob", Status: lanyard.StatusActive}
		if err := tx.CreateUser(ctx, &u); err != nil {
			return err
		}
		if _, err := tx.UpdateUser(ctx, u.ID, func(x *lanyard.User) error { x.FirstName = "Bob"; return nil }); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, &lanyard.AuditEvent{TenantID: tn.ID, UserID: u.ID, Action: "user.create"})
	})
	must(t, err, "atomic")
	got, err := s.UserByLogin(ctx, tn.ID, "bob")
	must(t, err, "user after commit")
	if got.FirstName != "Bob" {
		t.Fatalf("update inside the transaction lost: %+v", got)
	}
	events, err := s.AuditEvents(ctx, lanyard.AuditFilter{TenantID: tn.ID})
	must(t, err, "audit after commit")
	wantInt(t, "audit events after commit", len(events), 1)
}

func testAtomicNested(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	// A nested call joins the outer transaction: when the outer one fails,
	// the inner one's changes go too.
	err := s.Atomic(ctx, func(tx lanyard.Store) error {
		tn := lanyard.Tenant{Slug: "outer"}
		if err := tx.CreateTenant(ctx, &tn); err != nil {
			return err
		}
		err := tx.Atomic(ctx, func(inner lanyard.Store) error {
			u := lanyard.User{TenantID: tn.ID, Login: "inner", Status: lanyard.StatusActive}
			return inner.CreateUser(ctx, &u)
		})
		if err != nil {
			return err
		}
		// The outer transaction sees the inner one's work.
		if _, err := tx.UserByLogin(ctx, tn.ID, "inner"); err != nil {
			return fmt.Errorf("inner write not visible: %w", err)
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("nested Atomic: got %v, want the outer function's error", err)
	}
	_, err = s.Tenant(ctx, "outer")
	wantErr(t, err, lanyard.ErrNotFound, "outer tenant after rollback")
	n, err := s.CountUsers(ctx, lanyard.UserFilter{})
	must(t, err, "count")
	wantInt(t, "inner user after outer rollback", n, 0)

	// Both kept on success; an inner failure that the outer function
	// returns rolls everything back.
	err = s.Atomic(ctx, func(tx lanyard.Store) error {
		tn := lanyard.Tenant{Slug: "kept"}
		if err := tx.CreateTenant(ctx, &tn); err != nil {
			return err
		}
		return tx.Atomic(ctx, func(inner lanyard.Store) error {
			u := lanyard.User{TenantID: tn.ID, Login: "kept-user", Status: lanyard.StatusActive}
			return inner.CreateUser(ctx, &u)
		})
	})
	must(t, err, "nested success")
	kept, err := s.Tenant(ctx, "kept")
	must(t, err, "kept tenant")
	_, err = s.UserByLogin(ctx, kept.ID, "kept-user")
	must(t, err, "kept user")

	err = s.Atomic(ctx, func(tx lanyard.Store) error {
		tn := lanyard.Tenant{Slug: "doomed"}
		if err := tx.CreateTenant(ctx, &tn); err != nil {
			return err
		}
		return tx.Atomic(ctx, func(inner lanyard.Store) error { return errAbort })
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("inner failure: got %v, want the inner function's error", err)
	}
	_, err = s.Tenant(ctx, "doomed")
	wantErr(t, err, lanyard.ErrNotFound, "tenant after inner failure")
}

// testAtomicConflictInside checks that a conflict inside a transaction can
// be handled there, as a first login does: on PostgreSQL a failed statement
// would otherwise abort the whole transaction.
func testAtomicConflictInside(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	bob := mkUser(t, s, a.ID, "bob")
	err := s.Atomic(ctx, func(tx lanyard.Store) error {
		dup := lanyard.User{TenantID: a.ID, Login: "BOB", Status: lanyard.StatusActive}
		if err := tx.CreateUser(ctx, &dup); !errors.Is(err, lanyard.ErrConflict) {
			return fmt.Errorf("create duplicate: got %v, want ErrConflict", err)
		}
		u, err := tx.UserByLogin(ctx, a.ID, "bob")
		if err != nil {
			return fmt.Errorf("read after conflict: %w", err)
		}
		l := lanyard.Link{TenantID: a.ID, UserID: u.ID, IdPEntityID: "https://idp", NameID: "bob"}
		if err := tx.LinkUser(ctx, l); err != nil {
			return err
		}
		if err := tx.LinkUser(ctx, l); !errors.Is(err, lanyard.ErrConflict) {
			return fmt.Errorf("link twice: got %v, want ErrConflict", err)
		}
		_, err = tx.UpdateUser(ctx, u.ID, func(x *lanyard.User) error { x.LastLoginAt = t0; return nil })
		return err
	})
	must(t, err, "transaction with handled conflicts")
	got, err := s.UserByLink(ctx, a.ID, "https://idp", "bob")
	must(t, err, "link after commit")
	wantInt(t, "linked user", int(got.ID), int(bob.ID))
	sameTime(t, "LastLoginAt after commit", got.LastLoginAt, t0)
}

func testAtomicUpdateInside(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob")
	sess := mkSession(t, s, u, "s1", t0.Add(time.Hour), t0.Add(2*time.Hour))
	c := lanyard.IdPConnection{TenantID: a.ID, EntityID: "https://idp"}
	must(t, s.PutIdP(ctx, &c), "put idp")
	err := s.Atomic(ctx, func(tx lanyard.Store) error {
		if _, err := tx.UpdateTenant(ctx, a.ID, func(x *lanyard.Tenant) error { x.DisplayName = "changed"; return nil }); err != nil {
			return err
		}
		if _, err := tx.UpdateIdP(ctx, c.ID, func(x *lanyard.IdPConnection) error { x.RefreshError = "changed"; return nil }); err != nil {
			return err
		}
		if _, err := tx.UpdateSession(ctx, sess.Hash, func(x *lanyard.Session) error { x.ClientIP = "changed"; return nil }); err != nil {
			return err
		}
		if _, err := tx.UpdateUser(ctx, u.ID, func(x *lanyard.User) error { x.FirstName = "changed"; return nil }); err != nil {
			return err
		}
		return errAbort
	})
	if !errors.Is(err, errAbort) {
		t.Fatalf("Atomic: got %v, want the function's error", err)
	}
	tn, err := s.TenantByID(ctx, a.ID)
	must(t, err, "tenant")
	gotC, err := s.IdP(ctx, a.ID, c.EntityID)
	must(t, err, "idp")
	gotS, err := s.Session(ctx, sess.Hash, t0)
	must(t, err, "session")
	gotU, err := s.User(ctx, u.ID)
	must(t, err, "user")
	if tn.DisplayName == "changed" || gotC.RefreshError == "changed" || gotS.ClientIP == "changed" || gotU.FirstName == "changed" {
		t.Fatal("updates inside a rolled back transaction were kept")
	}
}

// firstLogin is what the login service does when an identity logs in for
// the first time: find the account by link, then by login, else create it,
// then link it; losing a race to another node is not an error.
func firstLogin(ctx context.Context, s lanyard.Store, tenantID int64, entityID, nameID, login string) (int64, error) {
	u, err := s.UserByLink(ctx, tenantID, entityID, nameID)
	if err == nil {
		return u.ID, nil
	}
	if !errors.Is(err, lanyard.ErrNotFound) {
		return 0, err
	}
	u, err = s.UserByLogin(ctx, tenantID, login)
	if errors.Is(err, lanyard.ErrNotFound) {
		u = lanyard.User{TenantID: tenantID, Login: login, Status: lanyard.StatusActive, Source: lanyard.SourceIdP, IdPSourced: true}
		err = s.CreateUser(ctx, &u)
		if errors.Is(err, lanyard.ErrConflict) {
			u, err = s.UserByLogin(ctx, tenantID, login)
		}
	}
	if err != nil {
		return 0, err
	}
	err = s.LinkUser(ctx, lanyard.Link{TenantID: tenantID, UserID: u.ID, IdPEntityID: entityID, NameID: nameID})
	if err != nil && !errors.Is(err, lanyard.ErrConflict) {
		return 0, err
	}
	return u.ID, nil
}

func testRaceFirstLogin(t *testing.T, s lanyard.Store, racers int) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	const rounds = 5
	for round := 0; round < rounds; round++ {
		login := seq("person", round)
		nameID := login + "@idp.example"
		ids := make([]int64, racers)
		errs := make([]error, racers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < racers; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				// Racers spell the login differently: it is one person.
				spelled := login
				if i%2 == 1 {
					spelled = "PERSON" + login[len("person"):]
				}
				ids[i], errs[i] = firstLogin(ctx, s, a.ID, "https://idp", nameID, spelled)
			}(i)
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d racer %d: %v", round, i, err)
			}
		}
		for i := range ids {
			if ids[i] != ids[0] {
				t.Fatalf("round %d: racers got accounts %v, want one", round, ids)
			}
		}
		n, err := s.CountUsers(ctx, lanyard.UserFilter{TenantID: a.ID, Query: login})
		must(t, err, "count")
		wantInt(t, "accounts of "+login, n, 1)
		links, err := s.Links(ctx, ids[0])
		must(t, err, "links")
		wantInt(t, "links of "+login, len(links), 1)
	}
}

func testRaceUpdateUser(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob")
	const writers = 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, err := s.UpdateUser(ctx, u.ID, func(x *lanyard.User) error {
				x.Roles = append(x.Roles, lanyard.RoleGrant{Role: seq("role", i), Source: lanyard.RoleManual})
				return nil
			})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent update")
	}
	got, err := s.User(ctx, u.ID)
	must(t, err, "read")
	names := got.RoleNames()
	sort.Strings(names)
	want := []string{}
	for i := 0; i < writers; i++ {
		want = append(want, seq("role", i))
	}
	wantEqual(t, "roles after concurrent updates (none lost)", names, want)
}

// testRaceUpdateCounter races updates that keep the roles (the common
// case, such as recording a login): no increment may be lost.
func testRaceUpdateCounter(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	a := mkTenant(t, s, "alpha")
	u := mkUser(t, s, a.ID, "bob", "viewer")
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for i := 0; i < writers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < each; j++ {
				_, err := s.UpdateUser(ctx, u.ID, func(x *lanyard.User) error {
					n, err := strconv.Atoi(x.FirstName)
					if err != nil && x.FirstName != "" {
						return err
					}
					x.FirstName = strconv.Itoa(n + 1)
					x.LastLoginAt = time.Now()
					return nil
				})
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err, "concurrent update")
	}
	got, err := s.User(ctx, u.ID)
	must(t, err, "read")
	if got.FirstName != strconv.Itoa(writers*each) {
		t.Fatalf("counter after %d concurrent increments: %s", writers*each, got.FirstName)
	}
	wantEqual(t, "roles kept", got.RoleNames(), []string{"viewer"})
}

func testRaceReplay(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	const racers = 8
	var wg sync.WaitGroup
	results := make(chan bool, racers)
	errs := make(chan error, racers)
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.MarkAssertionUsed(ctx, "_raced", t0.Add(time.Hour), t0)
			if err != nil {
				errs <- err
				return
			}
			results <- first
		}()
	}
	wg.Wait()
	close(results)
	close(errs)
	for err := range errs {
		must(t, err, "mark")
	}
	firsts := 0
	for first := range results {
		if first {
			firsts++
		}
	}
	wantInt(t, "first uses among racers", firsts, 1)
}

func testRaceTakePending(t *testing.T, s lanyard.Store) {
	ctx := ctxFor(t)
	r := lanyard.PendingRequest{ID: "_raced", ExpiresAt: t0.Add(time.Hour)}
	must(t, s.SavePendingRequest(ctx, &r), "save")
	const racers = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	taken, missed := 0, 0
	for i := 0; i < racers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.TakePendingRequest(ctx, r.ID, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				taken++
			case errors.Is(err, lanyard.ErrNotFound):
				missed++
			default:
				t.Errorf("take: %v", err)
			}
		}()
	}
	wg.Wait()
	wantInt(t, "successful takes", taken, 1)
	wantInt(t, "missed takes", missed, racers-1)
}
