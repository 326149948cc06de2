package api

import (
	"context"
	"io"
	"net/http"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/apiv1"
	"github.com/lanyard-sso/lanyard/web/internal/download"
)

// handleUserList lists a tenant's users with filters.
func handleUserList(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, q apiv1.UserQuery, _ none) (apiv1.UserList, error) {
		users, err := d.Users.Users(r.Context(), r.PathValue("tenant"), lanyard.UserFilter{
			Query: q.Query, Status: lanyard.UserStatus(q.Status), Source: lanyard.UserSource(q.Source),
			LoginMethod: lanyard.LoginMethod(q.LoginMethod), Role: q.Role, Limit: q.Limit, Offset: q.Offset,
		})
		if err != nil {
			return apiv1.UserList{}, err
		}
		return apiv1.UserList{Users: listOf(users, toUser)}, nil
	})
}

// handleUserCreate adds a local user.
func handleUserCreate(d Deps) endpoint {
	return jsonCall(d, http.StatusCreated, func(r *http.Request, _ none, in apiv1.UserCreate) (apiv1.User, error) {
		u := lanyard.User{Login: in.Login, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
			Status: lanyard.UserStatus(in.Status), LoginMethod: lanyard.LoginMethod(in.LoginMethod),
			WebAccess: in.WebAccess == nil || *in.WebAccess, AutoLogin: in.AutoLogin, Source: lanyard.SourceLocal}
		u.SetRoles(lanyard.RoleManual, in.Roles)
		u, err := d.Users.AddUser(r.Context(), actor(r), r.PathValue("tenant"), u)
		if err != nil {
			return apiv1.User{}, err
		}
		return toUser(u), nil
	})
}

// handleUserGet shows a user with its IdP links and live sessions count.
func handleUserGet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.UserInfo, error) {
		info, err := d.Users.DescribeUser(r.Context(), r.PathValue("tenant"), r.PathValue("login"))
		if err != nil {
			return apiv1.UserInfo{}, err
		}
		links := listOf(info.Links, func(l lanyard.Link) apiv1.UserLink {
			return apiv1.UserLink{IdPEntityID: l.IdPEntityID, NameID: l.NameID, CreatedAt: l.CreatedAt}
		})
		return apiv1.UserInfo{User: toUser(info.User), Links: links, LiveSessions: len(info.Sessions)}, nil
	})
}

// handleUserSet changes a user (the keys of SetUser).
func handleUserSet(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, in apiv1.Settings) (apiv1.UserChange, error) {
		u, changes, err := d.Users.SetUser(r.Context(), actor(r), r.PathValue("tenant"), r.PathValue("login"), settingsList(in))
		if err != nil {
			return apiv1.UserChange{}, err
		}
		return apiv1.UserChange{User: toUser(u), Changes: orEmpty(changes)}, nil
	})
}

// csvBody is the CSV file of an import.
var csvBody = content{mediaType: "text/csv",
	description: "header login,email,firstname,lastname,status,login_method,roles (roles separated by ;)"}

// handleUserImport imports a CSV body (text/csv); ?dry_run=true reports
// what would change.
func handleUserImport(d Deps) endpoint {
	return uploadCall(d, http.StatusOK, []content{csvBody}, func(w http.ResponseWriter, r *http.Request, q apiv1.ImportQuery) (apiv1.ImportReport, error) {
		// Streamed: the import holds no more of the file than a row.
		body := uploadReader(w, r)
		rep, err := d.Users.ImportUsers(r.Context(), actor(r), r.PathValue("tenant"), body, admin.ImportOptions{DryRun: q.DryRun})
		if err != nil {
			return apiv1.ImportReport{}, err
		}
		changes := listOf(rep.Changes, func(c admin.ImportChange) apiv1.ImportChange {
			return apiv1.ImportChange{Line: c.Line, Login: c.Login, Action: apiv1.ImportAction(c.Action), Changes: orEmpty(c.Changes)}
		})
		return apiv1.ImportReport{DryRun: rep.DryRun, Rows: rep.Rows, Created: rep.Created, Updated: rep.Updated,
			Unchanged: rep.Unchanged, Changes: changes, IgnoredColumns: orEmpty(rep.Ignored)}, nil
	})
}

