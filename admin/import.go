package admin

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// ImportColumns are the CSV columns ImportUsers reads and ExportUsers
// writes, each named as the SetUser key it sets. Only "login" is required;
// roles are separated by "," (";" accepted) and replace the manually given roles.
var ImportColumns = []string{"login", "email", "firstname", "lastname", "status", "login_method", "roles", "locked", "web_access", "auto_login"}

// exportOnlyColumns are written by ExportUsers and ignored by ImportUsers:
// facts an import cannot set.
var exportOnlyColumns = []string{"source"}

// columnAliases are other names accepted in a CSV header.
var columnAliases = map[string]string{
	"first_name": "firstname", "given_name": "firstname",
	"last_name": "lastname", "surname": "lastname", "family_name": "lastname",
	"loginmethod": "login_method", "login method": "login_method",
	"username": "login", "upn": "login", "mail": "email",
	"webaccess": "web_access", "autologin": "auto_login",
}

// maxImportProblems bounds the problems reported for one file.
const maxImportProblems = 100

// MaxReportedChanges bounds the changes an import report lists.
const MaxReportedChanges = 1000

// ImportOptions change how ImportUsers runs.
type ImportOptions struct {
	// DryRun checks the file and reports what would change, writing nothing.
	DryRun bool
	// Progress, when not nil, is called as rows are written, with the rows
	// written so far and the rows to write. It is not called on a dry run.
	Progress func(done, total int)
}

// ImportChange is what the import does (or would do) to one account.
type ImportChange struct {
	Line    int    // the line of the row in the file
	Login   string // the account's login
	Action  string // "create" or "update"
	Changes []string
}

// ImportReport says what an import did, or would do on a dry run.
type ImportReport struct {
	DryRun    bool
	Rows      int // data rows read
	Created   int
	Updated   int
	Unchanged int
	// Changes lists the rows that create or update an account, in file
	// order: the first MaxReportedChanges of them; ChangesOmitted counts
	// the others, so that a large file's report stays small.
	Changes        []ImportChange
	ChangesOmitted int
	// Ignored lists header columns that are not imported.
	Ignored []string
	// SemicolonRoles lists the lines whose roles use ";", the older
	// separator: accepted, and worth a warning (',' is the one).
	SemicolonRoles []int
}

// importRow is a checked row, ready to write.
type importRow struct {
	line     int
	settings []string // key=value of the non-empty cells
	user     lanyard.User
	existing bool
	changes  []string
}

// ImportUsers creates and updates the tenant's accounts from a CSV file
// whose header names the columns (see ImportColumns; more are reported as
// ignored). A row whose login exists updates that account, others create
// one (active, SSO login and web access unless the row says otherwise). An
// empty cell leaves the field as it is.
//
// Every row is checked before anything is written: a bad row changes
// nothing, and every problem is reported with its line number. The changes
// are written in short transactions that never stop logins for long, with
// one audit event per account changed and one for the import; an import
// that fails or is interrupted is undone whole (see writeImport).
// Importing the same file again changes nothing.
func (s *Service) ImportUsers(ctx context.Context, actor, tenantSlug string, r io.Reader, opts ImportOptions) (ImportReport, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return ImportReport{}, err
	}
	existing, err := s.store.Users(ctx, lanyard.UserFilter{TenantID: t.ID})
	if err != nil {
		return ImportReport{}, fmt.Errorf("import: list users of %s: %w", t.Slug, err)
	}
	byLogin := make(map[string]lanyard.User, len(existing))
	for _, u := range existing {
		byLogin[strings.ToLower(u.Login)] = u
	}
	rows, report, err := checkImport(r, t, byLogin, opts.DryRun)
	if err != nil {
		return ImportReport{}, err
	}
	report.DryRun = opts.DryRun
	if opts.DryRun || len(rows) == 0 {
		return report, nil
	}
	if err := s.writeImport(ctx, actor, t, rows, report, opts.Progress); err != nil {
		return ImportReport{}, err
	}
	s.logChange(ctx, "user.import", actor, "tenant", t.Slug, "created", report.Created, "updated", report.Updated)
	return report, nil
}

