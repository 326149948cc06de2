package admin

import (
	"context"
	"errors"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/lockout"
	"github.com/lanyard-sso/lanyard/password"
	"github.com/lanyard-sso/lanyard/spkeys"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// keyCache hands out one generated key pair per use, so tests do not pay
// for RSA key generation on every tenant.
var keyCache struct {
	sync.Mutex
	keys map[lanyard.KeyUse]lanyard.SPKey
}

func cachedKey(slug string, use lanyard.KeyUse, now time.Time) (lanyard.SPKey, error) {
	keyCache.Lock()
	defer keyCache.Unlock()
	if k, ok := keyCache.keys[use]; ok {
		return k, nil
	}
	k, err := spkeys.Generate(slug, use, now)
	if err != nil {
		return k, err
	}
	if keyCache.keys == nil {
		keyCache.keys = map[lanyard.KeyUse]lanyard.SPKey{}
	}
	keyCache.keys[use] = k
	return k, nil
}

type fixture struct {
	svc   *Service
	db    *sqlstore.DB
	clock *testdb.Clock
	ctx   context.Context
	// reopen opens a second handle on the same database.
	reopen func() (*sqlstore.DB, error)
}

// engines are the stores the tests run on: each opens a fresh migrated
// database and returns a function opening a second handle on it (as a
// second node would).
var engines = []struct {
	name string
	open func(t *testing.T) (db *sqlstore.DB, reopen func() (*sqlstore.DB, error))
}{
	{"sqlite", func(t *testing.T) (*sqlstore.DB, func() (*sqlstore.DB, error)) {
		path := filepath.Join(t.TempDir(), "lanyard.db")
		reopen := func() (*sqlstore.DB, error) { return sqlite.Open(context.Background(), path) }
		db, err := reopen()
		if err != nil {
			t.Fatal(err)
		}
		return db, reopen
	}},
	{"postgres", func(t *testing.T) (*sqlstore.DB, func() (*sqlstore.DB, error)) {
		dbURL := testdb.PostgresURL(t)
		reopen := func() (*sqlstore.DB, error) { return postgres.Open(context.Background(), dbURL) }
		db, err := reopen()
		if err != nil {
			t.Fatal(err)
		}
		return db, reopen
	}},
}

// forEachEngine runs test as a subtest per engine, on a fresh fixture.
func forEachEngine(t *testing.T, test func(t *testing.T, f *fixture)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			test(t, newFixture(t, e.open))
		})
	}
}

