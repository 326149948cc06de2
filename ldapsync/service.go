package ldapsync

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/lanyard-sso/lanyard"
)

// Service is the directory's administration, by tenant slug: what the
// CLI, the admin UI and the API do.
type Service struct {
	Store  Store
	Syncer *Syncer
}

// Status is a tenant's directory as the administrator sees it.
type Status struct {
	Tenant     lanyard.Tenant
	Configured bool
	Directory  lanyard.LDAPDirectory // defaults filled in, no password
	State      lanyard.LDAPSyncState
	Runs       []lanyard.LDAPSyncRun // newest first
	Rules      []string              // the precedence rules in force
}

// TestResult is what "Test connection" found.
type TestResult struct {
	URL    string // the server that answered
	People []Person
	Roles  [][]string // the roles each person would get
}

func (s *Service) tenant(ctx context.Context, slug string) (lanyard.Tenant, error) {
	t, err := s.Store.Tenant(ctx, strings.ToLower(strings.TrimSpace(slug)))
	if errors.Is(err, lanyard.ErrNotFound) {
		return t, &lanyard.Error{Op: "ldapsync", Kind: lanyard.KindNotFound, Message: fmt.Sprintf("tenant %q not found; list tenants with: lanyard tenant list", slug), Err: err}
	}
	return t, err
}

func (s *Service) directory(ctx context.Context, t lanyard.Tenant) (lanyard.LDAPDirectory, error) {
	d, err := s.Store.LDAPDirectory(ctx, t.ID)
	if errors.Is(err, lanyard.ErrNotFound) {
		return d, &lanyard.Error{Op: "ldapsync", Kind: lanyard.KindNotFound, Err: err,
			Message: fmt.Sprintf("tenant %q has no LDAP directory; configure one with: lanyard ldap set --tenant %s urls=ldaps://dc.example.com base_dn=... bind_dn=... bind_password_file=FILE", t.Slug, t.Slug)}
	}
	return d, err
}

// Status returns the tenant's directory, its state, its newest runs and
// the precedence rules in force.
func (s *Service) Status(ctx context.Context, slug string, runs int) (Status, error) {
	t, err := s.tenant(ctx, slug)
	if err != nil {
		return Status{}, err
	}
	st := Status{Tenant: t}
	d, err := s.Store.LDAPDirectory(ctx, t.ID)
	switch {
	case errors.Is(err, lanyard.ErrNotFound):
		d = lanyard.LDAPDirectory{TenantID: t.ID}
	case err != nil:
		return st, err
	default:
		st.Configured = true
	}
	d.BindPassword = ""
	d.Normalize()
	st.Directory, st.Rules = d, d.PrecedenceRules(t.SSO.JIT)
	if st.State, err = s.Store.LDAPSyncState(ctx, t.ID); err != nil {
		return st, err
	}
	if st.Runs, err = s.Store.LDAPSyncRuns(ctx, t.ID, runs); err != nil {
		return st, err
	}
	return st, nil
}

// Set changes the tenant's directory settings ("key=value", see
// SettingKeys), creating the connection on first use, and records it in
// the audit trail. Every problem is reported at once; nothing is written
// unless all are valid.
func (s *Service) Set(ctx context.Context, actor, slug string, settings []string, readFile func(string) ([]byte, error)) ([]string, error) {
	t, err := s.tenant(ctx, slug)
	if err != nil {
		return nil, err
	}
	if len(settings) == 0 {
		return nil, &lanyard.Error{Kind: lanyard.KindInvalid, Message: "no settings given: use key=value; known keys: " + strings.Join(SettingKeys(), ", ")}
	}
	d, err := s.Store.LDAPDirectory(ctx, t.ID)
	if err != nil && !errors.Is(err, lanyard.ErrNotFound) {
		return nil, err
	}
	d.TenantID = t.ID
	if readFile == nil {
		readFile = func(string) ([]byte, error) { return nil, errors.New("files cannot be read here") }
	}
	changes, err := ApplySettings(&d, settings, readFile)
	if err != nil {
		return nil, err
	}
	// Without a bind DN the sync binds anonymously: no password is kept.
	if err := s.Store.PutLDAPDirectory(ctx, &d, d.BindDN == ""); err != nil {
		return nil, err
	}
	ev := lanyard.AuditEvent{TenantID: t.ID, Actor: actor, Action: "ldap.set", Subject: t.Slug, Message: strings.Join(changes, "; ")}
	if err := s.Store.AppendAudit(ctx, &ev); err != nil {
		return nil, err
	}
	return changes, nil
}

// Test connects, binds and maps up to five users, as a sync would.
func (s *Service) Test(ctx context.Context, slug string) (TestResult, error) {
	t, err := s.tenant(ctx, slug)
	if err != nil {
		return TestResult{}, err
	}
	d, err := s.directory(ctx, t)
	if err != nil {
		return TestResult{}, err
	}
	conn, err := Dial(ctx, d)
	if err != nil {
		return TestResult{}, &lanyard.Error{Kind: lanyard.KindUnavailable, Message: err.Error(), Err: err}
	}
	defer conn.Close()
	people, err := conn.Sample(ctx, 5)
	if err != nil {
		return TestResult{}, &lanyard.Error{Kind: lanyard.KindUnavailable, Message: err.Error(), Err: err}
	}
	res := TestResult{URL: conn.URL, People: people}
	for _, p := range people {
		var roles []string
		for _, g := range p.Groups {
			roles = append(roles, t.SSO.GroupRoles[g]...)
		}
		res.Roles = append(res.Roles, lanyard.IdPGrantable(roles))
	}
	return res, nil
}

// Sync runs a sync of the tenant now (see Syncer.Sync).
func (s *Service) Sync(ctx context.Context, slug string, opt Options) (lanyard.LDAPSyncRun, error) {
	t, err := s.tenant(ctx, slug)
	if err != nil {
		return lanyard.LDAPSyncRun{}, err
	}
	if _, err := s.directory(ctx, t); err != nil {
		return lanyard.LDAPSyncRun{}, err
	}
	run, err := s.Syncer.Sync(ctx, t, opt)
	if errors.Is(err, ErrBusy) {
		return run, &lanyard.Error{Kind: lanyard.KindConflict, Message: "a sync of tenant " + t.Slug + " is already running; try again when it ends", Err: err}
	}
	return run, err
}

// Run returns one run of the tenant with its report.
func (s *Service) Run(ctx context.Context, slug string, id int64) (lanyard.LDAPSyncRun, error) {
	t, err := s.tenant(ctx, slug)
	if err != nil {
		return lanyard.LDAPSyncRun{}, err
	}
	return s.Store.LDAPSyncRun(ctx, t.ID, id)
}
