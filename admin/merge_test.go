package admin

import (
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

func TestMergeUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.mustTenant(t, "acme")
		// The usual duplicate: an existing local account, and a second one
		// made by the first SSO login under the UPN.
		old, err := f.svc.AddUser(f.ctx, "test", "acme", lanyard.User{Login: "jdoe", Email: "", FirstName: "John",
			Roles: []lanyard.RoleGrant{{Role: "editor"}}, WebAccess: true})
		if err != nil {
			t.Fatal(err)
		}
		dup, err := f.svc.AddUser(f.ctx, "test", "acme", lanyard.User{Login: "jdoe@acme.com", Email: "jdoe@acme.com",
			LastName: "Doe", Source: lanyard.SourceIdP, Roles: []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleIdP}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.db.LinkUser(f.ctx, lanyard.Link{TenantID: dup.TenantID, UserID: dup.ID, IdPEntityID: "https://idp", NameID: "jdoe@acme.com"}); err != nil {
			t.Fatal(err)
		}
		now := f.clock.Now()
		sess := lanyard.Session{Hash: lanyard.HashSessionID("s"), TenantID: dup.TenantID, UserID: dup.ID, Kind: lanyard.SessionSSO,
			CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsExpiresAt: now.Add(time.Hour)}
		if err := f.db.CreateSession(f.ctx, &sess); err != nil {
			t.Fatal(err)
		}

		plan, err := f.svc.PreviewMerge(f.ctx, "acme", "jdoe", "jdoe@acme.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Links) != 1 || plan.Sessions != 1 {
			t.Errorf("preview: %d links, %d sessions; want 1, 1", len(plan.Links), plan.Sessions)
		}
		changes := strings.Join(plan.Changes, "\n")
		for _, want := range []string{"email: \"\" → jdoe@acme.com", "lastname: \"\" → Doe", "all roles: editor → editor,staff"} {
			if !strings.Contains(changes, want) {
				t.Errorf("preview changes lack %q:\n%s", want, changes)
			}
		}
		// The preview wrote nothing.
		if _, err := f.svc.User(f.ctx, "acme", "jdoe@acme.com"); err != nil {
			t.Fatalf("preview deleted the account: %v", err)
		}

		done, err := f.svc.MergeUsers(f.ctx, "alice", "acme", "jdoe", "jdoe@acme.com")
		if err != nil {
			t.Fatal(err)
		}
		if done.AuditEvents < 1 {
			t.Errorf("audit events moved: %d, want the creation event at least", done.AuditEvents)
		}
		kept, err := f.svc.DescribeUser(f.ctx, "acme", "jdoe")
		if err != nil {
			t.Fatal(err)
		}
		if kept.User.ID != old.ID || kept.User.Email != "jdoe@acme.com" || kept.User.FirstName != "John" || kept.User.LastName != "Doe" {
			t.Errorf("kept account: %+v", kept.User)
		}
		if got := strings.Join(kept.User.RoleNames(), ";"); got != "editor;staff" {
			t.Errorf("roles %q, want editor;staff", got)
		}
		if len(kept.Links) != 1 || len(kept.Sessions) != 1 {
			t.Errorf("kept account has %d links, %d sessions; want 1, 1", len(kept.Links), len(kept.Sessions))
		}
		if _, err := f.svc.User(f.ctx, "acme", "jdoe@acme.com"); lanyard.ErrorKind(err) != lanyard.KindNotFound {
			t.Errorf("merged account still there: %v", err)
		}
		ev := f.lastAudit(t, "user.merge")
		if ev.Actor != "alice" || ev.UserID != old.ID || !strings.Contains(ev.Message, "merged jdoe@acme.com into jdoe") {
			t.Errorf("audit event: %+v", ev)
		}
		created, err := f.db.AuditEvents(f.ctx, lanyard.AuditFilter{UserID: old.ID, Action: "user.create"})
		if err != nil {
			t.Fatal(err)
		}
		if len(created) != 2 {
			t.Errorf("creation events of the kept account: %d, want both accounts' (history moved)", len(created))
		}

		// Refusals.
		if _, err := f.svc.MergeUsers(f.ctx, "alice", "acme", "jdoe", "JDOE"); lanyard.ErrorKind(err) != lanyard.KindInvalid {
			t.Errorf("merge into itself: %v", err)
		}
		if _, err := f.svc.MergeUsers(f.ctx, "alice", "acme", "jdoe", "ghost"); lanyard.ErrorKind(err) != lanyard.KindNotFound {
			t.Errorf("merge of an unknown account: %v", err)
		}
	})
}

func TestConvertToSSO(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.mustTenant(t, "acme")
		for _, u := range []lanyard.User{
			{Login: "ann", LoginMethod: lanyard.LoginPassword, PasswordHash: "$argon2id$x"},
			{Login: "bob", Email: "bob@acme.com", LoginMethod: lanyard.LoginPassword},
			{Login: "carl@acme.com", LoginMethod: lanyard.LoginPassword},
			{Login: "dora", LoginMethod: lanyard.LoginPassword},
			{Login: "dora@acme.com"},
		} {
			if _, err := f.svc.AddUser(f.ctx, "test", "acme", u); err != nil {
				t.Fatal(err)
			}
		}
		// Without a domain, ann (no email) cannot be converted; dora's UPN
		// is taken: nothing is converted and both problems are reported.
		_, err := f.svc.ConvertToSSO(f.ctx, "alice", "acme", []string{"ann", "bob", "dora", "zed"}, ConvertOptions{Domain: "acme.com"})
		msg := lanyard.ErrorMessage(err)
		for _, want := range []string{"dora cannot become dora@acme.com", `user "zed" not found`} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q: %s", want, msg)
			}
		}
		if u, _ := f.svc.User(f.ctx, "acme", "ann"); u.LoginMethod != lanyard.LoginPassword {
			t.Fatal("a refused conversion changed an account")
		}
		if _, err := f.svc.ConvertToSSO(f.ctx, "alice", "acme", []string{"ann"}, ConvertOptions{}); !strings.Contains(lanyard.ErrorMessage(err), "give a domain") {
			t.Errorf("ann without email nor domain: %v", err)
		}

		dry, err := f.svc.ConvertToSSO(f.ctx, "alice", "acme", []string{"ann", "bob", "carl@acme.com"}, ConvertOptions{Domain: "acme.com", DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if dry[0].NewLogin != "ann@acme.com" || dry[1].NewLogin != "bob@acme.com" || dry[2].NewLogin != "carl@acme.com" {
			t.Errorf("dry run: %+v", dry)
		}
		if _, err := f.svc.User(f.ctx, "acme", "ann"); err != nil {
			t.Fatal("the dry run renamed ann")
		}
		if _, err := f.svc.ConvertToSSO(f.ctx, "alice", "acme", []string{"ann", "bob", "carl@acme.com"}, ConvertOptions{Domain: "acme.com"}); err != nil {
			t.Fatal(err)
		}
		ann, err := f.svc.User(f.ctx, "acme", "ann@acme.com")
		if err != nil {
			t.Fatal(err)
		}
		if ann.LoginMethod != lanyard.LoginSSO || ann.PasswordHash != "" {
			t.Errorf("ann after conversion: method %s, password %q", ann.LoginMethod, ann.PasswordHash)
		}
		if n := f.auditCount(t, "user.convert"); n != 3 {
			t.Errorf("user.convert events: %d, want 3", n)
		}
		if ev := f.lastAudit(t, "user.convert"); ev.Actor != "alice" {
			t.Errorf("actor %q", ev.Actor)
		}
	})
}
