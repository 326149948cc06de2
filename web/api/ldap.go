package api

import (
	"context"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiv1"
	"github.com/lanyard-sso/lanyard/ldapsync"
	"github.com/lanyard-sso/lanyard/web/internal/params"
)

// DirectoryAdmin manages tenants' LDAP directories and runs their syncs
// (ldapsync.Service).
type DirectoryAdmin interface {
	Status(ctx context.Context, slug string, runs int) (ldapsync.Status, error)
	Set(ctx context.Context, actor, slug string, settings []string, readFile func(string) ([]byte, error)) ([]string, error)
	Test(ctx context.Context, slug string) (ldapsync.TestResult, error)
	Sync(ctx context.Context, slug string, opt ldapsync.Options) (lanyard.LDAPSyncRun, error)
	Run(ctx context.Context, slug string, id int64) (lanyard.LDAPSyncRun, error)
}

var _ DirectoryAdmin = (*ldapsync.Service)(nil)

var errNoDirectories = &lanyard.Error{Kind: lanyard.KindUnavailable, Message: "LDAP synchronisation is not available on this server"}

// handleLDAPGet shows the tenant's directory, the precedence rules and the
// newest runs.
func handleLDAPGet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.LDAPStatus, error) {
		if d.Directories == nil {
			return apiv1.LDAPStatus{}, errNoDirectories
		}
		st, err := d.Directories.Status(r.Context(), r.PathValue("tenant"), 20)
		if err != nil {
			return apiv1.LDAPStatus{}, err
		}
		out := apiv1.LDAPStatus{Configured: st.Configured, Settings: ldapsync.SettingValues(st.Directory), PasswordStored: st.Directory.HasPassword,
			LastStatus: st.State.LastStatus, LastMessage: st.State.LastMessage, PendingRunID: st.State.PendingRunID,
			LastFullAt: st.State.LastFullAt, LastIncrementalAt: st.State.LastIncrAt, Rules: orEmpty(st.Rules), Runs: []apiv1.LDAPSyncRun{}}
		for _, run := range st.Runs {
			run.Report = nil
			out.Runs = append(out.Runs, toLDAPRun(run))
		}
		return out, nil
	})
}

// handleLDAPSet changes the directory settings (the keys of lanyard ldap
// set; bind_password sets the password, files cannot be named).
func handleLDAPSet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, in apiv1.Settings) (apiv1.LDAPChange, error) {
		if d.Directories == nil {
			return apiv1.LDAPChange{}, errNoDirectories
		}
		changes, err := d.Directories.Set(r.Context(), actor(r), r.PathValue("tenant"), settingsList(in), nil)
		if err != nil {
			return apiv1.LDAPChange{}, err
		}
		return apiv1.LDAPChange{Changes: orEmpty(changes)}, nil
	})
}

// handleLDAPTest connects, binds and maps five users.
func handleLDAPTest(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.LDAPTest, error) {
		if d.Directories == nil {
			return apiv1.LDAPTest{}, errNoDirectories
		}
		res, err := d.Directories.Test(r.Context(), r.PathValue("tenant"))
		if err != nil {
			return apiv1.LDAPTest{}, err
		}
		out := apiv1.LDAPTest{URL: res.URL, Users: []apiv1.LDAPSampleUser{}}
		for i, p := range res.People {
			out.Users = append(out.Users, apiv1.LDAPSampleUser{DN: p.DN, Login: p.Login, Email: p.Email, FirstName: p.FirstName, LastName: p.LastName,
				Disabled: p.Disabled, Groups: orEmpty(p.Groups), Roles: orEmpty(res.Roles[i])})
		}
		return out, nil
	})
}

// handleLDAPSync runs a sync now and answers its run. The sync goes on
// to its end even when the caller goes away.
func handleLDAPSync(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.LDAPSyncQuery, _ none) (apiv1.LDAPSyncRun, error) {
		if d.Directories == nil {
			return apiv1.LDAPSyncRun{}, errNoDirectories
		}
		kind := lanyard.SyncFull
		if q.Incremental {
			kind = lanyard.SyncIncremental
		}
		run, err := d.Directories.Sync(context.WithoutCancel(r.Context()), r.PathValue("tenant"), ldapsync.Options{Kind: kind, DryRun: q.DryRun, Confirm: q.Confirm, Actor: actor(r)})
		if err != nil && run.ID == 0 {
			return apiv1.LDAPSyncRun{}, err
		}
		// A failed or stopped run is an answer, not an error: its status
		// and message say what happened.
		return toLDAPRun(run), nil
	})
}

// handleLDAPRun returns one run with its report.
func handleLDAPRun(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.LDAPSyncRun, error) {
		if d.Directories == nil {
			return apiv1.LDAPSyncRun{}, errNoDirectories
		}
		id, err := params.ParseID(r.PathValue("id"))
		if err != nil {
			return apiv1.LDAPSyncRun{}, err
		}
		run, err := d.Directories.Run(r.Context(), r.PathValue("tenant"), id)
		if err != nil {
			return apiv1.LDAPSyncRun{}, err
		}
		return toLDAPRun(run), nil
	})
}

func toLDAPRun(r lanyard.LDAPSyncRun) apiv1.LDAPSyncRun {
	return apiv1.LDAPSyncRun{ID: r.ID, Kind: r.Kind, DryRun: r.DryRun, Status: r.Status, Actor: r.Actor, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		Seen: r.Seen, Created: r.Created, Updated: r.Updated, Deactivated: r.Deactivated, Reactivated: r.Reactivated, Message: r.Message,
		Report: orEmpty(r.Report), Confirmed: r.Confirmed}
}