// checkImport reads and checks every row, returning the rows that change
// something (none for a dry run). Every problem is reported at once, by
// line. It streams: a dry run holds, per row, only a hash of its login
// (to find a login given twice), whatever the size of the file.
func checkImport(r io.Reader, t lanyard.Tenant, byLogin map[string]lanyard.User, dryRun bool) ([]importRow, ImportReport, error) {
	var report ImportReport
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, report, invalidf("the CSV file is empty: the first line must name the columns, e.g. %s", strings.Join(ImportColumns, ","))
	}
	if err != nil {
		return nil, report, invalidf("line 1: %v", csvProblem(err))
	}
	columns := make([]string, len(header))
	var v lanyard.ValidationError
	seen := map[string]bool{}
	loginCol := -1
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if a, ok := columnAliases[name]; ok {
			name = a
		}
		switch {
		case seen[name] && name != "":
			v.Add("line 1: column %q appears twice", name)
		case slices.Contains(ImportColumns, name):
			columns[i] = name
			if name == "login" {
				loginCol = i
			}
		case slices.Contains(exportOnlyColumns, name):
		default:
			report.Ignored = append(report.Ignored, h)
		}
		seen[name] = true
	}
	if loginCol < 0 {
		v.Add("line 1: no login column; the header must name the columns, e.g. %s", strings.Join(ImportColumns, ","))
	}
	if err := v.Err(); err != nil {
		return nil, report, err
	}

	var rows []importRow
	// login (lower) → first line, by a 64-bit hash of the login: 12 bytes
	// a row rather than the login itself.
	seed := maphash.MakeSeed()
	lines := map[uint64]int32{}
	report1 := func(c ImportChange) {
		if len(report.Changes) < MaxReportedChanges {
			report.Changes = append(report.Changes, c)
		} else {
			report.ChangesOmitted++
		}
	}
	problems := 0
	add := func(line int, format string, args ...any) {
		problems++
		if problems <= maxImportProblems {
			v.Add("line %d: %s", line, fmt.Sprintf(format, args...))
		}
	}
	var current lanyard.User // the account a row updates, for the ownership check
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			add(line, "%v", csvProblem(err))
			if !errors.Is(err, csv.ErrFieldCount) {
				break // the rest of the file cannot be trusted
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		report.Rows++
		if len(rec) != len(header) {
			add(line, "%d cells, the header has %d", len(rec), len(header))
			continue
		}
		login := fromSpreadsheetSafe(strings.TrimSpace(rec[loginCol]))
		if login == "" {
			add(line, "login: required")
			continue
		}
		key := strings.ToLower(login)
		hash := maphash.String(seed, key)
		if first, dup := lines[hash]; dup {
			add(line, "login %q appears again (first on line %d)", login, first)
			continue
		}
		lines[hash] = int32(line)
		var settings []string
		for i, col := range columns {
			if col == "" || col == "login" || strings.TrimSpace(rec[i]) == "" {
				continue
			}
			settings = append(settings, col+"="+fromSpreadsheetSafe(rec[i]))
			if col == "roles" && lanyard.RolesUseSemicolon(rec[i]) {
				report.SemicolonRoles = append(report.SemicolonRoles, line)
			}
		}
		row := importRow{line: line, settings: settings}
		base, found := byLogin[key]
		if !found {
			base = lanyard.User{TenantID: t.ID, Login: login, WebAccess: true, Source: lanyard.SourceLocal}
			base.Normalize()
		}
		next, changes, err := applyUserSettings(base, settings)
		if err != nil {
			for _, p := range problemsOf(err) {
				add(line, "%s", p)
			}
			continue
		}
		// The import is the administration's source: it creates only
		// where the tenant lets it, and never changes what SCIM or LDAP
		// keep.
		var account *lanyard.User
		if found {
			current = base
			account = &current
		}
		if len(changes) > 0 || !found {
			if err := lanyard.CheckSourceWrite(t.SSO.AccountOwner, lanyard.SourceLocal, account, changedFields(base, next)...); err != nil {
				add(line, "%s", lanyard.ErrorMessage(err))
				continue
			}
		}
		switch {
		case !found:
			report.Created++
			row.user = next
			row.changes = []string{strings.TrimPrefix(strings.TrimSuffix(describeUser(next), ")"), " (")}
			report1(ImportChange{Line: line, Login: login, Action: "create", Changes: row.changes})
		case len(changes) > 0:
			report.Updated++
			row.user, row.existing, row.changes = next, true, changes
			report1(ImportChange{Line: line, Login: base.Login, Action: "update", Changes: changes})
		default:
			report.Unchanged++
			continue
		}
		if !dryRun {
			rows = append(rows, row)
		}
	}
	if problems > maxImportProblems {
		v.Add("... and %d more problems", problems-maxImportProblems)
	}
	if err := v.Err(); err != nil {
		return nil, ImportReport{}, &lanyard.Error{Kind: lanyard.KindInvalid,
			Message: "nothing was imported; fix these rows and import the file again:\n  - " + strings.Join(v.Problems, "\n  - "),
			Err:     &v}
	}
	return rows, report, nil
}

