package identity_test

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/identity/verify"
	"github.com/lanyard-sso/lanyard/internal/testdb"
)

func TestSignVerify(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		clk := testdb.NewClock(time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC))
		ring := identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: "https://sso.example.com", Now: clk.Now})
		if _, err := ring.Sign(identity.Claims{}); !errors.Is(err, identity.ErrNoKey) {
			t.Fatalf("Sign before Refresh: got %v, want ErrNoKey", err)
		}
		if err := ring.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		sessionEnd := clk.Now().Add(time.Minute).Unix()
		token, err := ring.Sign(identity.Claims{Subject: "ada", UserID: 7, Tenant: "acme", Email: "ada@example.com",
			Name: "Ada Lovelace", Roles: []string{"staff"}, SessionExpiry: sessionEnd, Audience: verify.Audience{"wiki"}})
		if err != nil {
			t.Fatal(err)
		}
		set, err := identity.ParseJWKS(ring.JWKS())
		if err != nil {
			t.Fatal(err)
		}
		keys, err := set.PublicKeys()
		if err != nil {
			t.Fatal(err)
		}
		c, err := check(token, keys, clk.Now(), 0)
		if err != nil {
			t.Fatalf("verify a fresh token: %v", err)
		}
		if c.Subject != "ada" || c.Tenant != "acme" || c.Issuer != "https://sso.example.com" || c.Roles[0] != "staff" || c.Groups == nil {
			t.Errorf("claims: %+v", c)
		}
		if c.NotBefore != c.IssuedAt || c.IssuedAt != clk.Now().Unix() || len(c.ID) < 20 {
			t.Errorf("nbf %d, iat %d, jti %q: want nbf = iat = now and a random jti", c.NotBefore, c.IssuedAt, c.ID)
		}
		if again, _ := ring.Sign(identity.Claims{Subject: "ada", Tenant: "acme", Audience: verify.Audience{"wiki"}}); again == token {
			t.Error("two tokens signed alike: the jti must differ")
		}
		for _, aud := range []verify.Audience{nil, {}, {""}, {"wiki", ""}} {
			if _, err := ring.Sign(identity.Claims{Subject: "ada", Tenant: "acme", Audience: aud}); err == nil {
				t.Errorf("signed a token with audience %q; want a refusal", aud)
			}
		}
		if c.Expiry != sessionEnd {
			t.Errorf("exp %d: want the session's end %d, earlier than the token lifetime", c.Expiry, sessionEnd)
		}

		// Tampering, expiry and unknown keys are refused.
		parts := strings.Split(token, ".")
		forged := parts[0] + "." + strings.TrimRight(parts[1], "=") + "x." + parts[2]
		if _, err := check(forged, keys, clk.Now(), 0); err == nil {
			t.Error("a token with changed claims verified")
		}
		if _, err := check(token, keys, clk.Now().Add(2*time.Minute), 0); !errors.Is(err, identity.ErrExpired) {
			t.Errorf("an expired token: got %v, want ErrExpired", err)
		}
		if _, err := check(token, nil, clk.Now(), 0); !errors.Is(err, identity.ErrUnknownKey) {
			t.Errorf("an unknown key: got %v, want ErrUnknownKey", err)
		}
		if _, err := check("a.b", keys, clk.Now(), 0); !errors.Is(err, identity.ErrMalformed) {
			t.Errorf("two parts: got %v, want ErrMalformed", err)
		}
	})
}

// TestRotation walks two nodes' key rings through several rotations: they
// always sign with the same key, publish the next key one rotation before
// it signs, and keep an old key published until its tokens expired.
func TestRotation(t *testing.T) {
	testdb.Each(t, func(t *testing.T, store lanyard.Store) {
		ctx := context.Background()
		clk := testdb.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		opts := identity.KeyRingOptions{Issuer: "https://sso.example.com", Rotation: time.Hour, TokenTTL: 5 * time.Minute, Now: clk.Now}
		nodeA := identity.NewKeyRing(store, opts)
		nodeB := identity.NewKeyRing(store, opts)
		refresh := func() {
			t.Helper()
			for _, r := range []*identity.KeyRing{nodeA, nodeB} {
				if err := r.Refresh(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		refresh()
		first := nodeA.SignerID()
		if first == "" || nodeB.SignerID() != first {
			t.Fatalf("nodes sign with %q and %q, want the same key", first, nodeB.SignerID())
		}
		var lastToken string
		var lastKID string
		for step := 0; step < 5*12; step++ { // five hours in 5-minute steps
			clk.Advance(5 * time.Minute)
			refresh()
			if nodeA.SignerID() != nodeB.SignerID() {
				t.Fatalf("at %s the nodes sign with %q and %q", clk.Now(), nodeA.SignerID(), nodeB.SignerID())
			}
			if kid := nodeA.SignerID(); kid != lastKID && lastToken != "" {
				// The new signer was published an hour (one rotation) ago, and
				// the token of the previous key still verifies.
				if _, err := check(lastToken, nodeB.PublicKeys(), clk.Now().Add(-time.Minute), 0); err != nil {
					t.Fatalf("token of the previous key after rotation: %v", err)
				}
			}
			lastKID = nodeA.SignerID()
			tok, err := nodeA.Sign(identity.Claims{Subject: "ada", Tenant: "acme", Audience: verify.Audience{"wiki"}})
			if err != nil {
				t.Fatal(err)
			}
			lastToken = tok
			min := 2 // the current key and the next one
			if step < 11 {
				min = 1 // the first key alone, in its first rotation
			}
			if n := len(nodeA.PublicKeys()); n < min || n > 3 {
				t.Fatalf("at %s: %d keys published, want %d to 3 (current, next, maybe previous)", clk.Now(), n, min)
			}
		}
		if lastKID == first {
			t.Fatal("the signing key never rotated")
		}
		keys, err := store.SigningKeys(ctx, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) > 3 {
			t.Errorf("%d keys in the store after purges, want at most 3", len(keys))
		}
	})
}

// check verifies a token for the application "wiki" of tenant acme.
func check(token string, keys map[string]*ecdsa.PublicKey, now time.Time, leeway time.Duration) (identity.Claims, error) {
	return verify.Check(token, keys, now, verify.Expect{Issuer: "https://sso.example.com", Audience: "wiki", Tenant: "acme", Leeway: leeway})
}

func TestVerifierRefetchesOnRotation(t *testing.T) {
	store := testdb.SQLite(t)
	ctx := context.Background()
	clk := testdb.NewClock(time.Now())
	ring := identity.NewKeyRing(store, identity.KeyRingOptions{Issuer: "https://sso.example.com", Rotation: time.Hour, Now: clk.Now})
	if err := ring.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		w.Write(ring.JWKS())
	}))
	defer srv.Close()
	v := &verify.Verifier{JWKSURL: srv.URL, Issuer: "https://sso.example.com", Audience: "wiki", Tenant: "acme", MinRefetch: time.Nanosecond, Now: clk.Now}
	tok, _ := ring.Sign(identity.Claims{Subject: "ada", Tenant: "acme", Audience: verify.Audience{"wiki"}})
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// Two rotations later the key is one the verifier has never seen.
	clk.Advance(150 * time.Minute)
	if err := ring.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * time.Hour)
	if err := ring.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	tok, _ = ring.Sign(identity.Claims{Subject: "ada", Tenant: "acme", Audience: verify.Audience{"wiki"}})
	c, err := v.Verify(ctx, tok)
	if err != nil || c.Subject != "ada" {
		t.Fatalf("verify after rotation: %v", err)
	}
	if fetches != 2 {
		t.Errorf("%d fetches of the key set, want 2", fetches)
	}
}
