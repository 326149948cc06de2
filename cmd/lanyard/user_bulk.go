package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// maxCSVSize bounds a CSV file read by "user import".
const maxCSVSize = 256 << 20

func (a *app) userImport(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--dry-run] FILE.csv|-", "create and update accounts from a CSV file")
	fs.extra = "The header names the columns: " + strings.Join(admin.ImportColumns, ",") + `
(only login is required; roles separated by ","; other columns are ignored).
A row whose login exists updates that account; an empty cell leaves the field
as it is. Every row is checked first: a bad row imports nothing. Importing the
same file again changes nothing.
`
	tenant := tenantFlag(fs)
	dryRun := fs.Bool("dry-run", false, "show what would change, change nothing")
	progress := fs.Bool("progress", false, "show a progress bar even when stderr is not a terminal")
	quiet := fs.Bool("quiet", false, "print the summary only, not every change")
	return a.storeCommand(ctx, fs, args, 1, 1, func(svc *admin.Service, pos []string) error {
		var in io.Reader = a.stdin
		name := "standard input"
		if pos[0] != "-" {
			f, err := os.Open(pos[0])
			if err != nil {
				return fmt.Errorf("open %s: %w", pos[0], err)
			}
			defer f.Close()
			in, name = f, pos[0]
		}
		opts := admin.ImportOptions{DryRun: *dryRun}
		bar := newProgressBar(a.stderr, "importing")
		if *progress || isTerminal(a.stderr) {
			opts.Progress = bar.update
		}
		rep, err := svc.ImportUsers(ctx, admin.ActorCLI, *tenant, io.LimitReader(in, maxCSVSize), opts)
		bar.finish()
		if err != nil {
			return err
		}
		if !*quiet {
			for _, c := range rep.Changes {
				fmt.Fprintf(a.stdout, "line %d: %s %s: %s\n", c.Line, c.Action, c.Login, strings.Join(c.Changes, "; "))
			}
			if rep.ChangesOmitted > 0 {
				fmt.Fprintf(a.stdout, "... and %d more rows that change something (the first %d are listed)\n", rep.ChangesOmitted, admin.MaxReportedChanges)
			}
		}
		if len(rep.Ignored) > 0 {
			fmt.Fprintf(a.stdout, "ignored columns: %s\n", strings.Join(rep.Ignored, ", "))
		}
		if n := len(rep.SemicolonRoles); n > 0 {
			lines := make([]string, 0, min(n, 10))
			for _, l := range rep.SemicolonRoles[:min(n, 10)] {
				lines = append(lines, strconv.Itoa(l))
			}
			fmt.Fprintf(a.stderr, "lanyard: warning: roles separated by \";\" on %d line(s) (%s): role lists are separated by \",\" (in a quoted cell); \";\" is accepted for now\n", n, strings.Join(lines, ", "))
		}
		verb := "imported"
		if rep.DryRun {
			verb = "dry run, nothing changed; would import"
		}
		fmt.Fprintf(a.stdout, "%s %s into tenant %s: %d rows, %d created, %d updated, %d unchanged\n",
			verb, name, *tenant, rep.Rows, rep.Created, rep.Updated, rep.Unchanged)
		return nil
	})
}

func (a *app) userExport(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--output FILE]", "write a tenant's accounts as CSV (the columns user import reads)")
	tenant := tenantFlag(fs)
	output := fs.String("output", "-", "`file` to write, - for standard output")
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		out := a.rawStdout
		if out == nil {
			out = a.stdout
		}
		if *output != "-" {
			f, err := os.Create(*output)
			if err != nil {
				return fmt.Errorf("create %s: %w", *output, err)
			}
			defer f.Close()
			out = f
		}
		n, err := svc.ExportUsers(ctx, *tenant, out)
		if err != nil {
			return err
		}
		if *output != "-" {
			fmt.Fprintf(a.stdout, "exported %d accounts of tenant %s to %s\n", n, *tenant, *output)
		}
		return nil
	})
}

