package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

func TestAPITokens(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		tok, secret, err := f.svc.CreateAPIToken(f.ctx, "alice", "ci", []string{"read", "READ"}, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(secret, "lyd_") || !strings.HasPrefix(secret, tok.Prefix) || strings.Join(tok.Scopes, ",") != "read" {
			t.Errorf("token %+v, secret %q", tok, secret)
		}
		got, _, err := f.svc.AuthenticateAPIToken(f.ctx, secret)
		if err != nil || got.ID != tok.ID || !got.Allows(lanyard.ScopeRead) || got.Allows(lanyard.ScopeWrite) {
			t.Fatalf("authenticate: %+v, %v", got, err)
		}
		if _, _, err := f.svc.AuthenticateAPIToken(f.ctx, secret+"x"); err != ErrBadToken {
			t.Errorf("wrong secret: %v", err)
		}
		f.clock.Advance(2 * time.Hour)
		if _, _, err := f.svc.AuthenticateAPIToken(f.ctx, secret); err != ErrBadToken {
			t.Errorf("expired token: %v", err)
		}

		_, w, err := f.svc.CreateAPIToken(f.ctx, "alice", "provisioning", []string{"write"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.CreateAPIToken(f.ctx, "alice", "provisioning", []string{"write"}, 0); lanyard.ErrorKind(err) != lanyard.KindConflict {
			t.Errorf("second token of the same name: %v", err)
		}
		_, _, err = f.svc.CreateAPIToken(f.ctx, "alice", "", []string{"admin"}, -time.Second)
		msg := lanyard.ErrorMessage(err)
		for _, want := range []string{"name", `scope "admin"`, "positive duration"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q: %s", want, msg)
			}
		}
		if _, err := f.svc.RevokeAPIToken(f.ctx, "bob", "provisioning"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.AuthenticateAPIToken(f.ctx, w); err != ErrBadToken {
			t.Errorf("revoked token: %v", err)
		}
		if _, err := f.svc.RevokeAPIToken(f.ctx, "bob", "provisioning"); lanyard.ErrorKind(err) != lanyard.KindNotFound {
			t.Errorf("revoke twice: %v", err)
		}
		toks, err := f.svc.APITokens(f.ctx)
		if err != nil || len(toks) != 2 {
			t.Fatalf("tokens: %d, %v", len(toks), err)
		}
		if ev := f.lastAudit(t, "token.revoke"); ev.Actor != "bob" || ev.Subject != "provisioning" {
			t.Errorf("revoke audit: %+v", ev)
		}
		if ev := f.lastAudit(t, "token.create"); ev.Actor != "alice" || strings.Contains(ev.Message, w) {
			t.Errorf("create audit: %+v", ev)
		}
	})
}

func TestLoginTraces(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.mustTenant(t, "acme")
		tn, _ := f.svc.Tenant(f.ctx, "acme")
		sig := strings.Repeat("QUJD", 100)
		doc := "<samlp:Response><ds:SignatureValue>\n" + sig + "\n</ds:SignatureValue><ds:X509Certificate>" + sig + "</ds:X509Certificate></samlp:Response>"
		tr, err := f.svc.RecordLoginTrace(f.ctx, lanyard.LoginTrace{TenantID: tn.ID, Reason: "destination_mismatch", Message: "expected https, got http", Document: doc})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(tr.Document, sig) || !strings.Contains(tr.Document, "<ds:SignatureValue>QUJDQUJDQUJDQUJD…(384 more characters)</ds:SignatureValue>") {
			t.Errorf("document not shortened: %s", tr.Document)
		}
		if !strings.Contains(tr.Hint, "TLS-terminating proxy") {
			t.Errorf("hint: %s", tr.Hint)
		}
		list, err := f.svc.LoginTraces(f.ctx, "acme", "", 0, 0)
		if err != nil || len(list) != 1 {
			t.Fatalf("traces: %d, %v", len(list), err)
		}
		if _, err := f.svc.LoginTrace(f.ctx, "acme", tr.ID); err != nil {
			t.Fatal(err)
		}
		f.mustTenant(t, "other")
		if _, err := f.svc.LoginTrace(f.ctx, "other", tr.ID); lanyard.ErrorKind(err) != lanyard.KindNotFound {
			t.Errorf("trace of another tenant: %v", err)
		}
		// Past the retention period, the next trace purges it.
		f.clock.Advance(TraceRetention + time.Hour)
		if _, err := f.svc.RecordLoginTrace(f.ctx, lanyard.LoginTrace{TenantID: tn.ID, Reason: "expired"}); err != nil {
			t.Fatal(err)
		}
		list, _ = f.svc.LoginTraces(f.ctx, "acme", "", 0, 0)
		if len(list) != 1 || list[0].Reason != "expired" {
			t.Errorf("after the retention period: %+v", list)
		}
	})
}
