package admin

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/testdb"
	"github.com/lanyard-sso/lanyard/sqlstore"
)

const importCSV = `login,email,firstname,lastname,status,login_method,roles,department
jdoe@acme.com,jdoe@acme.com,John,Doe,active,sso,editor;viewer,R&D
ann@acme.com,ann@acme.com,Ann,"Lee, Jr.",inactive,password,,Sales
bob@acme.com,,Bob,,,,viewer,
`

func TestImportUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.mustTenant(t, "acme")
		if _, err := f.svc.AddUser(f.ctx, "test", "acme", lanyard.User{Login: "bob@acme.com", FirstName: "Robert", WebAccess: true}); err != nil {
			t.Fatal(err)
		}

		dry, err := f.svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader(importCSV), ImportOptions{DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		if dry.Created != 2 || dry.Updated != 1 || dry.Unchanged != 0 || len(dry.Ignored) != 1 {
			t.Errorf("dry run: %+v", dry)
		}
		if _, err := f.svc.User(f.ctx, "acme", "jdoe@acme.com"); err == nil {
			t.Fatal("the dry run created an account")
		}

		var progress []int
		rep, err := f.svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader(importCSV), ImportOptions{
			Progress: func(done, total int) { progress = append(progress, done, total) },
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Created != 2 || rep.Updated != 1 {
			t.Errorf("import: %+v", rep)
		}
		if fmt.Sprint(progress) != "[3 3]" { // the update and the creations in one chunk of importChunk rows
			t.Errorf("progress calls %v", progress)
		}
		jdoe, err := f.svc.User(f.ctx, "acme", "jdoe@acme.com")
		if err != nil {
			t.Fatal(err)
		}
		if jdoe.FirstName != "John" || strings.Join(jdoe.RoleNames(), ";") != "editor;viewer" || !jdoe.WebAccess || jdoe.Status != lanyard.StatusActive {
			t.Errorf("jdoe: %+v", jdoe)
		}
		ann, _ := f.svc.User(f.ctx, "acme", "ann@acme.com")
		if ann.LastName != "Lee, Jr." || ann.Status != lanyard.StatusInactive || ann.LoginMethod != lanyard.LoginPassword {
			t.Errorf("ann: %+v", ann)
		}
		bob, _ := f.svc.User(f.ctx, "acme", "bob@acme.com")
		if bob.FirstName != "Bob" || !bob.HasRole("viewer") {
			t.Errorf("bob: %+v", bob)
		}
		if ev := f.lastAudit(t, "user.import"); ev.Actor != "alice" || !strings.Contains(ev.Message, "2 created, 1 updated") {
			t.Errorf("import audit event: %+v", ev)
		}
		if ev := f.lastAudit(t, "user.update"); ev.Actor != "alice" || !strings.Contains(ev.Message, "line 4") {
			t.Errorf("update audit event: %+v", ev)
		}

		// The same file again changes nothing; nor does the export.
		again, err := f.svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader(importCSV), ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if again.Created != 0 || again.Updated != 0 || again.Unchanged != 3 {
			t.Errorf("second import: %+v", again)
		}
		var out bytes.Buffer
		n, err := f.svc.ExportUsers(f.ctx, "acme", &out)
		if err != nil || n != 3 {
			t.Fatalf("export: %d, %v", n, err)
		}
		if !strings.HasPrefix(out.String(), "login,email,firstname,lastname,status,login_method,roles,locked,web_access,auto_login,source\n") ||
			!strings.Contains(out.String(), `ann@acme.com,ann@acme.com,Ann,"Lee, Jr.",inactive,password,,false,true,false,local`) {
			t.Errorf("export:\n%s", out.String())
		}
		back, err := f.svc.ImportUsers(f.ctx, "alice", "acme", &out, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if back.Unchanged != 3 || back.Created+back.Updated != 0 {
			t.Errorf("export imported back: %+v", back)
		}
	})
}

