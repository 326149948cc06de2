package admin

import (
	"strings"
	"testing"

	"github.com/lanyard-sso/lanyard"
)

// TestAdministrationRespectsOwnership: the admin service (CLI, UI, API) and
// the CSV import are one source, "local": they create no account when the
// tenant names another owner, and never change the fields SCIM keeps.
func TestAdministrationRespectsOwnership(t *testing.T) {
	f := newFixture(t, engines[0].open)
	tenant := f.mustTenant(t, "acme")
	ada := lanyard.User{TenantID: tenant.ID, Login: "ada", Email: "ada@scim.example", Source: lanyard.SourceSCIM, WebAccess: true}
	ada.Normalize()
	if err := f.db.CreateUser(f.ctx, &ada); err != nil {
		t.Fatal(err)
	}
	// Changing a field SCIM keeps is refused; locking is the administrator's.
	if _, _, err := f.svc.SetUser(f.ctx, "root", "acme", "ada", []string{"email=other@example.com"}); lanyard.ErrorKind(err) != lanyard.KindConflict || !strings.Contains(lanyard.ErrorMessage(err), "SCIM provisioning") {
		t.Fatalf("email of a SCIM account: %v", err)
	}
	if _, _, err := f.svc.SetUser(f.ctx, "root", "acme", "ada", []string{"locked=true"}); err != nil {
		t.Fatalf("lock a SCIM account: %v", err)
	}
	_, err := f.svc.ImportUsers(f.ctx, "root", "acme", strings.NewReader("login,email\nada,changed@example.com\n"), ImportOptions{})
	if !strings.Contains(lanyard.ErrorMessage(err), "line 2: account \"ada\" is kept by SCIM provisioning") {
		t.Fatalf("import over a SCIM account: %v", err)
	}
	// An unchanged row of a SCIM account is fine.
	if _, err := f.svc.ImportUsers(f.ctx, "root", "acme", strings.NewReader("login,email\nada,ada@scim.example\n"), ImportOptions{}); err != nil {
		t.Fatalf("unchanged row: %v", err)
	}
	// With SCIM named owner, the administration creates no accounts.
	if _, _, err := f.svc.SetTenant(f.ctx, "root", "acme", []string{"account_owner=scim"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddUser(f.ctx, "root", "acme", lanyard.User{Login: "newbie"}); lanyard.ErrorKind(err) != lanyard.KindConflict {
		t.Fatalf("AddUser with account_owner=scim: %v", err)
	}
	if _, err := f.svc.ImportUsers(f.ctx, "root", "acme", strings.NewReader("login\nnewbie\n"), ImportOptions{}); !strings.Contains(lanyard.ErrorMessage(err), "account_owner=scim") {
		t.Fatalf("import with account_owner=scim: %v", err)
	}
	if _, _, err := f.svc.SetTenant(f.ctx, "root", "acme", []string{"account_owner=nobody"}); err == nil {
		t.Fatal("account_owner=nobody accepted")
	}
}
