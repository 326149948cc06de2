package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// benchUsers is how many accounts BenchmarkLogin spreads its logins over.
const benchUsers = 1000

// BenchmarkLogin measures the store's share of one SSO login at the
// Assertion Consumer Service: MarkAssertionUsed, TakePendingRequest,
// UserByLink, UpdateUser (last login), CreateSession and AppendAudit, from
// parallel goroutines (b.RunParallel, parallelism × GOMAXPROCS of them). It
// reports logins/s. s must be a fresh, migrated, empty store.
func BenchmarkLogin(b *testing.B, s lanyard.Store, parallelism int) {
	benchmarkLogin(b, s, parallelism, false)
}

// BenchmarkLoginOneTransaction is BenchmarkLogin with each login's writes
// in one transaction (Atomic), as the ACS makes them: one commit per login.
func BenchmarkLoginOneTransaction(b *testing.B, s lanyard.Store, parallelism int) {
	benchmarkLogin(b, s, parallelism, true)
}

func benchmarkLogin(b *testing.B, s lanyard.Store, parallelism int, oneTx bool) {
	ctx := context.Background()
	const entityID = "https://idp.example.com/saml"
	tn := lanyard.Tenant{Slug: "bench"}
	if err := s.CreateTenant(ctx, &tn); err != nil {
		b.Fatal(err)
	}
	// Accounts with their links, in one transaction.
	err := s.Atomic(ctx, func(tx lanyard.Store) error {
		for i := 0; i < benchUsers; i++ {
			u := lanyard.User{TenantID: tn.ID, Login: fmt.Sprintf("user%04d", i), Email: fmt.Sprintf("user%04d@example.com", i),
				Status: lanyard.StatusActive, Source: lanyard.SourceIdP, Roles: []lanyard.RoleGrant{{Role: "viewer", Source: lanyard.RoleIdP}}}
			if err := tx.CreateUser(ctx, &u); err != nil {
				return err
			}
			l := lanyard.Link{TenantID: tn.ID, UserID: u.ID, IdPEntityID: entityID, NameID: u.Email}
			if err := tx.LinkUser(ctx, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// The AuthnRequests the logins answer, saved beforehand.
	now := time.Now()
	err = s.Atomic(ctx, func(tx lanyard.Store) error {
		for i := 0; i < b.N; i++ {
			r := lanyard.PendingRequest{ID: fmt.Sprintf("_req%d", i), TenantID: tn.ID, IdPEntityID: entityID,
				ReturnTo: "/app", Binding: []byte("0123456789abcdef0123456789abcdef"), ExpiresAt: now.Add(time.Hour)}
			if err := tx.SavePendingRequest(ctx, &r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}

	counts, _ := s.(commitCounter)
	var tx0, commits0 uint64
	if counts != nil {
		tx0, commits0 = counts.CommitCounts()
	}
	var next atomic.Int64
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			login := func(s lanyard.Store) error { return benchOneLogin(ctx, s, tn.ID, entityID, i) }
			var err error
			if oneTx {
				err = s.Atomic(ctx, login)
			} else {
				err = login(s)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "logins/s")
	if counts != nil {
		if tx, commits := counts.CommitCounts(); commits > commits0 {
			b.ReportMetric(float64(tx-tx0)/float64(commits-commits0), "tx/commit")
		}
	}
}

// commitCounter is a store whose waiting transactions share commits
// (sqlstore on SQLite).
type commitCounter interface {
	CommitCounts() (transactions, commits uint64)
}

func benchOneLogin(ctx context.Context, s lanyard.Store, tenantID int64, entityID string, i int64) error {
	now := time.Now()
	first, err := s.MarkAssertionUsed(ctx, fmt.Sprintf("_assertion%d", i), now.Add(5*time.Minute), now)
	if err != nil {
		return err
	}
	if !first {
		return fmt.Errorf("assertion %d: reported as a replay", i)
	}
	req, err := s.TakePendingRequest(ctx, fmt.Sprintf("_req%d", i), now)
	if err != nil {
		return err
	}
	nameID := fmt.Sprintf("user%04d@example.com", i%benchUsers)
	u, err := s.UserByLink(ctx, tenantID, entityID, nameID)
	if err != nil {
		return err
	}
	u, err = s.UpdateUser(ctx, u.ID, func(x *lanyard.User) error {
		x.LastLoginAt = now
		return nil
	})
	if err != nil {
		return err
	}
	var id [32]byte
	copy(id[:], fmt.Sprintf("session-%d", i))
	sess := lanyard.Session{
		Hash: lanyard.HashSessionID(string(id[:])), TenantID: tenantID, UserID: u.ID, Kind: lanyard.SessionSSO,
		IdPEntityID: entityID, NameID: nameID, SessionIndex: fmt.Sprintf("_idx%d", i), CreatedAt: now, LastSeenAt: now,
		IdleExpiresAt: now.Add(8 * time.Hour), AbsExpiresAt: now.Add(24 * time.Hour), ClientIP: "192.0.2.1",
		UserAgent: "Mozilla/5.0 (bench)", LastRefreshAt: now, CSRFSecret: id[:],
	}
	if err := s.CreateSession(ctx, &sess); err != nil {
		return err
	}
	return s.AppendAudit(ctx, &lanyard.AuditEvent{
		Time: now, TenantID: tenantID, Actor: u.Login, Action: "sso.login", Outcome: lanyard.OutcomeSuccess,
		UserID: u.ID, Subject: nameID, ClientIP: "192.0.2.1", Message: "return to " + req.ReturnTo,
	})
}
