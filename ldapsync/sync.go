package ldapsync

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
)

// Store is what the sync needs: accounts, sessions and the audit trail in
// one transaction, and the directory settings and history.
type Store interface {
	lanyard.Store
	lanyard.LDAPStore
}

// Options change one run.
type Options struct {
	// Kind is lanyard.SyncFull or lanyard.SyncIncremental. An incremental
	// run with no mark yet (or with incremental syncs off) runs full.
	Kind string
	// DryRun lists the changes and writes none (but the run's record).
	DryRun bool
	// Confirm applies the deactivations even beyond the safety share: an
	// administrator has looked at the stopped run.
	Confirm bool
	// Actor is who started the run, for the audit trail.
	Actor string
}

// Syncer runs syncs. One run per tenant at a time in this process.
type Syncer struct {
	Store   Store
	Logger  *slog.Logger
	Metrics *Metrics         // nil: not measured
	Now     func() time.Time // nil: time.Now
	// BatchSize is how many changes one transaction applies. Default 200.
	BatchSize int
	// MaxReport caps the report lines kept with a run. Default 2000.
	MaxReport int

	// Owner names this process in the cluster-wide sync lease. Default: a
	// random name made once.
	Owner string
	// Lease is how long a run holds the tenant's lease; a process that
	// dies mid-run blocks the tenant's syncs this long. Default 15 minutes.
	Lease time.Duration

	mu      sync.Mutex
	running map[int64]bool
}

func (s *Syncer) owner() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Owner == "" {
		var b [8]byte
		rand.Read(b[:])
		host, _ := os.Hostname()
		s.Owner = fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
	}
	return s.Owner
}

func (s *Syncer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Syncer) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// ErrBusy: a sync of the tenant is already running, in this process or on
// another node.
var ErrBusy = errors.New("a sync of this tenant is already running")

// op is one planned change, spilled to disk between the two phases.
type op struct {
	Kind   string // create, update, reactivate, deactivate
	UserID int64  `json:",omitempty"`
	Person Person `json:",omitempty"`
	Roles  []string
	Why    string `json:",omitempty"`
}

// report collects a run's lines up to a cap.
type report struct {
	lines []string
	extra int
	max   int
}

func (r *report) add(format string, args ...any) {
	if len(r.lines) >= r.max {
		r.extra++
		return
	}
	line := fmt.Sprintf(format, args...)
	r.lines = append(r.lines, strings.NewReplacer("\r", " ", "\n", " ").Replace(line))
}

func (r *report) done() []string {
	if r.extra > 0 {
		return append(r.lines, fmt.Sprintf("... and %d more", r.extra))
	}
	return r.lines
}

