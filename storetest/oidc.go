package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// RunOIDC runs the conformance tests of lanyard.OIDCStore (and the
// session's AuthnContext, which OpenID Connect reads) against an engine.
func RunOIDC(t *testing.T, open func(t *testing.T) lanyard.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s lanyard.Store, o lanyard.OIDCStore)
	}{
		{"SessionAuthnContext", testSessionAuthnContext},
		{"Clients", testOIDCClients},
		{"GrantUsedOnce", testOIDCGrantUsedOnce},
		{"GrantRace", testOIDCGrantRace},
		{"EndedLogins", testOIDCEndedLogins},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			o, ok := s.(lanyard.OIDCStore)
			if !ok {
				t.Fatalf("%T does not keep OpenID Connect clients", s)
			}
			tc.fn(t, s, o)
		})
	}
}

func testSessionAuthnContext(t *testing.T, s lanyard.Store, _ lanyard.OIDCStore) {
	ctx := ctxFor(t)
	u := mkUser(t, s, mkTenant(t, s, "alpha").ID, "bob")
	sess := lanyard.Session{Hash: lanyard.HashSessionID("acr"), TenantID: u.TenantID, UserID: u.ID, Kind: lanyard.SessionSSO,
		CreatedAt: t0, LastSeenAt: t0, IdleExpiresAt: t0.Add(time.Hour), AbsExpiresAt: t0.Add(time.Hour),
		AuthnContext: "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"}
	must(t, s.CreateSession(ctx, &sess), "create")
	got, err := s.Session(ctx, sess.Hash, t0)
	must(t, err, "get")
	if got.AuthnContext != sess.AuthnContext {
		t.Errorf("AuthnContext %q, want %q", got.AuthnContext, sess.AuthnContext)
	}
}

func mkClient(t *testing.T, o lanyard.OIDCStore, tenantID int64, id string) lanyard.OIDCClient {
	t.Helper()
	c := lanyard.OIDCClient{TenantID: tenantID, ClientID: id, Name: "App " + id, AuthMethod: lanyard.ClientSecretBasic,
		SecretHash: []byte("0123456789abcdef0123456789abcdef"), RedirectURIs: []string{"https://app.example.com/cb", "http://127.0.0.1:8000/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/bye"}, Scopes: []string{"openid", "email"}, Roles: []string{"eng"},
		Claims: []string{"email"}, PairwiseSubject: true, SubjectSalt: "salt-of-sixteen-or-more", IDTokenAlg: "ES256",
		BackChannelLogoutURI: "https://app.example.com/bc", CreatedAt: t0}
	must(t, o.CreateOIDCClient(ctxFor(t), &c), "create client "+id)
	return c
}

func testOIDCClients(t *testing.T, s lanyard.Store, o lanyard.OIDCStore) {
	ctx := ctxFor(t)
	a, b := mkTenant(t, s, "alpha"), mkTenant(t, s, "beta")
	c := mkClient(t, o, a.ID, "app")
	got, err := o.OIDCClient(ctx, a.ID, "app")
	must(t, err, "get")
	wantEqual(t, "get", got, c)
	_, err = o.OIDCClient(ctx, b.ID, "app")
	wantErr(t, err, lanyard.ErrNotFound, "another tenant's client")
	dup := c
	wantErr(t, o.CreateOIDCClient(ctx, &dup), lanyard.ErrConflict, "same client ID")
	mkClient(t, o, b.ID, "app") // the same ID in another tenant
	bad := lanyard.OIDCClient{TenantID: a.ID, ClientID: "bad", AuthMethod: "magic"}
	if err := o.CreateOIDCClient(ctx, &bad); lanyard.ErrorKind(err) != lanyard.KindInvalid {
		t.Errorf("invalid client: %v", err)
	}
	up, err := o.UpdateOIDCClient(ctx, a.ID, "app", func(c *lanyard.OIDCClient) error {
		c.IDTokenAlg, c.RedirectURIs = "RS256", []string{"https://other.example.com/cb"}
		return nil
	})
	must(t, err, "update")
	got, _ = o.OIDCClient(ctx, a.ID, "app")
	wantEqual(t, "after update", got, up)
	if _, err := o.UpdateOIDCClient(ctx, a.ID, "app", func(c *lanyard.OIDCClient) error { c.RedirectURIs = nil; return nil }); lanyard.ErrorKind(err) != lanyard.KindInvalid {
		t.Errorf("update to an invalid client: %v", err)
	}
	list, err := o.OIDCClients(ctx, a.ID)
	must(t, err, "list")
	if len(list) != 1 {
		t.Errorf("list: %d clients", len(list))
	}
	must(t, o.DeleteOIDCClient(ctx, a.ID, "app"), "delete")
	wantErr(t, o.DeleteOIDCClient(ctx, a.ID, "app"), lanyard.ErrNotFound, "delete twice")
	if _, err := o.OIDCClient(ctx, b.ID, "app"); err != nil {
		t.Errorf("the other tenant's client went with it: %v", err)
	}
}

