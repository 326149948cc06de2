package verify_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/identity/verify"
)

var b64 = base64.RawURLEncoding

// signed builds a compact ES256 token of header and claims (any JSON
// values, so that the test can write what Lanyard never would).
func signed(t *testing.T, key *ecdsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	var sig [64]byte
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64.EncodeToString(sig[:])
}

func TestCheck(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	keys := map[string]*ecdsa.PublicKey{"k1": &key.PublicKey}
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	want := verify.Expect{Issuer: "https://sso.example.com", Audience: "wiki", Tenant: "acme", Leeway: 30 * time.Second}
	hdr := func(edit func(map[string]any)) map[string]any {
		h := map[string]any{"alg": "ES256", "typ": "JWT", "kid": "k1"}
		if edit != nil {
			edit(h)
		}
		return h
	}
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"iss": want.Issuer, "sub": "ada", "aud": "wiki", "tenant": "acme", "uid": 7,
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "jti": "j1"}
		if edit != nil {
			edit(c)
		}
		return c
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	good := signed(t, key, hdr(nil), claims(nil))
	parts := strings.Split(good, ".")

	// hs256 signs with HMAC keyed by the public key's bytes: the classic
	// algorithm-confusion forgery.
	hs256 := func() string {
		h, _ := json.Marshal(hdr(set("alg", "HS256")))
		c, _ := json.Marshal(claims(nil))
		input := b64.EncodeToString(h) + "." + b64.EncodeToString(c)
		pub, _ := key.PublicKey.Bytes()
		m := hmac.New(sha256.New, pub)
		m.Write([]byte(input))
		return input + "." + b64.EncodeToString(m.Sum(nil))
	}
	noneAlg := func() string {
		h, _ := json.Marshal(hdr(set("alg", "none")))
		return b64.EncodeToString(h) + "." + parts[1] + "."
	}

	tests := []struct {
		name    string
		token   string
		want    verify.Expect
		wantErr error
	}{
		{"good", good, want, nil},
		{"audience among several", signed(t, key, hdr(nil), claims(set("aud", []string{"blog", "wiki"}))), want, nil},
		{"audience as a one-element array", signed(t, key, hdr(nil), claims(set("aud", []string{"wiki"}))), want, nil},
		{"nbf within the leeway", signed(t, key, hdr(nil), claims(set("nbf", now.Add(20*time.Second).Unix()))), want, nil},

		// Audience.
		{"no aud", signed(t, key, hdr(nil), claims(del("aud"))), want, verify.ErrAudience},
		{"empty aud", signed(t, key, hdr(nil), claims(set("aud", ""))), want, verify.ErrAudience},
		{"empty aud array", signed(t, key, hdr(nil), claims(set("aud", []string{}))), want, verify.ErrAudience},
		{"other aud", signed(t, key, hdr(nil), claims(set("aud", "blog"))), want, verify.ErrAudience},
		{"several wrong auds", signed(t, key, hdr(nil), claims(set("aud", []string{"blog", "shop"}))), want, verify.ErrAudience},
		{"aud of other case", signed(t, key, hdr(nil), claims(set("aud", "Wiki"))), want, verify.ErrAudience},
		{"aud with a trailing space", signed(t, key, hdr(nil), claims(set("aud", "wiki "))), want, verify.ErrAudience},
		{"aud prefix", signed(t, key, hdr(nil), claims(set("aud", "wiki2"))), want, verify.ErrAudience},
		{"aud a number", signed(t, key, hdr(nil), claims(set("aud", 1))), want, verify.ErrMalformed},

		// Tenant.
		{"other tenant", signed(t, key, hdr(nil), claims(set("tenant", "globex"))), want, verify.ErrTenant},
		{"no tenant", signed(t, key, hdr(nil), claims(del("tenant"))), want, verify.ErrTenant},
		{"tenant of other case", signed(t, key, hdr(nil), claims(set("tenant", "ACME"))), want, verify.ErrTenant},

		// Issuer.
		{"other issuer", signed(t, key, hdr(nil), claims(set("iss", "https://evil.example"))), want, verify.ErrIssuer},
		{"no issuer", signed(t, key, hdr(nil), claims(del("iss"))), want, verify.ErrIssuer},
		{"issuer with a trailing slash", signed(t, key, hdr(nil), claims(set("iss", want.Issuer+"/"))), want, verify.ErrIssuer},

		// Time.
		{"nbf in the future beyond the leeway", signed(t, key, hdr(nil), claims(set("nbf", now.Add(time.Minute).Unix()))), want, verify.ErrExpired},
		{"iat in the future beyond the leeway", signed(t, key, hdr(nil), claims(set("iat", now.Add(time.Minute).Unix()))), want, verify.ErrExpired},
		{"expired", signed(t, key, hdr(nil), claims(set("exp", now.Add(-time.Minute).Unix()))), want, verify.ErrExpired},
		{"no exp", signed(t, key, hdr(nil), claims(del("exp"))), want, verify.ErrExpired},

		// Algorithm and key.
		{"alg none", noneAlg(), want, verify.ErrMalformed},
		{"alg HS256 keyed by the public key", hs256(), want, verify.ErrMalformed},
		{"alg RS256", signed(t, key, hdr(set("alg", "RS256")), claims(nil)), want, verify.ErrMalformed},
		{"alg ES384", signed(t, key, hdr(set("alg", "ES384")), claims(nil)), want, verify.ErrMalformed},
		{"alg es256 lower case", signed(t, key, hdr(set("alg", "es256")), claims(nil)), want, verify.ErrMalformed},
		{"no alg", signed(t, key, hdr(del("alg")), claims(nil)), want, verify.ErrMalformed},
		{"critical extension", signed(t, key, hdr(set("crit", []string{"exp"})), claims(nil)), want, verify.ErrMalformed},
		{"unknown kid", signed(t, key, hdr(set("kid", "k2")), claims(nil)), want, verify.ErrUnknownKey},
		{"no kid", signed(t, key, hdr(del("kid")), claims(nil)), want, verify.ErrUnknownKey},
		{"signed by another key under a known kid", signed(t, other, hdr(nil), claims(nil)), want, verify.ErrSignature},
		{"claims changed", parts[0] + "." + b64.EncodeToString([]byte(`{"iss":"https://sso.example.com","aud":"wiki","tenant":"acme","exp":9999999999}`)) + "." + parts[2], want, verify.ErrSignature},
		{"signature cut", parts[0] + "." + parts[1] + "." + parts[2][:40], want, verify.ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], want, verify.ErrMalformed},
		{"four parts", good + ".x", want, verify.ErrMalformed},
		{"empty", "", want, verify.ErrMalformed},

		// The verifier's own configuration.
		{"no expected audience", good, verify.Expect{Issuer: want.Issuer, Tenant: "acme"}, verify.ErrConfig},
		{"no expected tenant", good, verify.Expect{Issuer: want.Issuer, Audience: "wiki"}, verify.ErrConfig},
		{"no expected issuer", good, verify.Expect{Audience: "wiki", Tenant: "acme"}, verify.ErrConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := verify.Check(tt.token, keys, now, tt.want)
			if tt.wantErr == nil {
				if err != nil || c.Subject != "ada" {
					t.Fatalf("got %+v, %v; want the claims", c, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v; want %v", err, tt.wantErr)
			}
			if c.Subject != "" {
				t.Errorf("claims %+v returned with an error", c)
			}
		})
	}
}

// TestVerifierRequiresExpectations: a Verifier without its audience or
// tenant refuses every token rather than accept any application's.
func TestVerifierRequiresExpectations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"keys":[]}`)) }))
	defer srv.Close()
	for _, v := range []*verify.Verifier{
		{JWKSURL: srv.URL, Issuer: "https://sso.example.com", Tenant: "acme"},
		{JWKSURL: srv.URL, Issuer: "https://sso.example.com", Audience: "wiki"},
		{JWKSURL: srv.URL, Audience: "wiki", Tenant: "acme"},
	} {
		if _, err := v.Verify(t.Context(), "a.b.c"); !errors.Is(err, verify.ErrConfig) {
			t.Errorf("%+v: got %v, want ErrConfig", v, err)
		}
	}
}

// TestStandardLibraryOnly: an application imports this package without
// pulling in Lanyard or anything outside the standard library.
func TestStandardLibraryOnly(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/lanyard-sso/lanyard/identity/verify" {
			t.Errorf("package verify depends on %s; it must depend on the standard library only", p)
		}
	}
}