func newFixture(t *testing.T, open func(t *testing.T) (*sqlstore.DB, func() (*sqlstore.DB, error))) *fixture {
	t.Helper()
	ctx := context.Background()
	db, reopen := open(t)
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := testdb.NewClock(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	base, _ := url.Parse("https://sso.example.com/")
	svc := New(db, Options{Now: c.Now, BaseURL: base})
	svc.generateKey = cachedKey
	return &fixture{svc: svc, db: db, clock: c, ctx: ctx, reopen: reopen}
}

// mustTenant creates a tenant or fails the test.
func (f *fixture) mustTenant(t *testing.T, slug string, domains ...string) lanyard.Tenant {
	t.Helper()
	tn, err := f.svc.CreateTenant(f.ctx, "test", slug, strings.ToUpper(slug), domains)
	if err != nil {
		t.Fatalf("create tenant %s: %v", slug, err)
	}
	return tn
}

// lastAudit returns the newest audit event with the action.
func (f *fixture) lastAudit(t *testing.T, action string) lanyard.AuditEvent {
	t.Helper()
	evs, err := f.db.AuditEvents(f.ctx, lanyard.AuditFilter{Action: action, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) == 0 {
		t.Fatalf("no audit event %q", action)
	}
	return evs[0]
}

func (f *fixture) auditCount(t *testing.T, action string) int {
	t.Helper()
	evs, err := f.db.AuditEvents(f.ctx, lanyard.AuditFilter{Action: action, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// wantError checks the kind of err and that its message contains every part.
func wantError(t *testing.T, err error, kind lanyard.Kind, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", kind)
	}
	if got := lanyard.ErrorKind(err); got != kind {
		t.Fatalf("error kind %v, want %v: %v", got, kind, err)
	}
	msg := lanyard.ErrorMessage(err)
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error message %q does not contain %q", msg, p)
		}
	}
}

func TestCreateTenant(t *testing.T) { forEachEngine(t, testCreateTenant) }

func testCreateTenant(t *testing.T, f *fixture) {
	f.svc.generateKey = spkeys.Generate // real keys once
	tn, err := f.svc.CreateTenant(f.ctx, "cli", "Acme", "Acme Corp", []string{"ACME.com", "acme.org"})
	if err != nil {
		t.Fatal(err)
	}
	if tn.ID == 0 || tn.Slug != "acme" || tn.DisplayName != "Acme Corp" {
		t.Errorf("tenant %+v", tn)
	}
	if got := strings.Join(tn.EmailDomains, ","); got != "acme.com,acme.org" {
		t.Errorf("domains %q", got)
	}
	if tn.SSO.Enabled || tn.SSO.Skew() != lanyard.DefaultClockSkew {
		t.Errorf("SSO settings not defaulted: %+v", tn.SSO)
	}
	keys, err := f.db.SPKeys(f.ctx, tn.ID)
	if err != nil {
		t.Fatal(err)
	}
	uses := map[lanyard.KeyUse]bool{}
	for _, k := range keys {
		uses[k.Use] = true
		if _, cert, err := spkeys.Parse(k); err != nil {
			t.Errorf("%s key: %v", k.Use, err)
		} else if cert.Subject.CommonName != "Lanyard SP acme" {
			t.Errorf("%s key CN %q", k.Use, cert.Subject.CommonName)
		}
		if !k.Active {
			t.Errorf("%s key not active", k.Use)
		}
	}
	if len(keys) != 2 || !uses[lanyard.KeySigning] || !uses[lanyard.KeyEncryption] {
		t.Errorf("keys: %d, uses %v; want one signing and one encryption", len(keys), uses)
	}
	ev := f.lastAudit(t, "tenant.create")
	if ev.Actor != "cli" || ev.TenantID != tn.ID || !strings.Contains(ev.Message, "acme") {
		t.Errorf("audit event %+v", ev)
	}

	info, err := f.svc.DescribeTenant(f.ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if info.Endpoints.EntityID != "https://sso.example.com/t/acme/saml/metadata" || info.Endpoints.ACSURL != "https://sso.example.com/t/acme/saml/acs" {
		t.Errorf("endpoints %+v", info.Endpoints)
	}
	if len(info.Keys) != 2 || info.Keys[0].Fingerprint == "" || info.Keys[0].Problem != "" {
		t.Errorf("key info %+v", info.Keys)
	}
}

func TestCreateTenantRefusals(t *testing.T) { forEachEngine(t, testCreateTenantRefusals) }

func testCreateTenantRefusals(t *testing.T, f *fixture) {
	f.mustTenant(t, "acme", "acme.com")
	tests := []struct {
		name    string
		slug    string
		domains []string
		kind    lanyard.Kind
		parts   []string
	}{
		{"duplicate slug", "acme", nil, lanyard.KindConflict, []string{`tenant "acme" already exists`}},
		{"duplicate slug other case", "ACME", nil, lanyard.KindConflict, []string{`tenant "acme" already exists`}},
		{"taken domain", "other", []string{"acme.com"}, lanyard.KindConflict, []string{`email domain "acme.com" already belongs to tenant "acme"`}},
		{"bad slug and domain", "no way", []string{"not a domain"}, lanyard.KindInvalid, []string{`slug "no way"`, `email domain "not a domain"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.svc.CreateTenant(f.ctx, "cli", tc.slug, "", tc.domains)
			wantError(t, err, tc.kind, tc.parts...)
		})
	}
	if n := f.auditCount(t, "tenant.create"); n != 1 {
		t.Errorf("%d tenant.create events, want 1", n)
	}
}

func TestEnsureDefaultTenantConcurrent(t *testing.T) {
	forEachEngine(t, testEnsureDefaultTenantConcurrent)
}

func testEnsureDefaultTenantConcurrent(t *testing.T, f *fixture) {
	// Two services over the same database file, as two nodes starting at once.
	db2, err := f.reopen()
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	svc2 := New(db2, Options{})
	svc2.generateKey = cachedKey
	var wg sync.WaitGroup
	ids := make([]int64, 6)
	errs := make([]error, 6)
	for i := range ids {
		svc := f.svc
		if i%2 == 1 {
			svc = svc2
		}
		wg.Go(func() {
			tn, err := svc.EnsureDefaultTenant(f.ctx)
			ids[i], errs[i] = tn.ID, err
		})
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] || ids[i] == 0 {
			t.Fatalf("ids %v: want one tenant", ids)
		}
	}
	keys, err := f.db.SPKeys(f.ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Errorf("default tenant has %d keys, want 2", len(keys))
	}
	if n := f.auditCount(t, "tenant.create"); n != 1 {
		t.Errorf("%d tenant.create events, want 1", n)
	}
}

func TestTenantNotFound(t *testing.T) { forEachEngine(t, testTenantNotFound) }

func testTenantNotFound(t *testing.T, f *fixture) {
	_, err := f.svc.Tenant(f.ctx, "nope")
	wantError(t, err, lanyard.KindNotFound, `tenant "nope" not found`, "lanyard tenant list")
	if !errors.Is(err, lanyard.ErrNotFound) {
		t.Error("error does not match ErrNotFound")
	}
}

func TestSetTenant(t *testing.T) { forEachEngine(t, testSetTenant) }

func testSetTenant(t *testing.T, f *fixture) {
	f.mustTenant(t, "acme")
	f.mustTenant(t, "other", "other.com")

	tn, changes, err := f.svc.SetTenant(f.ctx, "alice", "acme", []string{
		"jit=yes", "sso=on", "clock_skew=90", "session_idle=2h",
		"email_domains=Acme.com, acme.org", "name_id_format=email",
		"group_roles.Domain Admins=admin;ops", "attr.email=mail,email",
		"sign_authn_requests=0", "new_user.roles=viewer", "ignore_on_update=email,roles",
		"entity_id_scheme=subdomain", "entity_subdomain=dev",
	})
	if err != nil {
		t.Fatal(err)
	}
	s := tn.SSO
	if !s.JIT || !s.Enabled || s.Skew() != 90*time.Second || time.Duration(s.SessionIdle) != 2*time.Hour {
		t.Errorf("settings not applied: %+v", s)
	}
	if s.NameIDFormat != "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" {
		t.Errorf("name_id_format %q", s.NameIDFormat)
	}
	if got := s.GroupRoles["Domain Admins"]; strings.Join(got, ";") != "admin;ops" {
		t.Errorf("group roles %v", s.GroupRoles)
	}
	if s.SignAuthnRequests == nil || *s.SignAuthnRequests {
		t.Errorf("sign_authn_requests %v", s.SignAuthnRequests)
	}
	if got := f.svc.Endpoints(tn).EntityID; got != "https://dev.sso.example.com/sp" {
		t.Errorf("subdomain entity ID %q", got)
	}
	joined := strings.Join(changes, "\n")
	for _, want := range []string{"jit: false → true", "enabled: false → true", "clock_skew: 3m0s → 1m30s", `email_domains: "" → acme.com,acme.org`} {
		if !strings.Contains(joined, want) {
			t.Errorf("changes %q lack %q", changes, want)
		}
	}
	ev := f.lastAudit(t, "tenant.update")
	if ev.Actor != "alice" || !strings.Contains(ev.Message, "jit: false → true") {
		t.Errorf("audit %+v", ev)
	}

	// The stored tenant is what was returned.
	stored, _ := f.svc.Tenant(f.ctx, "acme")
	if !stored.SSO.JIT || len(stored.EmailDomains) != 2 {
		t.Errorf("stored %+v", stored)
	}

	// No change: nothing written.
	before := f.auditCount(t, "tenant.update")
	if _, changes, err := f.svc.SetTenant(f.ctx, "alice", "acme", []string{"jit=true"}); err != nil || len(changes) != 0 {
		t.Errorf("no-op: changes %v, err %v", changes, err)
	}
	if f.auditCount(t, "tenant.update") != before {
		t.Error("a no-op wrote an audit event")
	}

	// An empty value removes a group mapping.
	tn, _, err = f.svc.SetTenant(f.ctx, "alice", "acme", []string{"group_roles.Domain Admins="})
	if err != nil || len(tn.SSO.GroupRoles) != 0 {
		t.Errorf("remove group mapping: %v, %v", tn.SSO.GroupRoles, err)
	}

	// A domain of another tenant.
	_, _, err = f.svc.SetTenant(f.ctx, "alice", "acme", []string{"email_domains=other.com"})
	wantError(t, err, lanyard.KindConflict, `email domain "other.com" already belongs to tenant "other"`)
}

func TestSetTenantReportsEveryProblem(t *testing.T) {
	forEachEngine(t, testSetTenantReportsEveryProblem)
}

func testSetTenantReportsEveryProblem(t *testing.T, f *fixture) {
	f.mustTenant(t, "acme")
	before, _ := f.svc.Tenant(f.ctx, "acme")
	_, _, err := f.svc.SetTenant(f.ctx, "cli", "acme", []string{
		"jit=maybe", "jti=true", "colour=blue", "clock_skew=soon", "noequals",
		"session_idle=48h", "session_absolute=24h", "default_landing=https://evil.example",
		"ignore_on_update=password", "display_name=Fine", "jit=true",
	})
	wantError(t, err, lanyard.KindInvalid,
		"jit=maybe: use true or false",
		`unknown key "jti" (did you mean "jit"?)`,
		`unknown key "colour"`,
		"known keys: display_name, email_domains",
		"group_roles.<GROUP>",
		"clock_skew=soon",
		`"noequals": want key=value`,
		"session_idle (48h0m0s) cannot exceed session_absolute (24h0m0s)",
		"default_landing=https://evil.example",
		`ignore_on_update=password`,
		"jit: given more than once",
	)
	after, _ := f.svc.Tenant(f.ctx, "acme")
	if after.DisplayName != before.DisplayName || after.SSO.SessionIdle != before.SSO.SessionIdle {
		t.Error("a refused update changed the tenant")
	}
	if n := f.auditCount(t, "tenant.update"); n != 0 {
		t.Errorf("%d tenant.update events after a refused update", n)
	}
	_, _, err = f.svc.SetTenant(f.ctx, "cli", "acme", nil)
	wantError(t, err, lanyard.KindInvalid, "no settings given")
	_, _, err = f.svc.SetTenant(f.ctx, "cli", "nope", []string{"jit=true"})
	wantError(t, err, lanyard.KindNotFound, `tenant "nope" not found`)
}

func TestTenantSettingValuesRoundTrip(t *testing.T) {
	forEachEngine(t, testTenantSettingValuesRoundTrip)
}

func testTenantSettingValuesRoundTrip(t *testing.T, f *fixture) {
	f.mustTenant(t, "acme")
	src, _, err := f.svc.SetTenant(f.ctx, "cli", "acme", []string{
		"jit=true", "group_roles.staff=viewer", "group_roles.ops=admin;ops", "attr.groups=memberOf",
		"new_user.web_access=false", "refresh_interval=10m", "entity_id_scheme=explicit", "entity_id=urn:acme:sp",
	})
	if err != nil {
		t.Fatal(err)
	}
	var kvs []string
	for _, kv := range TenantSettingValues(src) {
		kvs = append(kvs, kv.Key+"="+kv.Value)
	}
	f.mustTenant(t, "copy")
	dst, _, err := f.svc.SetTenant(f.ctx, "cli", "copy", kvs)
	if err != nil {
		t.Fatal(err)
	}
	a, b := TenantSettingValues(src), TenantSettingValues(dst)
	if len(a) != len(b) {
		t.Fatalf("%d values vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Key != "display_name" && a[i] != b[i] {
			t.Errorf("%s: %q vs %q", a[i].Key, a[i].Value, b[i].Value)
		}
	}
}

func TestUsers(t *testing.T) { forEachEngine(t, testUsers) }

func testUsers(t *testing.T, f *fixture) {
	tn := f.mustTenant(t, "acme")
	u, err := f.svc.AddUser(f.ctx, "cli", "acme", lanyard.User{Login: " bob ", Email: "bob@acme.com", WebAccess: true, Roles: []lanyard.RoleGrant{{Role: "viewer"}}})
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == 0 || u.Login != "bob" || u.Status != lanyard.StatusActive || u.LoginMethod != lanyard.LoginSSO || u.TenantID != tn.ID {
		t.Errorf("user %+v", u)
	}
	if ev := f.lastAudit(t, "user.create"); ev.UserID != u.ID || ev.Subject != "bob" {
		t.Errorf("audit %+v", ev)
	}

	_, err = f.svc.AddUser(f.ctx, "cli", "acme", lanyard.User{Login: "BOB"})
	wantError(t, err, lanyard.KindConflict, `login "BOB" already exists in tenant "acme"`)
	_, err = f.svc.AddUser(f.ctx, "cli", "acme", lanyard.User{Login: "bad login", Email: "nope", Status: "gone"})
	wantError(t, err, lanyard.KindInvalid, `login "bad login"`, `email "nope"`, `status "gone"`)
	_, err = f.svc.AddUser(f.ctx, "cli", "nope", lanyard.User{Login: "x"})
	wantError(t, err, lanyard.KindNotFound, `tenant "nope" not found`)

	if _, err := f.svc.AddUser(f.ctx, "cli", "acme", lanyard.User{Login: "carol", Status: lanyard.StatusInactive}); err != nil {
		t.Fatal(err)
	}
	list, err := f.svc.Users(f.ctx, "acme", lanyard.UserFilter{Status: lanyard.StatusActive})
	if err != nil || len(list) != 1 || list[0].Login != "bob" {
		t.Errorf("active users %v, %v", list, err)
	}
	_, err = f.svc.Users(f.ctx, "acme", lanyard.UserFilter{Status: "zombie", LoginMethod: "magic"})
	wantError(t, err, lanyard.KindInvalid, `status "zombie"`, `login method "magic"`)

	_, err = f.svc.User(f.ctx, "acme", "dave")
	wantError(t, err, lanyard.KindNotFound, `user "dave" not found in tenant "acme"`, "lanyard user list --tenant acme")
	if got, err := f.svc.User(f.ctx, "acme", "BOB"); err != nil || got.ID != u.ID {
		t.Errorf("case-insensitive lookup: %v, %v", got.Login, err)
	}
}

func TestSetUser(t *testing.T) { forEachEngine(t, testSetUser) }

func testSetUser(t *testing.T, f *fixture) {
	tn := f.mustTenant(t, "acme")
	u, err := f.svc.AddUser(f.ctx, "cli", "acme", lanyard.User{Login: "bob", WebAccess: true, Roles: []lanyard.RoleGrant{{Role: "viewer", Source: lanyard.RoleIdP}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddUser(f.ctx, "cli", "acme", lanyard.User{Login: "carol"}); err != nil {
		t.Fatal(err)
	}
	// A live session, which deactivation must end.
	now := f.clock.Now()
	sess := lanyard.Session{Hash: lanyard.HashSessionID("s1"), TenantID: tn.ID, UserID: u.ID, Kind: lanyard.SessionPassword,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsExpiresAt: now.Add(time.Hour), CSRFSecret: []byte("x")}
	if err := f.db.CreateSession(f.ctx, &sess); err != nil {
		t.Fatal(err)
	}

	got, changes, err := f.svc.SetUser(f.ctx, "alice", "acme", "bob", []string{"email=bob@acme.com", "roles=admin;ops", "status=inactive", "login_method=password"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "bob@acme.com" || got.Status != lanyard.StatusInactive || got.LoginMethod != lanyard.LoginPassword {
		t.Errorf("user %+v", got)
	}
	if names := strings.Join(got.RoleNames(), ";"); names != "admin;ops;viewer" {
		t.Errorf("roles %q: manual roles replaced, IdP role kept", names)
	}
	if !strings.Contains(strings.Join(changes, "\n"), "status: active → inactive") {
		t.Errorf("changes %q", changes)
	}
	if _, err := f.db.Session(f.ctx, sess.Hash, now); !errors.Is(err, lanyard.ErrNotFound) {
		t.Errorf("session of a deactivated user: %v, want ended", err)
	}
	if ev := f.lastAudit(t, "user.update"); !strings.Contains(ev.Message, "ended 1 session") || ev.Actor != "alice" {
		t.Errorf("audit %+v", ev)
	}

	_, _, err = f.svc.SetUser(f.ctx, "alice", "acme", "bob", []string{"login=carol"})
	wantError(t, err, lanyard.KindConflict, `login "carol" already exists in tenant "acme"`)
	_, _, err = f.svc.SetUser(f.ctx, "alice", "acme", "bob", []string{"status=gone", "locked=perhaps", "email=nope", "roles=a,b", "colour=red"})
	wantError(t, err, lanyard.KindInvalid, "status=gone", "locked=perhaps", `email "nope"`, `unknown key "colour"`, "known keys: login, email")

	renamed, _, err := f.svc.SetUser(f.ctx, "alice", "acme", "bob", []string{"login=robert"})
	if err != nil || renamed.Login != "robert" {
		t.Fatalf("rename: %v, %v", renamed.Login, err)
	}
	_, _, err = f.svc.SetUser(f.ctx, "alice", "acme", "bob", []string{"locked=true"})
	wantError(t, err, lanyard.KindNotFound, `user "bob" not found`)
}

func TestCreateAdmin(t *testing.T) { forEachEngine(t, testCreateAdmin) }

func testCreateAdmin(t *testing.T, f *fixture) {
	f.mustTenant(t, "acme")
	const pw = "correct horse battery staple"
	u, created, err := f.svc.CreateAdmin(f.ctx, "cli", "acme", "root", pw)
	if err != nil {
		t.Fatal(err)
	}
	if !created || !u.HasRole(lanyard.RoleOperator) || u.LoginMethod != lanyard.LoginPassword || !u.WebAccess || u.Source != lanyard.SourceLocal {
		t.Errorf("created %v, user %+v", created, u)
	}
	if err := password.Verify(pw, u.PasswordHash); err != nil {
		t.Errorf("password: %v", err)
	}
	if ev := f.lastAudit(t, "admin.create"); ev.UserID != u.ID || strings.Contains(ev.Message, pw) {
		t.Errorf("audit %+v", ev)
	}

	// An existing SSO user becomes an administrator and keeps SSO.
	if _, err := f.svc.AddUser(f.ctx, "cli", "acme", lanyard.User{Login: "sam", WebAccess: true}); err != nil {
		t.Fatal(err)
	}
	u, created, err = f.svc.CreateAdmin(f.ctx, "cli", "acme", "sam", pw)
	if err != nil {
		t.Fatal(err)
	}
	if created || !u.HasRole(lanyard.RoleOperator) || u.LoginMethod != lanyard.LoginSSO || password.Verify(pw, u.PasswordHash) != nil {
		t.Errorf("existing user: created %v, %+v", created, u)
	}
	if ev := f.lastAudit(t, "admin.create"); !strings.Contains(ev.Message, "granted lanyard:operator") {
		t.Errorf("audit %+v", ev)
	}

	_, _, err = f.svc.CreateAdmin(f.ctx, "cli", "acme", "weak", "short")
	wantError(t, err, lanyard.KindInvalid, "password too short")
	_, _, err = f.svc.CreateAdmin(f.ctx, "cli", "nope", "root", pw)
	wantError(t, err, lanyard.KindNotFound, `tenant "nope" not found`)
}

func TestPasswordReset(t *testing.T) { forEachEngine(t, testPasswordReset) }

func testPasswordReset(t *testing.T, f *fixture) {
	tn := f.mustTenant(t, "acme")
	root, _, err := f.svc.CreateAdmin(f.ctx, "cli", "acme", "Root", "first password 123")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AddUser(f.ctx, "cli", "acme", lanyard.User{Login: "bob"}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.CreatePasswordReset(f.ctx, "cli", "acme", "bob", 0)
	wantError(t, err, lanyard.KindForbidden, `user "bob" of tenant "acme" is not an administrator`)
	_, _, err = f.svc.CreatePasswordReset(f.ctx, "cli", "acme", "root", 30*24*time.Hour)
	wantError(t, err, lanyard.KindInvalid, "reset link lifetime")

	link, expires, err := f.svc.CreatePasswordReset(f.ctx, "cli", "acme", "root", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !expires.Equal(f.clock.Now().Add(time.Hour)) {
		t.Errorf("expires %v", expires)
	}
	lu, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, "https://sso.example.com/admin/reset?token=") {
		t.Fatalf("link %q", link)
	}
	token := lu.Query().Get("token")
	if len(token) != 43 {
		t.Errorf("token %q: want 32 bytes base64url", token)
	}
	if ev := f.lastAudit(t, "admin.password_reset_link"); ev.UserID != root.ID || strings.Contains(ev.Message, token) {
		t.Errorf("audit %+v", ev)
	}

	// Failed logins are cleared by a successful reset.
	key := ThrottleAccountKey(tn.ID, "ROOT")
	if key != "account:"+strconv.FormatInt(tn.ID, 10)+":root" {
		t.Errorf("throttle key %q", key)
	}
	lockKey := lockout.LockoutKey(lockout.AccountKey(tn.ID, "root"))
	for _, k := range []string{key, key, key, lockKey} {
		if err := f.db.RecordFailure(f.ctx, k, f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}

	// A weak password does not spend the token.
	_, err = f.svc.ConsumePasswordReset(f.ctx, token, "short")
	wantError(t, err, lanyard.KindInvalid, "password too short")
	u, err := f.svc.ConsumePasswordReset(f.ctx, token, "second password 456")
	if err != nil {
		t.Fatal(err)
	}
	if password.Verify("second password 456", u.PasswordHash) != nil {
		t.Error("new password does not verify")
	}
	for _, k := range []string{key, lockKey} {
		if n, _ := f.db.Failures(f.ctx, k, f.clock.Now().Add(-time.Hour)); n != 0 {
			t.Errorf("%s: %d failures left after reset", k, n)
		}
	}
	if ev := f.lastAudit(t, "admin.password_reset"); ev.UserID != root.ID {
		t.Errorf("audit %+v", ev)
	}

	// One use only.
	_, err = f.svc.ConsumePasswordReset(f.ctx, token, "third password 789")
	wantError(t, err, lanyard.KindInvalid, "expired or was already used", "lanyard admin reset-password")

	// Expiry.
	link, _, err = f.svc.CreatePasswordReset(f.ctx, "cli", "acme", "root", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	lu, _ = url.Parse(link)
	f.clock.Advance(11 * time.Minute)
	_, err = f.svc.ConsumePasswordReset(f.ctx, lu.Query().Get("token"), "third password 789")
	wantError(t, err, lanyard.KindInvalid, "expired or was already used")
}

// TestClockSkewZero: clock_skew=0s means no skew, "default" unsets it;
// message_lifetime has a default and bounds.
func TestClockSkewZero(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.mustTenant(t, "acme")
		tn, changes, err := f.svc.SetTenant(f.ctx, "alice", "acme", []string{"clock_skew=0s", "message_lifetime=2m"})
		if err != nil {
			t.Fatal(err)
		}
		if tn.SSO.ClockSkew == nil || tn.SSO.Skew() != 0 || time.Duration(tn.SSO.MessageLifetime) != 2*time.Minute {
			t.Fatalf("skew %v (%s), lifetime %s", tn.SSO.ClockSkew, tn.SSO.Skew(), tn.SSO.MessageLifetime)
		}
		if j := strings.Join(changes, "\n"); !strings.Contains(j, "clock_skew: 3m0s → 0s") || !strings.Contains(j, "message_lifetime: 1m0s → 2m0s") {
			t.Errorf("changes %q", changes)
		}
		stored, _ := f.svc.Tenant(f.ctx, "acme")
		if stored.SSO.ClockSkew == nil || stored.SSO.Skew() != 0 {
			t.Errorf("stored skew %v", stored.SSO.ClockSkew)
		}
		tn, _, err = f.svc.SetTenant(f.ctx, "alice", "acme", []string{"clock_skew=default"})
		if err != nil || tn.SSO.ClockSkew != nil || tn.SSO.Skew() != lanyard.DefaultClockSkew {
			t.Errorf("default: %v %v", tn.SSO.ClockSkew, err)
		}
		for _, bad := range []string{"clock_skew=-1s", "clock_skew=2h", "message_lifetime=1s", "message_lifetime=2h"} {
			if _, _, err := f.svc.SetTenant(f.ctx, "alice", "acme", []string{bad}); err == nil {
				t.Errorf("%s accepted", bad)
			}
		}
	})
}