func TestImportUsersRefusesBadRows(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.mustTenant(t, "acme")
		bad := `login,email,status,roles
ok@acme.com,ok@acme.com,active,
bad@acme.com,not-an-email,active,
,x@acme.com,active,
ok@acme.com,ok@acme.com,active,
c@acme.com,c@acme.com,retired,a;b
d@acme.com,d@acme.com
`
		_, err := f.svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader(bad), ImportOptions{})
		msg := lanyard.ErrorMessage(err)
		for _, want := range []string{
			"nothing was imported",
			`line 3: email "not-an-email": not an email address`,
			"line 4: login: required",
			`line 5: login "ok@acme.com" appears again (first on line 2)`,
			"line 6: status=retired: use active or inactive",
			"line 7: 2 cells, the header has 4",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error lacks %q:\n%s", want, msg)
			}
		}
		// The rows' problems come back one by one, not only as text.
		if ve, ok := errors.AsType[*lanyard.ValidationError](err); !ok || !slices.Contains(ve.Problems, "line 4: login: required") {
			t.Errorf("errors.As(*ValidationError) on %v: %v, want the rows' problems", err, ve)
		}
		if users, _ := f.svc.Users(f.ctx, "acme", lanyard.UserFilter{}); len(users) != 0 {
			t.Errorf("a refused file created %d accounts", len(users))
		}
		_, err = f.svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader("email,name\nx@y.z,X\n"), ImportOptions{})
		if !strings.Contains(lanyard.ErrorMessage(err), "no login column") {
			t.Errorf("file without login column: %v", err)
		}
		_, err = f.svc.ImportUsers(f.ctx, "alice", "acme", strings.NewReader(""), ImportOptions{})
		if !strings.Contains(lanyard.ErrorMessage(err), "empty") {
			t.Errorf("empty file: %v", err)
		}
	})
}

// usersCSV returns a CSV file of n accounts.
func usersCSV(n int) []byte {
	var b bytes.Buffer
	b.WriteString("login,email,firstname,lastname,status,login_method,roles\n")
	for i := range n {
		fmt.Fprintf(&b, "user%05d@acme.com,user%05d@acme.com,First%d,Last%d,active,sso,staff;team%d\n", i, i, i, i, i%10)
	}
	return b.Bytes()
}

// BenchmarkImportUsers10k imports 10,000 new accounts from CSV into an
// empty tenant, on each engine (one iteration is one whole file).
func BenchmarkImportUsers10k(b *testing.B) {
	file := usersCSV(10000)
	for _, e := range engines {
		b.Run(e.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				f := newBenchFixture(b, e.name)
				b.StartTimer()
				start := time.Now()
				rep, err := f.svc.ImportUsers(f.ctx, "cli", "acme", bytes.NewReader(file), ImportOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if rep.Created != 10000 {
					b.Fatalf("created %d", rep.Created)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s/10k-users")
			}
		})
	}
}

// newBenchFixture returns a service over a fresh store of the engine with
// the tenant acme.
func newBenchFixture(b *testing.B, engine string) *fixture {
	b.Helper()
	db := testdb.Open(b, engine).(*sqlstore.DB)
	c := testdb.NewClock(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	svc := New(db, Options{Now: c.Now})
	svc.generateKey = cachedKey
	f := &fixture{svc: svc, db: db, clock: c, ctx: context.Background()}
	if _, err := svc.CreateTenant(f.ctx, "test", "acme", "ACME", nil); err != nil {
		b.Fatal(err)
	}
	return f
}

// TestExportNeutralisesFormulas: no exported cell starts with a character
// that makes a spreadsheet run it (=, +, -, @, tab, CR), and the file
// imported back changes nothing.
func TestExportNeutralisesFormulas(t *testing.T) {
	forEachEngine(t, func(t *testing.T, f *fixture) {
		f.mustTenant(t, "acme")
		names := []string{`=cmd|' /C calc'!A0`, "+SUM(1;2)", "-2+3", "@SUM(A1)", "'=already quoted", "''@twice", "Ann", "'plain"}
		for i, n := range names {
			u := lanyard.User{Login: fmt.Sprintf("u%d", i), FirstName: n, LastName: "=1+1", Email: fmt.Sprintf("u%d@acme.com", i)}
			if _, err := f.svc.AddUser(f.ctx, "alice", "acme", u); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if _, err := f.svc.ExportUsers(f.ctx, "acme", &out); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(strings.NewReader(out.String())).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, rec := range recs {
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("cell %q would run as a formula", cell)
				}
			}
		}
		back, err := f.svc.ImportUsers(f.ctx, "alice", "acme", &out, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if back.Unchanged != len(names) || back.Created+back.Updated != 0 {
			t.Errorf("export imported back: %+v", back)
		}
		for i, n := range names {
			u, _ := f.svc.User(f.ctx, "acme", fmt.Sprintf("u%d", i))
			if u.FirstName != n || u.LastName != "=1+1" {
				t.Errorf("u%d: %q %q, want %q =1+1", i, u.FirstName, u.LastName, n)
			}
		}
	})
}

func TestSpreadsheetSafeRoundTrip(t *testing.T) {
	for _, v := range []string{"", "a", "=1", "+1", "-1", "@a", "\tx", "\rx", "'", "'=1", "''=1", "'a", "a=1", "1-2"} {
		safe := spreadsheetSafe(v)
		if safe != "" && strings.ContainsRune(formulaStarts, rune(safe[0])) {
			t.Errorf("%q exported as %q", v, safe)
		}
		if back := fromSpreadsheetSafe(safe); back != v {
			t.Errorf("%q → %q → %q", v, safe, back)
		}
	}
}