// csvProblem turns a CSV parse error into a message without the "record
// on line N" prefix, which the caller gives.
func csvProblem(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote) {
			return pe.Err.Error() + " (a cell with quotes must be quoted whole, with inner quotes doubled)"
		}
		return pe.Err.Error()
	}
	return err.Error()
}

// importChunk is how many rows one transaction of an import writes:
// short enough (a few milliseconds on SQLite) that a login waiting for the
// database, which SQLite lets one writer hold at a time, waits tens of
// milliseconds at most.
const importChunk = 100

// maxImportPause bounds the pause after each chunk of an import, which
// lets the writers that waited meanwhile (logins) go first.
const (
	minImportPause = 10 * time.Millisecond
	maxImportPause = 50 * time.Millisecond
)

// importStale is how long a running import may go without committing a
// chunk before it is taken for dead (its process stopped) and undone.
const importStale = time.Minute

// writeImport writes the checked rows in short transactions of importChunk
// rows, so that an import never holds the database long enough to stop
// logins. An import is still all or nothing: each chunk journals, in its
// own transaction, how to undo it (lanyard.ImportJournal); an import that
// fails is undone at once, chunk by chunk, and one whose process died is
// undone by the next import (RecoverImports). While it runs, the accounts
// of its committed chunks are visible.
func (s *Service) writeImport(ctx context.Context, actor string, t lanyard.Tenant, rows []importRow, report ImportReport, progress func(done, total int)) error {
	if _, err := s.RecoverImports(ctx); err != nil {
		return err
	}
	// Updates first, then creations, as the report lists them.
	ordered := make([]importRow, 0, len(rows))
	for _, row := range rows {
		if row.existing {
			ordered = append(ordered, row)
		}
	}
	for _, row := range rows {
		if !row.existing {
			ordered = append(ordered, row)
		}
	}
	im := lanyard.UserImport{TenantID: t.ID, Actor: actor, RowsTotal: len(ordered)}
	if err := s.store.StartImport(ctx, &im); err != nil {
		return fmt.Errorf("import users into %s: %w", t.Slug, err)
	}
	now := s.now().UTC()
	for start := 0; start < len(ordered); start += importChunk {
		chunk := ordered[start:min(start+importChunk, len(ordered))]
		began := time.Now()
		err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
			return writeImportChunk(ctx, tx, actor, t, im.ID, chunk, start+len(chunk), now)
		})
		if err == nil {
			err = pause(ctx, importPause(time.Since(began)))
		}
		if err != nil {
			return s.failImport(ctx, t, im, err)
		}
		if progress != nil {
			progress(start+len(chunk), len(ordered))
		}
	}
	err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
		if err := tx.AppendAudit(ctx, &lanyard.AuditEvent{
			Time: now, TenantID: t.ID, Actor: actor, Action: "user.import", Outcome: lanyard.OutcomeSuccess,
			Message: fmt.Sprintf("CSV import of %d rows: %d created, %d updated, %d unchanged", report.Rows, report.Created, report.Updated, report.Unchanged),
		}); err != nil {
			return fmt.Errorf("audit the import: %w", err)
		}
		return tx.EndImport(ctx, im.ID, lanyard.ImportDone)
	})
	if err != nil {
		return s.failImport(ctx, t, im, err)
	}
	// The journal of a finished import is dropped a chunk at a time too.
	for from := int64(len(ordered)); from > 0; {
		from = max(from-10*importChunk, 0)
		if err := s.store.DeleteImportUndo(ctx, im.ID, from); err != nil {
			s.log.Warn("import journal not dropped; it only takes space", "import", im.ID, "err", err)
			break
		}
	}
	return nil
}