func (a *app) userMerge(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--dry-run] KEEP REMOVE", "merge account REMOVE into account KEEP (links, roles, sessions, history), then delete REMOVE")
	tenant := tenantFlag(fs)
	dryRun := fs.Bool("dry-run", false, "show what the merge would change, change nothing")
	return a.storeCommand(ctx, fs, args, 2, 2, func(svc *admin.Service, pos []string) error {
		if *dryRun {
			plan, err := svc.PreviewMerge(ctx, *tenant, pos[0], pos[1])
			if err != nil {
				return err
			}
			printMergePlan(a.stdout, plan, "would move")
			fmt.Fprintln(a.stdout, "dry run: nothing changed")
			return nil
		}
		plan, err := svc.MergeUsers(ctx, admin.ActorCLI, *tenant, pos[0], pos[1])
		if err != nil {
			return err
		}
		printMergePlan(a.stdout, plan, "moved")
		fmt.Fprintf(a.stdout, "merged %s into %s (%d audit events moved); %s deleted\n", plan.Remove.Login, plan.Keep.Login, plan.AuditEvents, plan.Remove.Login)
		return nil
	})
}

// printMergePlan writes the preview (or the report) of a merge.
func printMergePlan(w io.Writer, p admin.MergePlan, verb string) {
	fmt.Fprintf(w, "keep:   %s (ID %d, %s, %s)\n", p.Keep.Login, p.Keep.ID, p.Keep.Source, p.Keep.LoginMethod)
	fmt.Fprintf(w, "remove: %s (ID %d, %s, %s)\n", p.Remove.Login, p.Remove.ID, p.Remove.Source, p.Remove.LoginMethod)
	fmt.Fprintf(w, "%s %d IdP link(s) and %d session(s)\n", verb, len(p.Links), p.Sessions)
	for _, l := range p.Links {
		fmt.Fprintf(w, "  link: %s at %s\n", l.NameID, l.IdPEntityID)
	}
	for _, c := range p.Changes {
		fmt.Fprintf(w, "  %s\n", c)
	}
}

func (a *app) userConvert(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG] [--domain example.com] [--dry-run] [--all-local] LOGIN...", "convert local accounts to SSO accounts (login in UPN form, SSO login only)")
	tenant := tenantFlag(fs)
	domain := fs.String("domain", "", "`domain` of the UPN for logins without @ (default: use the account's email)")
	dryRun := fs.Bool("dry-run", false, "show the conversions, change nothing")
	all := fs.Bool("all-local", false, "convert every local account with password login")
	return a.storeCommand(ctx, fs, args, 0, -1, func(svc *admin.Service, logins []string) error {
		if *all {
			users, err := svc.Users(ctx, *tenant, lanyard.UserFilter{Source: lanyard.SourceLocal, LoginMethod: lanyard.LoginPassword})
			if err != nil {
				return err
			}
			for _, u := range users {
				logins = append(logins, u.Login)
			}
			if len(users) == 0 {
				fmt.Fprintf(a.stdout, "no local account with password login in tenant %s\n", *tenant)
				return nil
			}
		}
		if len(logins) == 0 {
			return &usageError{cmd: path, msg: "name the accounts to convert, or give --all-local"}
		}
		results, err := svc.ConvertToSSO(ctx, admin.ActorCLI, *tenant, logins, admin.ConvertOptions{Domain: *domain, DryRun: *dryRun})
		if err != nil {
			return err
		}
		for _, r := range results {
			if len(r.Changes) == 0 {
				fmt.Fprintf(a.stdout, "%s: already an SSO account\n", r.Login)
				continue
			}
			fmt.Fprintf(a.stdout, "%s: %s\n", r.Login, strings.Join(r.Changes, "; "))
		}
		if *dryRun {
			fmt.Fprintln(a.stdout, "dry run: nothing changed")
		} else {
			fmt.Fprintf(a.stdout, "converted %d account(s) of tenant %s to SSO\n", len(results), *tenant)
		}
		return nil
	})
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressBar draws "label [=====>    ] 42% 4200/10000" on one terminal
// line, at most ten times a second.
type progressBar struct {
	w     io.Writer
	label string
	last  time.Time
	shown bool
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label}
}

func (p *progressBar) update(done, total int) {
	if total <= 0 || (done < total && time.Since(p.last) < 100*time.Millisecond) {
		return
	}
	p.last = time.Now()
	const width = 30
	filled := done * width / total
	bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
	fmt.Fprintf(p.w, "\r%s [%s] %3d%% %d/%d", p.label, bar, done*100/total, done, total)
	p.shown = true
}

// finish ends the bar's line, if one was drawn.
func (p *progressBar) finish() {
	if p.shown {
		fmt.Fprintln(p.w)
		p.shown = false
	}
}