// Sync runs one sync of the tenant's directory and records it. The run is
// in two phases: the directory is read to the end and the changes are
// planned (spilled to a temporary file, so memory stays bounded), then,
// unless it is a dry run, the safety stop passed and nothing failed, they
// are applied in batches. A directory that cannot be read, or a plan that
// would deactivate more than the tenant's share, changes no account. The
// returned run says what happened; the error is non-nil when it did not
// end ok.
func (s *Syncer) Sync(ctx context.Context, tenant lanyard.Tenant, opt Options) (lanyard.LDAPSyncRun, error) {
	s.mu.Lock()
	if s.running == nil {
		s.running = map[int64]bool{}
	}
	if s.running[tenant.ID] {
		s.mu.Unlock()
		return lanyard.LDAPSyncRun{}, ErrBusy
	}
	s.running[tenant.ID] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, tenant.ID)
		s.mu.Unlock()
	}()

	dir, err := s.Store.LDAPDirectory(ctx, tenant.ID)
	if err != nil {
		return lanyard.LDAPSyncRun{}, err
	}
	dir.Normalize()
	// One run per tenant across the cluster: nodes that share the database
	// (and the CLI) take a lease first.
	lease := s.Lease
	if lease <= 0 {
		lease = 15 * time.Minute
	}
	owner := s.owner()
	now := s.now()
	held, err := s.Store.ClaimLDAPSync(ctx, tenant.ID, owner, now, now.Add(lease))
	if err != nil {
		return lanyard.LDAPSyncRun{}, err
	}
	if !held {
		return lanyard.LDAPSyncRun{}, ErrBusy
	}
	defer func() {
		if err := s.Store.ReleaseLDAPSync(context.WithoutCancel(ctx), tenant.ID, owner); err != nil {
			s.logger().Error("LDAP sync: releasing the lease failed", "tenant", tenant.Slug, "err", err)
		}
	}()
	state, err := s.Store.LDAPSyncState(ctx, tenant.ID)
	if err != nil {
		return lanyard.LDAPSyncRun{}, err
	}
	if opt.Actor == "" {
		opt.Actor = "scheduler"
	}
	kind := opt.Kind
	if kind != lanyard.SyncIncremental || state.Mark == "" || dir.Incremental == lanyard.IncrementalOff {
		kind = lanyard.SyncFull
	}
	run := lanyard.LDAPSyncRun{TenantID: tenant.ID, Kind: kind, DryRun: opt.DryRun, Actor: opt.Actor, StartedAt: s.now()}
	rep := &report{max: s.MaxReport}
	if rep.max <= 0 {
		rep.max = 2000
	}
	p, planErr := s.plan(ctx, tenant, dir, state, kind, &run, rep)
	if p != nil {
		defer p.close()
	}
	log := s.logger().With("tenant", tenant.Slug, "kind", kind, "dry_run", opt.DryRun, "actor", opt.Actor)

	finish := func(status, msg string, err error) (lanyard.LDAPSyncRun, error) {
		run.Status, run.Message, run.FinishedAt, run.Report = status, msg, s.now(), rep.done()
		// The record outlives the caller's cancellation: a run that
		// stopped half-way still says so.
		rctx := context.WithoutCancel(ctx)
		if aerr := s.Store.AddLDAPSyncRun(rctx, &run); aerr != nil {
			log.Error("LDAP sync: recording the run failed", "err", aerr)
		}
		if !opt.DryRun {
			st := state
			st.LastStatus, st.LastMessage = status, msg
			switch status {
			case lanyard.SyncOK:
				st.PendingRunID = 0
				if laterMark(p.mark, st.Mark) || kind == lanyard.SyncFull && p.mark != "" {
					st.Mark = p.mark
				}
				if kind == lanyard.SyncFull {
					st.LastFullAt = run.StartedAt
				}
				st.LastIncrAt = run.StartedAt
			case lanyard.SyncStopped:
				st.PendingRunID = run.ID
			}
			if serr := s.Store.PutLDAPSyncState(rctx, tenant.ID, st); serr != nil {
				log.Error("LDAP sync: recording the state failed", "err", serr)
			}
			action := "ldap.sync"
			if status != lanyard.SyncOK {
				action = "ldap.sync." + status
			}
			ev := lanyard.AuditEvent{TenantID: tenant.ID, Actor: opt.Actor, Action: action, Subject: dir.String(),
				Message: fmt.Sprintf("run %d (%s): %s", run.ID, kind, msg)}
			if aerr := s.Store.AppendAudit(rctx, &ev); aerr != nil {
				log.Error("LDAP sync: audit failed", "err", aerr)
			}
		}
		s.Metrics.observe(run, err)
		attrs := []any{"run", run.ID, "status", status, "seen", run.Seen, "created", run.Created, "updated", run.Updated,
			"deactivated", run.Deactivated, "reactivated", run.Reactivated, "took", run.FinishedAt.Sub(run.StartedAt).Round(time.Millisecond).String()}
		switch status {
		case lanyard.SyncOK:
			log.Info("LDAP sync done", attrs...)
			return run, nil
		case lanyard.SyncStopped:
			log.Warn("LDAP sync stopped by the safety rule; nothing changed: "+msg, attrs...)
		default:
			log.Error("LDAP sync failed; nothing changed: "+msg, append(attrs, "err", err)...)
		}
		// The message already holds err's text.
		return run, &lanyard.Error{Op: "ldapsync.Sync", Kind: lanyard.KindUnavailable, Message: msg}
	}

	if planErr != nil {
		return finish(lanyard.SyncFailed, fmt.Sprintf("the directory could not be read, so no account was changed (the last good state stays): %v", planErr), planErr)
	}
	run.Created, run.Updated, run.Reactivated, run.Deactivated = p.counts["create"], p.counts["update"], p.counts["reactivate"], p.counts["deactivate"]

	// The safety stop: more deactivations than the tenant's share waits
	// for an administrator, unless this run is that confirmation.
	limit := p.active * dir.MaxDeactivatePercent / 100
	if opt.Confirm && state.PendingRunID != 0 {
		// The confirmation covers what the administrator saw in the
		// stopped run's report, no more.
		if pending, err := s.Store.LDAPSyncRun(ctx, tenant.ID, state.PendingRunID); err == nil && run.Deactivated > pending.Deactivated && !opt.DryRun {
			return finish(lanyard.SyncStopped, fmt.Sprintf("this sync would deactivate %d accounts, more than the %d of the stopped run %d being confirmed, so it changed nothing; check this run's report, then confirm again with: lanyard ldap sync --tenant %s --confirm",
				run.Deactivated, pending.Deactivated, pending.ID, tenant.Slug), nil)
		}
	}
	if run.Deactivated > limit && !opt.Confirm && !opt.DryRun {
		return finish(lanyard.SyncStopped, fmt.Sprintf("this sync would deactivate %d of the tenant's %d active directory accounts (more than %d%%), so it changed nothing; check the report, then confirm with: lanyard ldap sync --tenant %s --confirm",
			run.Deactivated, p.active, dir.MaxDeactivatePercent, tenant.Slug), nil)
	}
	summary := fmt.Sprintf("%d entries read; %d created, %d updated, %d reactivated, %d deactivated", run.Seen, run.Created, run.Updated, run.Reactivated, run.Deactivated)
	if opt.DryRun {
		return finish(lanyard.SyncOK, "dry run, nothing changed: "+summary, nil)
	}
	if err := s.apply(ctx, tenant, opt.Actor, p); err != nil {
		return finish(lanyard.SyncFailed, fmt.Sprintf("applying the changes failed part-way (%s planned): %v", summary, err), err)
	}
	if opt.Confirm && state.PendingRunID != 0 {
		_ = s.Store.MarkLDAPSyncRunConfirmed(ctx, tenant.ID, state.PendingRunID)
	}
	return finish(lanyard.SyncOK, summary, nil)
}