func mkGrant(t *testing.T, o lanyard.OIDCStore, u lanyard.User, sessionHash []byte, kind lanyard.OIDCGrantKind, secret, family string) lanyard.OIDCGrant {
	t.Helper()
	g := lanyard.OIDCGrant{Hash: lanyard.HashSessionID(secret), Kind: kind, TenantID: u.TenantID, ClientID: "app", UserID: u.ID,
		SessionHash: sessionHash, Family: family, Scopes: []string{"openid", "email"}, Nonce: "n", RedirectURI: "https://app.example.com/cb",
		CodeChallenge: "c", AuthTime: t0.Truncate(time.Second), ACR: "urn:acr", CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
	must(t, o.SaveOIDCGrant(ctxFor(t), &g), "save grant")
	return g
}

func testOIDCGrantUsedOnce(t *testing.T, s lanyard.Store, o lanyard.OIDCStore) {
	ctx := ctxFor(t)
	u := mkUser(t, s, mkTenant(t, s, "alpha").ID, "bob")
	sess := mkSession(t, s, u, "s1", t0.Add(time.Hour), t0.Add(time.Hour))
	code := mkGrant(t, o, u, sess.Hash, lanyard.GrantCode, "code", "fam")
	access := mkGrant(t, o, u, sess.Hash, lanyard.GrantAccess, "access", "fam")
	mkGrant(t, o, u, sess.Hash, lanyard.GrantRefresh, "other", "other-fam")
	dup := code
	wantErr(t, o.SaveOIDCGrant(ctx, &dup), lanyard.ErrConflict, "same hash")

	_, err := o.UseOIDCGrant(ctx, code.Hash, lanyard.GrantAccess, t0)
	wantErr(t, err, lanyard.ErrNotFound, "a code used as an access token")
	got, err := o.UseOIDCGrant(ctx, code.Hash, lanyard.GrantCode, t0)
	must(t, err, "first use")
	sameTime(t, "used at", got.UsedAt, t0)
	got.UsedAt = time.Time{}
	wantEqual(t, "first use", got, code)
	again, err := o.UseOIDCGrant(ctx, code.Hash, lanyard.GrantCode, t0)
	wantErr(t, err, lanyard.ErrConflict, "second use")
	if again.Family != "fam" {
		t.Errorf("second use returned family %q", again.Family)
	}
	n, err := o.RevokeOIDCFamily(ctx, "fam")
	must(t, err, "revoke")
	if n != 2 {
		t.Errorf("revoked %d grants, want 2", n)
	}
	_, err = o.OIDCGrant(ctx, access.Hash, lanyard.GrantAccess, t0)
	wantErr(t, err, lanyard.ErrNotFound, "revoked access token")
	if _, err := o.OIDCGrant(ctx, lanyard.HashSessionID("other"), lanyard.GrantRefresh, t0); err != nil {
		t.Errorf("another family was revoked: %v", err)
	}

	late := mkGrant(t, o, u, sess.Hash, lanyard.GrantCode, "late", "late")
	_, err = o.UseOIDCGrant(ctx, late.Hash, lanyard.GrantCode, t0.Add(time.Minute))
	wantErr(t, err, lanyard.ErrNotFound, "use at expiry")
	_, err = o.OIDCGrant(ctx, late.Hash, lanyard.GrantCode, t0.Add(time.Minute))
	wantErr(t, err, lanyard.ErrNotFound, "read at expiry")
	purged, err := o.PurgeOIDCGrants(ctx, t0.Add(time.Minute))
	must(t, err, "purge")
	if purged != 2 {
		t.Errorf("purged %d, want 2", purged)
	}
}

// testOIDCGrantRace: of many redeeming one code at once, exactly one wins.
func testOIDCGrantRace(t *testing.T, s lanyard.Store, o lanyard.OIDCStore) {
	ctx := ctxFor(t)
	u := mkUser(t, s, mkTenant(t, s, "alpha").ID, "bob")
	sess := mkSession(t, s, u, "s1", t0.Add(time.Hour), t0.Add(time.Hour))
	code := mkGrant(t, o, u, sess.Hash, lanyard.GrantCode, "code", "fam")
	const n = 8
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		wins, dup int
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := o.UseOIDCGrant(ctx, code.Hash, lanyard.GrantCode, t0)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, lanyard.ErrConflict):
				dup++
			default:
				t.Errorf("use: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || dup != n-1 {
		t.Errorf("%d wins and %d reuses of one code, want 1 and %d", wins, dup, n-1)
	}
}

