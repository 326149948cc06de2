package idpsync

import (
	"context"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// answer is what the test metadata server says next.
type answer struct {
	mu     sync.Mutex
	status int
	body   []byte
	hits   int
}

func (a *answer) set(status int, body []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.body = status, body
}

func (a *answer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hits++
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func mustMetadata(t *testing.T, idp *testidp.IdP, o testidp.MetadataOptions) []byte {
	t.Helper()
	md, err := idp.Metadata(o)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// TestRefresher follows one connection through a change of metadata, a
// failing URL, invalid metadata and a recovery.
func TestRefresher(t *testing.T) {
	idp, err := testidp.New("https://idp.test/saml", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	next, err := testidp.New("https://idp.test/next", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		ans := &answer{status: 200, body: mustMetadata(t, idp, testidp.MetadataOptions{})}
		srv := httptest.NewServer(ans)
		defer srv.Close()
		svc := admin.New(store, admin.Options{Fetcher: &HTTPFetcher{Timeout: 5 * time.Second, AllowPrivate: true}})
		if _, err := svc.CreateTenant(ctx, "cli", "acme", "", nil); err != nil {
			t.Fatal(err)
		}
		// A connection from a file is never refreshed.
		fileIdP := *idp
		fileIdP.EntityID = "https://file.test"
		if _, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{Metadata: mustMetadata(t, &fileIdP, testidp.MetadataOptions{})}); err != nil {
			t.Fatal(err)
		}
		conn, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{URL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		r := &Refresher{Store: store, Admin: svc, Now: func() time.Time { return now }}

		// Not due yet: nothing fetched.
		hits := ans.hits
		if n, err := r.RefreshDue(ctx); err != nil || n != 0 || ans.hits != hits {
			t.Fatalf("refresh before due: %d, %v (hits %d → %d)", n, err, hits, ans.hits)
		}

		// The IdP adds a certificate; 6 hours later the refresher takes it.
		ans.set(200, mustMetadata(t, idp, testidp.MetadataOptions{ExtraCerts: []*x509.Certificate{next.Cert}}))
		version, _ := store.ConfigVersion(ctx)
		now = now.Add(DefaultInterval + time.Minute)
		if n, err := r.RefreshDue(ctx); err != nil || n != 1 {
			t.Fatalf("refresh when due: %d, %v", n, err)
		}
		got, err := store.IdP(ctx, conn.TenantID, conn.EntityID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.SigningCerts) != 2 || got.RefreshError != "" || !got.RefreshedAt.After(conn.RefreshedAt) {
			t.Errorf("after refresh: %d certificates, error %q, refreshed %v", len(got.SigningCerts), got.RefreshError, got.RefreshedAt)
		}
		if v, _ := store.ConfigVersion(ctx); v <= version {
			t.Errorf("config version %d → %d: nodes would not reload", version, v)
		}
		ev, _ := store.AuditEvents(ctx, lanyard.AuditFilter{Action: "idp.refresh"})
		if len(ev) != 1 || ev[0].Outcome != lanyard.OutcomeSuccess || !strings.Contains(ev[0].Message, "signing certificates added: "+saml.Fingerprint(next.Cert)) {
			t.Errorf("audit after refresh: %+v", ev)
		}
		good := got

		// The URL fails: the last good copy stays, the error is recorded.
		ans.set(http.StatusInternalServerError, []byte("oops"))
		now = now.Add(DefaultInterval + time.Minute)
		if n, _ := r.RefreshDue(ctx); n != 1 {
			t.Fatalf("refresh of a failing URL: tried %d", n)
		}
		got, _ = store.IdP(ctx, conn.TenantID, conn.EntityID)
		if got.MetadataXML != good.MetadataXML || len(got.SigningCerts) != 2 || !got.RefreshedAt.Equal(good.RefreshedAt) {
			t.Error("a failed refresh changed the metadata")
		}
		if !strings.Contains(got.RefreshError, "500") {
			t.Errorf("RefreshError %q, want the status", got.RefreshError)
		}
		ev, _ = store.AuditEvents(ctx, lanyard.AuditFilter{Action: "idp.refresh", Outcome: lanyard.OutcomeFailure})
		if len(ev) != 1 || ev[0].Reason != admin.ReasonFetchFailed {
			t.Errorf("audit of the failure: %+v", ev)
		}

		// Retried after RetryInterval, not before; invalid metadata is
		// refused the same way.
		ans.set(200, []byte("<html>maintenance</html>"))
		if due := r.Due(got); due.Sub(got.UpdatedAt) != DefaultRetryInterval {
			t.Errorf("retry due %v after the failure, want %v", due.Sub(got.UpdatedAt), DefaultRetryInterval)
		}
		now = got.UpdatedAt.Add(DefaultRetryInterval + time.Second)
		if n, _ := r.RefreshDue(ctx); n != 1 {
			t.Fatalf("retry: tried %d", n)
		}
		got, _ = store.IdP(ctx, conn.TenantID, conn.EntityID)
		if got.MetadataXML != good.MetadataXML || !strings.Contains(got.RefreshError, "EntityDescriptor") {
			t.Errorf("after invalid metadata: error %q", got.RefreshError)
		}
		ev, _ = store.AuditEvents(ctx, lanyard.AuditFilter{Action: "idp.refresh", Outcome: lanyard.OutcomeFailure})
		if len(ev) != 2 || ev[0].Reason != admin.ReasonInvalidMetadata {
			t.Errorf("audit of invalid metadata: %+v", ev)
		}

		// Recovery clears the error.
		ans.set(200, mustMetadata(t, idp, testidp.MetadataOptions{}))
		now = got.UpdatedAt.Add(DefaultRetryInterval + time.Second)
		if n, _ := r.RefreshDue(ctx); n != 1 {
			t.Fatalf("recovery: tried %d", n)
		}
		got, _ = store.IdP(ctx, conn.TenantID, conn.EntityID)
		if got.RefreshError != "" || len(got.SigningCerts) != 1 {
			t.Errorf("after recovery: error %q, %d certificates", got.RefreshError, len(got.SigningCerts))
		}
		ev, _ = store.AuditEvents(ctx, lanyard.AuditFilter{Action: "idp.refresh", Outcome: lanyard.OutcomeSuccess})
		if len(ev) != 2 || !strings.Contains(ev[0].Message, "removed") || !strings.Contains(ev[0].Message, "previous refresh had failed") {
			t.Errorf("audit of the recovery: %+v", ev)
		}
	})
}

// TestRefresherPinned checks that a refresh verifies the metadata
// signature with the certificate pinned at import.
func TestRefresherPinned(t *testing.T) {
	idp, err := testidp.New("https://idp.test/saml", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := testidp.New("https://federation.test", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	signed, err := idp.SignedMetadata(testidp.MetadataOptions{SignWith: signer.Key, SignWithCert: signer.Cert})
	if err != nil {
		t.Fatal(err)
	}
	store := testdb.SQLite(t)
	ctx := context.Background()
	ans := &answer{status: 200, body: signed}
	srv := httptest.NewServer(ans)
	defer srv.Close()
	svc := admin.New(store, admin.Options{Fetcher: &HTTPFetcher{AllowPrivate: true}})
	if _, err := svc.CreateTenant(ctx, "cli", "acme", "", nil); err != nil {
		t.Fatal(err)
	}
	conn, _, err := svc.ImportIdP(ctx, "cli", "acme", admin.IdPSource{URL: srv.URL, PinnedCertsPEM: signer.CertPEM()})
	if err != nil {
		t.Fatal(err)
	}
	// An attacker serves unsigned metadata with their own key.
	ans.set(200, mustMetadata(t, signer, testidp.MetadataOptions{}))
	_, err = svc.RefreshIdP(ctx, "cli", conn)
	if err == nil || !strings.Contains(lanyard.ErrorMessage(err), "not signed") {
		t.Fatalf("unsigned metadata on refresh: %v", err)
	}
	got, _ := store.IdP(ctx, conn.TenantID, conn.EntityID)
	if got.MetadataXML != conn.MetadataXML {
		t.Error("unsigned metadata replaced the pinned one")
	}
}

func TestIntervalFor(t *testing.T) {
	idp, err := testidp.New("https://idp.test/saml", testidp.Options{Bits: 1024})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	conn := func(id int64, o testidp.MetadataOptions) lanyard.IdPConnection {
		return lanyard.IdPConnection{ID: id, EntityID: idp.EntityID, SourceURL: "https://x.test", RefreshedAt: now, UpdatedAt: now,
			MetadataXML: string(mustMetadata(t, idp, o))}
	}
	r := &Refresher{}
	for _, c := range []struct {
		name string
		conn lanyard.IdPConnection
		want time.Duration
	}{
		{"default", conn(1, testidp.MetadataOptions{}), DefaultInterval},
		{"cacheDuration shorter", conn(2, testidp.MetadataOptions{CacheDuration: time.Hour}), time.Hour},
		{"cacheDuration longer", conn(3, testidp.MetadataOptions{CacheDuration: 48 * time.Hour}), DefaultInterval},
		{"cacheDuration tiny", conn(4, testidp.MetadataOptions{CacheDuration: time.Second}), DefaultMinInterval},
		{"validUntil soon", conn(5, testidp.MetadataOptions{ValidUntil: now.Add(2 * time.Hour)}), time.Hour},
	} {
		if got := r.IntervalFor(c.conn); got != c.want {
			t.Errorf("%s: interval %v, want %v", c.name, got, c.want)
		}
		due := r.Due(c.conn)
		if lo, hi := now.Add(c.want-time.Duration(float64(c.want)*DefaultJitter)), now.Add(c.want); due.Before(lo) || due.After(hi) {
			t.Errorf("%s: due %v, want within [%v, %v]", c.name, due, lo, hi)
		}
	}
	if got := r.Due(lanyard.IdPConnection{SourceURL: "https://x.test"}); !got.IsZero() {
		t.Errorf("never refreshed: due %v, want now", got)
	}
}

// TestRunStops checks Run returns when its context ends.
func TestRunStops(t *testing.T) {
	store := testdb.SQLite(t)
	r := &Refresher{Store: store, Admin: admin.New(store, admin.Options{}), Poll: 10 * time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- r.Run(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}