// plan is the outcome of reading the directory.
type plan struct {
	file   *os.File
	enc    *json.Encoder
	buf    *bufio.Writer
	counts map[string]int
	mark   string
	active int // active directory accounts before the run
}

func (p *plan) add(o op) error {
	p.counts[o.Kind]++
	return p.enc.Encode(o)
}

func (p *plan) close() {
	if p.file != nil {
		p.file.Close()
		os.Remove(p.file.Name())
	}
}

// plan reads the directory and plans the changes.
func (s *Syncer) plan(ctx context.Context, tenant lanyard.Tenant, dir lanyard.LDAPDirectory, state lanyard.LDAPSyncState, kind string, run *lanyard.LDAPSyncRun, rep *report) (*plan, error) {
	f, err := os.CreateTemp("", "lanyard-ldapsync-*.jsonl")
	if err != nil {
		return nil, fmt.Errorf("plan file: %w", err)
	}
	buf := bufio.NewWriter(f)
	p := &plan{file: f, buf: buf, enc: json.NewEncoder(buf), counts: map[string]int{}, mark: state.Mark}
	activeIDs, err := s.Store.LDAPUserIDs(ctx, tenant.ID)
	if err != nil {
		return p, err
	}
	p.active = len(activeIDs)

	conn, err := Dial(ctx, dir)
	if err != nil {
		return p, err
	}
	defer conn.Close()

	sso := tenant.SSO
	mark := ""
	if kind == lanyard.SyncIncremental {
		mark = state.Mark
	}
	// What the run has seen, in little memory per entry: a flag per active
	// directory account (activeIDs is sorted), the few other accounts met,
	// and a 64-bit hash of each login to create.
	seenActive := make([]bool, len(activeIDs))
	seenOther := map[int64]bool{}
	toCreate := map[uint64]bool{}
	markSeen := func(id int64) bool {
		if i, ok := slices.BinarySearch(activeIDs, id); ok {
			first := !seenActive[i]
			seenActive[i] = true
			return first
		}
		first := !seenOther[id]
		seenOther[id] = true
		return first
	}
	duplicate := func(person Person) error {
		rep.add("skipped %s: the login %q is already taken by another entry of the directory", person.DN, person.Login)
		return nil
	}
	// handle plans the change of one entry; u is its account, nil if none.
	handle := func(person Person, u *lanyard.User) error {
		roles := login.RolesForGroups(sso.GroupRoles, person.Groups)
		if u == nil {
			h := fnv.New64a()
			h.Write([]byte(strings.ToLower(person.Login)))
			if key := h.Sum64(); toCreate[key] {
				return duplicate(person)
			} else {
				toCreate[key] = true
			}
			if person.Disabled {
				return nil // not created: disabled in the directory
			}
			rep.add("create %s (%s)", person.Login, person.DN)
			return p.add(op{Kind: "create", Person: person, Roles: roles})
		}
		if !markSeen(u.ID) {
			return duplicate(person)
		}
		if err := lanyard.CheckSourceWrite(sso.AccountOwner, lanyard.SourceLDAP, u); err != nil {
			rep.add("skipped %s (%s): %s", u.Login, person.DN, lanyard.ErrorMessage(err))
			return nil
		}
		next := desired(*u, person, roles)
		changes := diff(*u, next)
		switch {
		case person.Disabled && u.Status == lanyard.StatusActive && u.Source == lanyard.SourceLDAP:
			rep.add("deactivate %s: disabled in the directory", u.Login)
			return p.add(op{Kind: "deactivate", UserID: u.ID, Person: person, Roles: roles, Why: "disabled in the directory"})
		case !person.Disabled && u.Status != lanyard.StatusActive && u.Source == lanyard.SourceLDAP:
			rep.add("reactivate %s: %s", u.Login, strings.Join(append([]string{"enabled in the directory"}, changes...), "; "))
			return p.add(op{Kind: "reactivate", UserID: u.ID, Person: person, Roles: roles})
		case len(changes) > 0:
			rep.add("update %s: %s", u.Login, strings.Join(changes, "; "))
			return p.add(op{Kind: "update", UserID: u.ID, Person: person, Roles: roles})
		}
		return nil
	}
	// Entries are looked up a page at a time: one query for many logins.
	var pending []Person
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		logins := make([]string, len(pending))
		for i, pp := range pending {
			logins[i] = pp.Login
		}
		users, err := s.Store.UsersByLogins(ctx, tenant.ID, logins)
		if err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
		byLogin := make(map[string]*lanyard.User, len(users))
		for i := range users {
			byLogin[strings.ToLower(users[i].Login)] = &users[i]
		}
		for _, pp := range pending {
			if err := handle(pp, byLogin[strings.ToLower(pp.Login)]); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return nil
	}
	batch := min(dir.PageSize, 500)
	err = conn.People(ctx, mark, slices.Collect(maps.Keys(sso.GroupRoles)), func(person Person) error {
		run.Seen++
		if laterMark(person.Mark, p.mark) {
			p.mark = person.Mark
		}
		if person.Login == "" {
			rep.add("skipped %s: no %s attribute", person.DN, dir.LoginAttr)
			return nil
		}
		pending = append(pending, person)
		if len(pending) >= batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return p, err
	}
	if kind == lanyard.SyncFull {
		for i, id := range activeIDs {
			if seenActive[i] {
				continue
			}
			u, err := s.Store.User(ctx, id)
			if err != nil {
				return p, fmt.Errorf("account %d: %w", id, err)
			}
			rep.add("deactivate %s: no longer in the directory's scope", u.Login)
			if err := p.add(op{Kind: "deactivate", UserID: id, Why: "no longer in the directory"}); err != nil {
				return p, err
			}
		}
	}
	if err := buf.Flush(); err != nil {
		return p, fmt.Errorf("plan file: %w", err)
	}
	return p, nil
}

// desired is u as the directory says it should be. Only what the
// directory owns is set; the state (active, inactive) is the caller's.
func desired(u lanyard.User, p Person, roles []string) lanyard.User {
	next := u
	next.Roles = slices.Clone(u.Roles)
	next.Source = lanyard.SourceLDAP
	next.Email, next.FirstName, next.LastName = p.Email, p.FirstName, p.LastName
	if next.Email != "" && !lanyard.ValidEmail(next.Email) {
		next.Email = ""
	}
	next.FirstName = lanyard.CleanText(next.FirstName, 200)
	next.LastName = lanyard.CleanText(next.LastName, 200)
	next.SetRoles(lanyard.RoleLDAP, roles)
	return next
}

// diff lists the fields that differ, for the report.
func diff(a, b lanyard.User) []string {
	var out []string
	f := func(name, x, y string) {
		if x != y {
			out = append(out, fmt.Sprintf("%s: %q → %q", name, x, y))
		}
	}
	f("source", string(a.Source), string(b.Source))
	f("email", a.Email, b.Email)
	f("firstname", a.FirstName, b.FirstName)
	f("lastname", a.LastName, b.LastName)
	ra, rb := strings.Join(grants(a.Roles, lanyard.RoleLDAP), ","), strings.Join(grants(b.Roles, lanyard.RoleLDAP), ",")
	f("roles from the directory", ra, rb)
	return out
}

func grants(gs []lanyard.RoleGrant, src lanyard.RoleSource) []string {
	var out []string
	for _, g := range gs {
		if g.Source == src {
			out = append(out, g.Role)
		}
	}
	return out
}

// apply reads the plan back and applies it in batches of BatchSize, each
// in one transaction. A deactivation ends the account's sessions (and
// their copies on application hosts) in the same transaction.
func (s *Syncer) apply(ctx context.Context, tenant lanyard.Tenant, actor string, p *plan) error {
	if _, err := p.file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	size := s.BatchSize
	if size <= 0 {
		size = 200
	}
	dec := json.NewDecoder(bufio.NewReader(p.file))
	batch := make([]op, 0, size)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.Store.Atomic(ctx, func(tx lanyard.Store) error {
			for _, o := range batch {
				if err := s.applyOne(ctx, tx, tenant, actor, o); err != nil {
					return err
				}
			}
			return nil
		})
		batch = batch[:0]
		return err
	}
	for {
		var o op
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("plan file: %w", err)
		}
		batch = append(batch, o)
		if len(batch) == size {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (s *Syncer) applyOne(ctx context.Context, tx lanyard.Store, tenant lanyard.Tenant, actor string, o op) error {
	switch o.Kind {
	case "create":
		u := lanyard.User{TenantID: tenant.ID, Login: o.Person.Login, Status: lanyard.StatusActive, LoginMethod: lanyard.LoginSSO, WebAccess: true}
		u = desired(u, o.Person, o.Roles)
		u.Normalize()
		if err := tx.CreateUser(ctx, &u); err != nil {
			return fmt.Errorf("create %q: %w", o.Person.Login, err)
		}
		s.Metrics.change("create")
		return nil
	case "update", "reactivate":
		_, err := tx.UpdateUser(ctx, o.UserID, func(cur *lanyard.User) error {
			next := desired(*cur, o.Person, o.Roles)
			if o.Kind == "reactivate" {
				next.Status = lanyard.StatusActive
			}
			*cur = next
			return nil
		})
		if err != nil {
			return fmt.Errorf("update account %d: %w", o.UserID, err)
		}
		s.Metrics.change(o.Kind)
		if o.Kind == "reactivate" {
			return tx.AppendAudit(ctx, &lanyard.AuditEvent{TenantID: tenant.ID, Actor: actor, Action: "user.update", UserID: o.UserID, Subject: o.Person.Login, Message: "reactivated by the LDAP sync: enabled in the directory"})
		}
		return nil
	case "deactivate":
		u, err := tx.UpdateUser(ctx, o.UserID, func(cur *lanyard.User) error {
			if o.Person.Login != "" {
				*cur = desired(*cur, o.Person, o.Roles)
			}
			cur.Status = lanyard.StatusInactive
			return nil
		})
		if err != nil {
			return fmt.Errorf("deactivate account %d: %w", o.UserID, err)
		}
		n, err := tx.DeleteUserSessions(ctx, o.UserID)
		if err != nil {
			return fmt.Errorf("end the sessions of %q: %w", u.Login, err)
		}
		s.Metrics.change("deactivate")
		return tx.AppendAudit(ctx, &lanyard.AuditEvent{TenantID: tenant.ID, Actor: actor, Action: "user.update", UserID: o.UserID, Subject: u.Login,
			Message: fmt.Sprintf("deactivated by the LDAP sync: %s; ended %d session(s)", o.Why, n)})
	}
	return fmt.Errorf("plan: unknown change %q", o.Kind)
}