// writeImportChunk writes rows of an import, with their audit events and
// their journal entries, through tx; rowsDone counts the rows written with
// this chunk.
func writeImportChunk(ctx context.Context, tx lanyard.Store, actor string, t lanyard.Tenant, importID int64, rows []importRow, rowsDone int, now time.Time) error {
	var (
		creates []*lanyard.User
		lines   []int
		updates []importRow
		events  []*lanyard.AuditEvent
		undo    []lanyard.ImportUndo
	)
	for _, row := range rows {
		if row.existing {
			updates = append(updates, row)
			continue
		}
		u := row.user
		creates = append(creates, &u)
		lines = append(lines, row.line)
	}
	if len(updates) > 0 {
		byID := make(map[int64]importRow, len(updates))
		ids := make([]int64, 0, len(updates))
		for _, row := range updates {
			byID[row.user.ID] = row
			ids = append(ids, row.user.ID)
		}
		before := make(map[int64]*lanyard.User, len(updates))
		updated, err := tx.UpdateUsers(ctx, ids, func(cur *lanyard.User) error {
			row := byID[cur.ID]
			old := *cur
			old.Roles = slices.Clone(cur.Roles)
			before[cur.ID] = &old
			n, _, err := applyUserSettings(*cur, row.settings)
			if err != nil {
				return fmt.Errorf("line %d: %w", row.line, err)
			}
			*cur = n
			return nil
		})
		if err != nil {
			return fmt.Errorf("update the accounts of lines %d to %d: %w", updates[0].line, updates[len(updates)-1].line, err)
		}
		for _, u := range updated {
			row := byID[u.ID]
			undo = append(undo, lanyard.ImportUndo{UserID: u.ID, Before: before[u.ID]})
			events = append(events, &lanyard.AuditEvent{
				Time: now, TenantID: t.ID, Actor: actor, Action: "user.update", Outcome: lanyard.OutcomeSuccess, UserID: u.ID, Subject: u.Login,
				Message: fmt.Sprintf("CSV import (line %d): %s", row.line, strings.Join(row.changes, "; ")),
			})
		}
	}
	if len(creates) > 0 {
		if err := tx.CreateUsers(ctx, creates); err != nil {
			return fmt.Errorf("create accounts of lines %d to %d: %w", lines[0], lines[len(lines)-1], err)
		}
		for i, u := range creates {
			undo = append(undo, lanyard.ImportUndo{UserID: u.ID})
			events = append(events, &lanyard.AuditEvent{
				Time: now, TenantID: t.ID, Actor: actor, Action: "user.create", Outcome: lanyard.OutcomeSuccess, UserID: u.ID, Subject: u.Login,
				Message: fmt.Sprintf("created by CSV import (line %d)%s", lines[i], describeUser(*u)),
			})
		}
	}
	if err := tx.AppendAuditEvents(ctx, events); err != nil {
		return fmt.Errorf("audit the import: %w", err)
	}
	return tx.JournalImport(ctx, importID, rowsDone, undo)
}

// failImport undoes an import that failed and says what happened.
func (s *Service) failImport(ctx context.Context, t lanyard.Tenant, im lanyard.UserImport, err error) error {
	// The undo runs even when the import was cancelled.
	if uerr := s.undoImport(context.WithoutCancel(ctx), im, "the import failed: "+err.Error()); uerr != nil {
		return fmt.Errorf("import users into %s: %w; undoing what it wrote failed too (the next import undoes it): %w", t.Slug, err, uerr)
	}
	if lanyard.ErrorKind(err) == lanyard.KindConflict {
		return errorf(lanyard.KindConflict, err, "an account of the file was created meanwhile by someone else; nothing was imported: import the file again")
	}
	return fmt.Errorf("import users into %s (nothing was imported): %w", t.Slug, err)
}

// RecoverImports undoes the imports that stopped half way (their process
// died: no chunk committed for importStale) and reports how many.
func (s *Service) RecoverImports(ctx context.Context) (int, error) {
	stale, err := s.store.RunningImports(ctx, s.now().Add(-importStale))
	if err != nil {
		return 0, fmt.Errorf("import: find interrupted imports: %w", err)
	}
	for _, im := range stale {
		why := fmt.Sprintf("the import stopped after %d of %d rows (its process ended)", im.RowsDone, im.RowsTotal)
		if err := s.undoImport(ctx, im, why); err != nil {
			return 0, fmt.Errorf("import: undo interrupted import %d: %w", im.ID, err)
		}
		s.log.Warn("interrupted import undone", "import", im.ID, "tenant_id", im.TenantID, "actor", im.Actor, "rows_done", im.RowsDone, "rows", im.RowsTotal)
	}
	return len(stale), nil
}

