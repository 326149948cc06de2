package admin

import (
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// TestOIDCClients: registration with defaults and the secret shown once
// (stored as its SHA-256 only), every problem of the settings at once,
// secret rotation, and tenant administrators confined to their tenant.
func TestOIDCClients(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		acme := f.mustTenant(t, "acme")
		globex := f.mustTenant(t, "globex")
		c, secret, err := f.svc.CreateOIDCClient(f.ctx, "alice", "acme", "grafana", []string{"redirect_uris=https://grafana.example.com/cb, https://grafana.example.com/cb2"})
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(secret))
		stored, err := f.db.OIDCClient(f.ctx, acme.ID, "grafana")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "lyc_") || string(stored.SecretHash) != string(sum[:]) || strings.Contains(string(stored.SecretHash), secret) {
			t.Errorf("secret %q stored as %x", secret, stored.SecretHash)
		}
		if c.AuthMethod != lanyard.ClientSecretBasic || c.IDTokenAlg != "RS256" || len(stored.RedirectURIs) != 2 || len(stored.Scopes) != len(lanyard.OIDCScopes) {
			t.Errorf("defaults: %+v", stored)
		}
		if ev := f.lastAudit(t, "oidc.client.create"); ev.Subject != "grafana" || strings.Contains(ev.Message, secret) {
			t.Errorf("audit: %+v", ev)
		}

		_, _, err = f.svc.CreateOIDCClient(f.ctx, "alice", "acme", "bad client", []string{"redirect_uris=http://evil.example/cb#x", "auth=magic", "scopes=openid,admin", "pairwise=maybe", "colour=red"})
		msg := lanyard.ErrorMessage(err)
		for _, want := range []string{"pairwise", "colour"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q: %s", want, msg)
			}
		}
		_, _, err = f.svc.CreateOIDCClient(f.ctx, "alice", "acme", "bad client", []string{"redirect_uris=http://evil.example/cb#x", "auth=magic", "scopes=openid,admin"})
		msg = lanyard.ErrorMessage(err)
		for _, want := range []string{"client_id", "fragment", "auth method", `scope "admin"`} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q: %s", want, msg)
			}
		}
		if _, _, err := f.svc.CreateOIDCClient(f.ctx, "alice", "acme", "grafana", []string{"redirect_uris=https://x.example/cb"}); lanyard.ErrorKind(err) != lanyard.KindConflict {
			t.Errorf("second grafana: %v", err)
		}

		next, err := f.svc.RotateOIDCClientSecret(f.ctx, "alice", "acme", "grafana")
		if err != nil || next == secret {
			t.Fatalf("rotate: %q, %v", next, err)
		}
		stored, _ = f.db.OIDCClient(f.ctx, acme.ID, "grafana")
		if sum := sha256.Sum256([]byte(next)); string(stored.SecretHash) != string(sum[:]) {
			t.Error("the new secret is not the stored one")
		}
		pub, secret, err := f.svc.CreateOIDCClient(f.ctx, "alice", "acme", "spa", []string{"auth=none", "redirect_uris=http://127.0.0.1:5173/cb"})
		if err != nil || secret != "" || pub.SecretHash != nil {
			t.Errorf("public client: %+v, secret %q, %v", pub, secret, err)
		}

		// A tenant administrator of globex manages globex's clients only.
		ctx := lanyard.WithPrincipal(f.ctx, lanyard.Principal{UserID: 9, Login: "globex-admin", TenantID: globex.ID})
		if _, err := f.svc.OIDCClients(ctx, "acme"); lanyard.ErrorKind(err) != lanyard.KindForbidden {
			t.Errorf("globex admin lists acme's clients: %v", err)
		}
		if _, err := f.svc.RotateOIDCClientSecret(ctx, "globex-admin", "acme", "grafana"); lanyard.ErrorKind(err) != lanyard.KindForbidden {
			t.Errorf("globex admin rotates acme's secret: %v", err)
		}
		if _, _, err := f.svc.CreateOIDCClient(ctx, "globex-admin", "globex", "wiki", []string{"redirect_uris=https://wiki.example.com/cb"}); err != nil {
			t.Errorf("globex admin registers a globex client: %v", err)
		}

		if err := f.svc.DeleteOIDCClient(f.ctx, "alice", "acme", "grafana"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.OIDCClient(f.ctx, "acme", "grafana"); lanyard.ErrorKind(err) != lanyard.KindNotFound {
			t.Errorf("deleted client: %v", err)
		}
	})
}