func testOIDCEndedLogins(t *testing.T, s lanyard.Store, o lanyard.OIDCStore) {
	ctx := ctxFor(t)
	u := mkUser(t, s, mkTenant(t, s, "alpha").ID, "bob")
	live := mkSession(t, s, u, "live", t0.Add(time.Hour), t0.Add(time.Hour))
	ended := mkSession(t, s, u, "ended", t0.Add(time.Hour), t0.Add(time.Hour))
	expiring := mkSession(t, s, u, "expiring", t0.Add(time.Minute), t0.Add(time.Hour))
	for _, sess := range []lanyard.Session{live, ended, expiring} {
		for _, client := range []string{"a", "b"} {
			must(t, o.PutOIDCLogin(ctx, &lanyard.OIDCLogin{SessionHash: sess.Hash, TenantID: u.TenantID, ClientID: client, Subject: "sub", SID: "sid-" + sess.SessionIndex}), "put login")
		}
	}
	// Recording again is an update, not a second record.
	must(t, o.PutOIDCLogin(ctx, &lanyard.OIDCLogin{SessionHash: live.Hash, TenantID: u.TenantID, ClientID: "a", Subject: "sub2", SID: "x"}), "put again")
	refresh := mkGrant(t, o, u, ended.Hash, lanyard.GrantRefresh, "ended-refresh", "f")
	must(t, s.DeleteSession(ctx, ended.Hash), "end session")

	got, err := o.TakeEndedOIDCLogins(ctx, t0, 100)
	must(t, err, "take")
	if len(got) != 2 || string(got[0].SessionHash) != string(ended.Hash) || string(got[1].SessionHash) != string(ended.Hash) {
		t.Fatalf("took %d logins, want the 2 of the ended session", len(got))
	}
	if _, err := o.OIDCGrant(ctx, refresh.Hash, lanyard.GrantRefresh, t0); !errors.Is(err, lanyard.ErrNotFound) {
		t.Errorf("a grant of the ended session survives: %v", err)
	}
	if again, _ := o.TakeEndedOIDCLogins(ctx, t0, 100); len(again) != 0 {
		t.Errorf("taken twice: %d", len(again))
	}
	later, err := o.TakeEndedOIDCLogins(ctx, t0.Add(time.Minute), 1)
	must(t, err, "take expired")
	if len(later) != 1 || string(later[0].SessionHash) != string(expiring.Hash) {
		t.Errorf("took %d at expiry with limit 1, want 1 of the expired session", len(later))
	}
}