// undoImport undoes what an import wrote, newest first, importChunk
// accounts per transaction: the accounts it created are deleted, the
// accounts it updated get their earlier fields back (not their last login).
func (s *Service) undoImport(ctx context.Context, im lanyard.UserImport, why string) error {
	var deleted, restored int
	for {
		var n, del, res int
		began := time.Now()
		err := s.store.Atomic(ctx, func(tx lanyard.Store) error {
			del, res = 0, 0
			entries, err := tx.LastImportUndo(ctx, im.ID, importChunk)
			if err != nil {
				return err
			}
			n = len(entries)
			for _, e := range entries {
				if e.Before == nil {
					err = tx.DeleteUser(ctx, e.UserID)
					del++
				} else {
					_, err = tx.UpdateUser(ctx, e.UserID, func(cur *lanyard.User) error {
						last := cur.LastLoginAt
						*cur = *e.Before
						cur.LastLoginAt = last
						return nil
					})
					res++
				}
				if err != nil && !errors.Is(err, lanyard.ErrNotFound) { // deleted meanwhile: nothing to undo
					return fmt.Errorf("undo import %d, user %d: %w", im.ID, e.UserID, err)
				}
			}
			if n == 0 {
				return nil
			}
			return tx.DeleteImportUndo(ctx, im.ID, entries[n-1].Seq)
		})
		if err != nil {
			return err
		}
		deleted, restored = deleted+del, restored+res
		if n == 0 {
			break
		}
		if err := pause(ctx, importPause(time.Since(began))); err != nil {
			return err
		}
	}
	return s.store.Atomic(ctx, func(tx lanyard.Store) error {
		if err := tx.AppendAudit(ctx, &lanyard.AuditEvent{
			Time: s.now().UTC(), TenantID: im.TenantID, Actor: im.Actor, Action: "user.import", Outcome: lanyard.OutcomeFailure,
			Message: fmt.Sprintf("CSV import undone (%s): %d accounts it created deleted, %d accounts it updated restored", why, deleted, restored),
		}); err != nil {
			return err
		}
		return tx.EndImport(ctx, im.ID, lanyard.ImportRolledBack)
	})
}

// importPause is the pause after a chunk that took d: twice as long, at
// least minImportPause, at most maxImportPause. Another process waiting
// for an SQLite database probes it at growing intervals (1, 2, 5, 10,
// 15, 20, 25 ms...): pauses longer than the chunks let it in at one of its
// first probes.
func importPause(d time.Duration) time.Duration {
	return min(max(2*d, minImportPause), maxImportPause)
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// formulaStarts are the first characters that make a spreadsheet run a
// cell as a formula (CSV injection): =, +, -, @, tab and carriage return.
const formulaStarts = "=+-@\t\r"

// spreadsheetSafe neutralises a CSV cell a spreadsheet would run as a
// formula by prefixing an apostrophe, which spreadsheets read as "text".
// A cell that already starts with an apostrophe before such a character
// gets one more, so that fromSpreadsheetSafe gives every value back.
func spreadsheetSafe(v string) string {
	if needsQuote(v) || (strings.HasPrefix(v, "'") && needsQuote(strings.TrimLeft(v, "'"))) {
		return "'" + v
	}
	return v
}

// fromSpreadsheetSafe undoes spreadsheetSafe on an imported cell: an
// apostrophe before a formula character (after any further apostrophes)
// goes.
func fromSpreadsheetSafe(v string) string {
	if strings.HasPrefix(v, "'") && needsQuote(strings.TrimLeft(v, "'")) {
		return v[1:]
	}
	return v
}

func needsQuote(v string) bool {
	return v != "" && strings.ContainsRune(formulaStarts, rune(v[0]))
}

// ExportUsers writes the tenant's accounts as CSV, in the columns
// ImportUsers reads (plus source), and returns how many it wrote. Cells a
// spreadsheet would run as formulas are neutralised (spreadsheetSafe); the
// file imported back changes nothing.
func (s *Service) ExportUsers(ctx context.Context, tenantSlug string, w io.Writer) (int, error) {
	t, err := s.Tenant(ctx, tenantSlug)
	if err != nil {
		return 0, err
	}
	users, err := s.store.Users(ctx, lanyard.UserFilter{TenantID: t.ID})
	if err != nil {
		return 0, fmt.Errorf("export: list users of %s: %w", t.Slug, err)
	}
	cw := csv.NewWriter(w)
	header := append(slices.Clone(ImportColumns), exportOnlyColumns...)
	if err := cw.Write(header); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	rec := make([]string, len(header))
	for _, u := range users {
		values := map[string]string{"source": string(u.Source)}
		for _, kv := range UserSettingValues(u) {
			values[kv.Key] = kv.Value
		}
		for i, col := range header {
			rec[i] = spreadsheetSafe(values[col])
		}
		if err := cw.Write(rec); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	return len(users), nil
}

// changedFields names the account fields that differ between a and b,
// as lanyard.OwnedFields names them.
func changedFields(a, b lanyard.User) []string {
	var out []string
	for _, f := range []struct {
		name string
		x, y string
	}{
		{"login", a.Login, b.Login}, {"email", a.Email, b.Email}, {"firstname", a.FirstName, b.FirstName},
		{"lastname", a.LastName, b.LastName}, {"status", string(a.Status), string(b.Status)},
	} {
		if f.x != f.y {
			out = append(out, f.name)
		}
	}
	if out == nil {
		out = []string{}
	}
	return out
}
