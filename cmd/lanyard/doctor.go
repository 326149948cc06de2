package main

import (
	"context"
	"fmt"
	"io"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// errUnhealthy makes lanyard doctor exit non-zero when it found problems,
// for scripts and monitoring.
var errUnhealthy = lanyard.Errorf(lanyard.KindConflict, "the doctor found problems (listed above)")

func (a *app) doctor(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "[--tenant SLUG]",
		"check a tenant's SSO configuration and last logins for what is known to go wrong, and say what to change on which side; exits non-zero when a problem is found")
	tenant := tenantFlag(fs)
	return a.storeCommand(ctx, fs, args, 0, 0, func(svc *admin.Service, _ []string) error {
		d, err := svc.Diagnose(ctx, *tenant)
		if err != nil {
			return err
		}
		printDiagnosis(a.stdout, d)
		for _, f := range d.Findings {
			if f.Severity == admin.SeverityProblem {
				return errUnhealthy
			}
		}
		return nil
	})
}

func printDiagnosis(w io.Writer, d admin.Diagnosis) {
	fmt.Fprintln(w, d.Summary())
	for _, f := range d.Findings {
		fmt.Fprintf(w, "\n%s [%s] %s\n", f.Severity, f.Check, f.Summary)
		if f.IdP != "" {
			fmt.Fprintf(w, "  IdP:  %s\n", f.IdP)
		}
		if f.Evidence != "" {
			fmt.Fprintf(w, "  seen: %s\n", f.Evidence)
		}
		fmt.Fprintf(w, "  fix:  %s\n", f.Fix)
	}
}