// handleUserExport answers the tenant's users as CSV, the columns that
// import reads.
func handleUserExport(d Deps) endpoint {
	return endpoint{
		status:   http.StatusOK,
		response: content{mediaType: "text/csv", description: "the columns import reads"},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tenant := r.PathValue("tenant")
			err := download.CSV(r.Context(), w, "users-"+tenant+".csv", func(ctx context.Context, out io.Writer) error {
				_, err := d.Users.ExportUsers(ctx, tenant, out)
				return err
			})
			if err != nil {
				writeError(d, w, r, err)
			}
		}),
	}
}

// handleUserMerge merges "remove" into "keep"; "dry_run" previews.
func handleUserMerge(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, in apiv1.MergeRequest) (apiv1.MergePlan, error) {
		var (
			plan admin.MergePlan
			err  error
		)
		if in.DryRun {
			plan, err = d.Users.PreviewMerge(r.Context(), r.PathValue("tenant"), in.Keep, in.Remove)
		} else {
			plan, err = d.Users.MergeUsers(r.Context(), actor(r), r.PathValue("tenant"), in.Keep, in.Remove)
		}
		if err != nil {
			return apiv1.MergePlan{}, err
		}
		links := listOf(plan.Links, func(l lanyard.Link) apiv1.MergeLink {
			return apiv1.MergeLink{IdPEntityID: l.IdPEntityID, NameID: l.NameID}
		})
		return apiv1.MergePlan{DryRun: in.DryRun, Keep: toUser(plan.Keep), Remove: toUser(plan.Remove), Result: toUser(plan.Result),
			Links: links, Sessions: plan.Sessions, Changes: orEmpty(plan.Changes), AuditEventsMoved: plan.AuditEvents}, nil
	})
}

// handleUserConvert converts accounts to SSO accounts.
func handleUserConvert(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, in apiv1.ConvertRequest) (apiv1.ConvertReport, error) {
		results, err := d.Users.ConvertToSSO(r.Context(), actor(r), r.PathValue("tenant"), in.Logins, admin.ConvertOptions{Domain: in.Domain, DryRun: in.DryRun})
		if err != nil {
			return apiv1.ConvertReport{}, err
		}
		conversions := listOf(results, func(c admin.Conversion) apiv1.Conversion {
			return apiv1.Conversion{Login: c.Login, NewLogin: c.NewLogin, Changes: orEmpty(c.Changes)}
		})
		return apiv1.ConvertReport{DryRun: in.DryRun, Conversions: conversions}, nil
	})
}

func toUser(u lanyard.User) apiv1.User {
	return apiv1.User{ID: u.ID, Login: u.Login, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
		Status: apiv1.UserStatus(u.Status), Locked: u.Locked, LoginMethod: apiv1.LoginMethod(u.LoginMethod), WebAccess: u.WebAccess,
		AutoLogin: u.AutoLogin, Source: apiv1.UserSource(u.Source), IdPSourced: u.IdPSourced,
		Roles: listOf(u.Roles, func(g lanyard.RoleGrant) apiv1.Role {
			return apiv1.Role{Role: g.Role, Source: apiv1.RoleSource(g.Source)}
		}),
		HasPassword: u.PasswordHash != "", CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt, LastLoginAt: optTime(u.LastLoginAt)}
}

// handleUserDelete deletes a user.
func handleUserDelete(d Deps) endpoint {
	return jsonCall(d, http.StatusOK, func(r *http.Request, _ none, _ none) (apiv1.Deleted, error) {
		u, err := d.Users.DeleteUser(r.Context(), actor(r), r.PathValue("tenant"), r.PathValue("login"))
		if err != nil {
			return apiv1.Deleted{}, err
		}
		return apiv1.Deleted{Deleted: u.Login}, nil
	})
}
