package scim

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/login"
)

// userPatcher knows the User schema's multi-valued attributes and its
// extension.
var userPatcher = &patcher{
	core:       SchemaUser,
	extensions: []string{SchemaEnterprise},
	multi:      []string{"emails", "phonenumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles", "x509certificates"},
}

// userKeysMapped are the attributes kept in the account itself (or never
// kept: password, read-only ones), not in the profile's attributes.
var userKeysMapped = []string{"schemas", "id", "meta", "username", "externalid", "active", "groups", "password"}

// userFields is what a User document says of the account.
type userFields struct {
	login, email, first, last string
	active                    bool
	externalID                string
	attributes                string // JSON object of the rest
}

// userFromDoc reads a User document (a POST or PUT body, or the result of
// a PATCH), checking what the account needs.
func userFromDoc(doc map[string]any) (userFields, error) {
	var f userFields
	userName, ok := doc[mustKey(doc, "userName")].(string)
	if !ok || strings.TrimSpace(userName) == "" {
		return f, scimErr(http.StatusBadRequest, "invalidValue", "userName is required: a non-empty string")
	}
	f.login = strings.TrimSpace(userName)
	if v, present := doc[mustKey(doc, "externalId")]; present && v != nil {
		s, ok := v.(string)
		if !ok {
			return f, scimErr(http.StatusBadRequest, "invalidValue", "externalId must be a string")
		}
		if len(s) > 256 || lanyard.HasControl(s) {
			return f, scimErr(http.StatusBadRequest, "invalidValue", "externalId: at most 256 characters, no control characters")
		}
		f.externalID = s
	}
	f.active = true
	if v, present := doc[mustKey(doc, "active")]; present && v != nil {
		b, ok := boolValue(v)
		if !ok {
			return f, scimErr(http.StatusBadRequest, "invalidValue", "active must be true or false, not %v", v)
		}
		f.active = b
	}
	rest := map[string]any{}
	for k, v := range doc {
		if !slices.Contains(userKeysMapped, strings.ToLower(k)) && v != nil {
			rest[k] = v
		}
	}
	if name, ok := rest[mustKey(rest, "name")].(map[string]any); ok {
		f.first, _ = name[mustKey(name, "givenName")].(string)
		f.last, _ = name[mustKey(name, "familyName")].(string)
	} else if v, present := rest[mustKey(rest, "name")]; present && v != nil {
		return f, scimErr(http.StatusBadRequest, "invalidValue", "name must be an object {givenName, familyName...}")
	}
	if v, present := rest[mustKey(rest, "emails")]; present && v != nil {
		emails, ok := v.([]any)
		if !ok {
			return f, scimErr(http.StatusBadRequest, "invalidValue", "emails must be a list of {value, type, primary}")
		}
		f.email = chooseEmail(emails)
	}
	if len(rest) > 0 {
		b, err := json.Marshal(rest)
		if err != nil {
			return f, scimErr(http.StatusBadRequest, "invalidValue", "attributes: %v", err)
		}
		if len(b) > 64<<10 {
			return f, scimErr(http.StatusRequestEntityTooLarge, "tooLarge", "a user's other attributes take at most 64 KiB")
		}
		f.attributes = string(b)
	}
	return f, nil
}

// chooseEmail picks the email the account keeps: the primary one, else
// the work one, else the first.
func chooseEmail(emails []any) string {
	var first, work string
	for _, e := range emails {
		m, ok := e.(map[string]any)
		if !ok {
			continue
		}
		v, _ := m[mustKey(m, "value")].(string)
		if v == "" {
			continue
		}
		if p, _ := boolValue(m[mustKey(m, "primary")]); p {
			return v
		}
		if t, _ := m[mustKey(m, "type")].(string); strings.EqualFold(t, "work") && work == "" {
			work = v
		}
		if first == "" {
			first = v
		}
	}
	if work != "" {
		return work
	}
	return first
}

// apply writes the fields onto the account; it returns the names of the
// fields it changed.
func (f userFields) apply(u *lanyard.User) []string {
	var changed []string
	set := func(name string, dst *string, v string) {
		if *dst != v {
			changed = append(changed, name)
			*dst = v
		}
	}
	set("login", &u.Login, f.login)
	set("email", &u.Email, f.email)
	set("firstname", &u.FirstName, lanyard.CleanText(f.first, 200))
	set("lastname", &u.LastName, lanyard.CleanText(f.last, 200))
	status := lanyard.StatusInactive
	if f.active {
		status = lanyard.StatusActive
	}
	if u.Status != status {
		changed = append(changed, "status")
		u.Status = status
	}
	return changed
}

// renderUser builds the User resource of an account.
func (q *request) renderUser(u lanyard.User, prof lanyard.SCIMProfile, groups []lanyard.SCIMGroup) (map[string]any, string) {
	res := map[string]any{}
	if prof.Attributes != "" {
		_ = json.Unmarshal([]byte(prof.Attributes), &res)
	}
	schemas := []string{SchemaUser}
	if _, ok := lookup(res, SchemaEnterprise); ok {
		schemas = append(schemas, SchemaEnterprise)
	}
	res["schemas"] = schemas
	res["id"] = strconv.FormatInt(u.ID, 10)
	if prof.ExternalID != "" {
		res["externalId"] = prof.ExternalID
	}
	res["userName"] = u.Login
	name, _ := res[mustKey(res, "name")].(map[string]any)
	if name == nil {
		name = map[string]any{}
	}
	delete(res, mustKey(res, "name"))
	delete(name, mustKey(name, "givenName"))
	delete(name, mustKey(name, "familyName"))
	if u.FirstName != "" {
		name["givenName"] = u.FirstName
	}
	if u.LastName != "" {
		name["familyName"] = u.LastName
	}
	if len(name) > 0 {
		res["name"] = name
	}
	if _, ok := lookup(res, "displayName"); !ok && u.FullName() != "" && !q.noDerived {
		res["displayName"] = u.FullName()
	}
	emails, _ := res[mustKey(res, "emails")].([]any)
	delete(res, mustKey(res, "emails"))
	if u.Email != "" {
		if chooseEmail(emails) != u.Email {
			emails = []any{map[string]any{"value": u.Email, "type": "work", "primary": true}}
		}
		res["emails"] = emails
	}
	res["active"] = u.Status == lanyard.StatusActive
	if len(groups) > 0 {
		var gs []any
		for _, g := range groups {
			id := strconv.FormatInt(g.ID, 10)
			gs = append(gs, map[string]any{"value": id, "display": g.DisplayName, "$ref": q.base + "/Groups/" + id, "type": "direct"})
		}
		res["groups"] = gs
	}
	meta := map[string]any{"resourceType": "User", "created": u.CreatedAt.UTC().Format(time.RFC3339), "lastModified": u.UpdatedAt.UTC().Format(time.RFC3339)}
	res["meta"] = meta
	version := etag(res)
	meta["version"] = version
	meta["location"] = q.base + "/Users/" + strconv.FormatInt(u.ID, 10)
	return res, version
}

// etag is the weak entity tag of a resource: a digest of its JSON
// (before meta.version and meta.location are added), so any change shows.
func etag(res map[string]any) string {
	b, _ := json.Marshal(res)
	sum := sha256.Sum256(b)
	return `W/"` + hex.EncodeToString(sum[:8]) + `"`
}

// loadUser reads a tenant's account with its profile and groups.
func (q *request) loadUser(ctx context.Context, st lanyard.Store, id int64) (lanyard.User, lanyard.SCIMProfile, []lanyard.SCIMGroup, error) {
	u, err := st.User(ctx, id)
	if errors.Is(err, lanyard.ErrNotFound) || (err == nil && u.TenantID != q.tenant.ID) {
		return u, lanyard.SCIMProfile{}, nil, scimErr(http.StatusNotFound, "", "User %d not found", id)
	}
	if err != nil {
		return u, lanyard.SCIMProfile{}, nil, err
	}
	prof, err := st.SCIMProfile(ctx, id)
	if err != nil {
		return u, prof, nil, err
	}
	if prof.Deleted {
		return u, prof, nil, scimErr(http.StatusNotFound, "", "User %d not found", id)
	}
	groups, err := st.SCIMGroupsOfUser(ctx, id)
	return u, prof, groups, err
}

func handleUserGet(q *request) (int, any, error) {
	id, err := resourceID(q, "User")
	if err != nil {
		return 0, nil, err
	}
	u, prof, groups, err := q.loadUser(q.ctx, q.Store, id)
	if err != nil {
		return 0, nil, err
	}
	res, version := q.renderUser(u, prof, groups)
	q.w.Header().Set("ETag", version)
	if q.notModified(version) {
		return http.StatusNotModified, nil, nil
	}
	return http.StatusOK, projection(res, queryParams(q.r)), nil
}

func handleUserList(q *request) (int, any, error) {
	return q.listUsers(queryParams(q.r))
}

func handleUserSearch(q *request) (int, any, error) { return q.search(q.listUsers) }

func (q *request) listUsers(params map[string]string) (int, any, error) {
	cond, p, start, err := listSpec(params, "User")
	if err != nil {
		return 0, nil, err
	}
	users, profiles, total, err := q.Store.SCIMUsers(q.ctx, q.tenant.ID, cond, p)
	if err != nil {
		return 0, nil, listErr(err)
	}
	wantGroups := !excluded(params, "groups")
	var out []any
	for i, u := range users {
		var groups []lanyard.SCIMGroup
		if wantGroups {
			if groups, err = q.Store.SCIMGroupsOfUser(q.ctx, u.ID); err != nil {
				return 0, nil, err
			}
		}
		res, _ := q.renderUser(u, profiles[i], groups)
		out = append(out, projection(res, params))
	}
	return http.StatusOK, listResponse(total, start, out), nil
}

// excluded reports whether the parameters leave attr out of the answer.
func excluded(params map[string]string, attr string) bool {
	for _, a := range strings.Split(params["excludedAttributes"], ",") {
		if strings.EqualFold(strings.TrimSpace(a), attr) {
			return true
		}
	}
	if attrs := params["attributes"]; attrs != "" {
		for _, a := range strings.Split(attrs, ",") {
			if strings.EqualFold(strings.TrimSpace(a), attr) {
				return false
			}
		}
		return true
	}
	return false
}

// sourceErr turns an ownership refusal into a SCIM error.
func sourceErr(err error) error {
	if lanyard.ErrorKind(err) == lanyard.KindConflict {
		return scimErr(http.StatusConflict, "mutability", "%s", lanyard.ErrorMessage(err))
	}
	return err
}

func handleUserCreate(q *request) (int, any, error) {
	doc, err := q.readBody()
	if err != nil {
		return 0, nil, err
	}
	f, err := userFromDoc(doc)
	if err != nil {
		return 0, nil, err
	}
	if err := lanyard.CheckSourceWrite(q.tenant.SSO.AccountOwner, lanyard.SourceSCIM, nil); err != nil {
		return 0, nil, sourceErr(err)
	}
	u := lanyard.User{TenantID: q.tenant.ID, LoginMethod: lanyard.LoginSSO, WebAccess: true, Source: lanyard.SourceSCIM}
	f.apply(&u)
	u.Normalize()
	if err := u.Validate(); err != nil {
		return 0, nil, scimErr(http.StatusBadRequest, "invalidValue", "%s", lanyard.ErrorMessage(err))
	}
	err = q.Store.Atomic(q.ctx, func(tx lanyard.Store) error {
		if err := tx.CreateUser(q.ctx, &u); err != nil {
			if errors.Is(err, lanyard.ErrConflict) {
				return q.revive(tx, &u, f)
			}
			return err
		}
		if err := tx.PutSCIMProfile(q.ctx, lanyard.SCIMProfile{UserID: u.ID, ExternalID: f.externalID, Attributes: f.attributes}); err != nil {
			return err
		}
		return q.audit(q.ctx, tx, "scim.user.create", u.ID, u.Login, "SCIM created user %s (status %s, email %q, externalId %q)", u.Login, u.Status, u.Email, f.externalID)
	})
	if err != nil {
		return 0, nil, err
	}
	res, version := q.renderUser(u, lanyard.SCIMProfile{UserID: u.ID, ExternalID: f.externalID, Attributes: f.attributes}, nil)
	q.w.Header().Set("ETag", version)
	q.w.Header().Set("Location", res["meta"].(map[string]any)["location"].(string))
	return http.StatusCreated, res, nil
}

// revive answers a create whose userName is taken: when the account is
// one the client deleted and the tenant kept (scim_delete=deactivate), it
// is the client's again, with the fields of the create; otherwise 409.
func (q *request) revive(tx lanyard.Store, u *lanyard.User, f userFields) error {
	taken := scimErr(http.StatusConflict, "uniqueness", "userName %q is taken in this tenant", u.Login)
	existing, err := tx.UserByLogin(q.ctx, q.tenant.ID, u.Login)
	if err != nil {
		return taken
	}
	prof, err := tx.SCIMProfile(q.ctx, existing.ID)
	if err != nil {
		return err
	}
	if !prof.Deleted {
		return taken
	}
	probe := existing
	if err := lanyard.CheckSourceWrite(q.tenant.SSO.AccountOwner, lanyard.SourceSCIM, &existing, f.apply(&probe)...); err != nil {
		return sourceErr(err)
	}
	revived, err := tx.UpdateUser(q.ctx, existing.ID, func(cur *lanyard.User) error {
		f.apply(cur)
		cur.Normalize()
		return cur.Validate()
	})
	if err != nil {
		return err
	}
	if err := tx.PutSCIMProfile(q.ctx, lanyard.SCIMProfile{UserID: revived.ID, ExternalID: f.externalID, Attributes: f.attributes}); err != nil {
		return err
	}
	*u = revived
	return q.audit(q.ctx, tx, "scim.user.create", u.ID, u.Login, "SCIM created user %s again: the account kept after its DELETE is the client's again (status %s, externalId %q)", u.Login, u.Status, f.externalID)
}

func handleUserReplace(q *request) (int, any, error) {
	doc, err := q.readBody()
	if err != nil {
		return 0, nil, err
	}
	return q.updateUser("scim.user.replace", func(map[string]any) (map[string]any, error) { return doc, nil })
}

func handleUserPatch(q *request) (int, any, error) {
	doc, err := q.readBody()
	if err != nil {
		return 0, nil, err
	}
	ops, err := parsePatch(doc)
	if err != nil {
		return 0, nil, err
	}
	return q.updateUser("scim.user.patch", func(current map[string]any) (map[string]any, error) {
		delete(current, "meta")
		delete(current, "groups")
		return current, userPatcher.apply(current, ops)
	})
}

// patchBase is the document a PATCH applies to: the resource as stored,
// without the displayName that rendering derives from the names (it
// would otherwise be kept as if the client had sent it).
func (q *request) patchBase(u lanyard.User, prof lanyard.SCIMProfile, groups []lanyard.SCIMGroup) map[string]any {
	q.noDerived = true
	defer func() { q.noDerived = false }()
	res, _ := q.renderUser(u, prof, groups)
	return res
}

// updateUser replaces the account with the document next makes of the
// current one, in one transaction: If-Match, ownership, the account, its
// profile, its sessions when it is deactivated, the audit trail.
func (q *request) updateUser(action string, next func(current map[string]any) (map[string]any, error)) (int, any, error) {
	id, err := resourceID(q, "User")
	if err != nil {
		return 0, nil, err
	}
	var (
		updated lanyard.User
		prof    lanyard.SCIMProfile
		groups  []lanyard.SCIMGroup
	)
	err = q.Store.Atomic(q.ctx, func(tx lanyard.Store) error {
		u, cur, gs, err := q.loadUser(q.ctx, tx, id)
		if err != nil {
			return err
		}
		_, version := q.renderUser(u, cur, gs)
		if err := q.checkIfMatch(version); err != nil {
			return err
		}
		doc, err := next(q.patchBase(u, cur, gs))
		if err != nil {
			return err
		}
		f, err := userFromDoc(doc)
		if err != nil {
			return err
		}
		probe := u
		changed := f.apply(&probe)
		if len(changed) > 0 || f.externalID != cur.ExternalID || f.attributes != cur.Attributes {
			if err := lanyard.CheckSourceWrite(q.tenant.SSO.AccountOwner, lanyard.SourceSCIM, &u, changed...); err != nil {
				return sourceErr(err)
			}
		}
		if len(changed) > 0 || (u.Source != lanyard.SourceSCIM && q.tenant.SSO.AccountOwner == lanyard.SourceSCIM) {
			updated, err = tx.UpdateUser(q.ctx, id, func(cur *lanyard.User) error {
				f.apply(cur)
				if q.tenant.SSO.AccountOwner == lanyard.SourceSCIM {
					// The owner takes the account over.
					cur.Source = lanyard.SourceSCIM
				}
				cur.Normalize()
				if err := cur.Validate(); err != nil {
					return scimErr(http.StatusBadRequest, "invalidValue", "%s", lanyard.ErrorMessage(err))
				}
				return nil
			})
			if errors.Is(err, lanyard.ErrConflict) {
				return scimErr(http.StatusConflict, "uniqueness", "userName %q is taken in this tenant", f.login)
			}
			if err != nil {
				return err
			}
		} else {
			updated = u
		}
		prof = lanyard.SCIMProfile{UserID: id, ExternalID: f.externalID, Attributes: f.attributes}
		if prof != cur {
			if err := tx.PutSCIMProfile(q.ctx, prof); err != nil {
				return err
			}
		}
		groups = gs
		if len(changed) == 0 && prof == cur {
			return nil
		}
		msg := fmt.Sprintf("SCIM changed user %s: %s", updated.Login, describeChanges(u, updated, changed, cur, prof))
		if u.Status == lanyard.StatusActive && updated.Status != lanyard.StatusActive {
			n, err := tx.DeleteUserSessions(q.ctx, id)
			if err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
			msg += fmt.Sprintf("; deactivated, ended %d session(s)", n)
			action = "scim.user.deactivate"
		}
		return q.audit(q.ctx, tx, action, id, updated.Login, "%s", msg)
	})
	if err != nil {
		return 0, nil, err
	}
	res, version := q.renderUser(updated, prof, groups)
	q.w.Header().Set("ETag", version)
	return http.StatusOK, res, nil
}

func describeChanges(before, after lanyard.User, changed []string, pb, pa lanyard.SCIMProfile) string {
	var parts []string
	get := map[string]func(lanyard.User) string{
		"login": func(u lanyard.User) string { return u.Login }, "email": func(u lanyard.User) string { return u.Email },
		"firstname": func(u lanyard.User) string { return u.FirstName }, "lastname": func(u lanyard.User) string { return u.LastName },
		"status": func(u lanyard.User) string { return string(u.Status) },
	}
	for _, c := range changed {
		parts = append(parts, fmt.Sprintf("%s %q → %q", c, get[c](before), get[c](after)))
	}
	if pb.ExternalID != pa.ExternalID {
		parts = append(parts, fmt.Sprintf("externalId %q → %q", pb.ExternalID, pa.ExternalID))
	}
	if pb.Attributes != pa.Attributes {
		parts = append(parts, "other attributes")
	}
	return strings.Join(parts, ", ")
}

func handleUserDelete(q *request) (int, any, error) {
	id, err := resourceID(q, "User")
	if err != nil {
		return 0, nil, err
	}
	err = q.Store.Atomic(q.ctx, func(tx lanyard.Store) error {
		u, cur, gs, err := q.loadUser(q.ctx, tx, id)
		if err != nil {
			return err
		}
		_, version := q.renderUser(u, cur, gs)
		if err := q.checkIfMatch(version); err != nil {
			return err
		}
		if err := lanyard.CheckSourceWrite(q.tenant.SSO.AccountOwner, lanyard.SourceSCIM, &u, "status"); err != nil {
			return sourceErr(err)
		}
		if q.tenant.SSO.SCIMDelete == lanyard.SCIMDeleteDeletes {
			// The sessions (and their copies on application hosts) go
			// with the account.
			n, err := tx.DeleteUserSessions(q.ctx, id)
			if err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
			if err := tx.DeleteUser(q.ctx, id); err != nil {
				return err
			}
			return q.audit(q.ctx, tx, "scim.user.delete", id, u.Login, "SCIM deleted user %s (tenant policy scim_delete=delete); ended %d session(s)", u.Login, n)
		}
		if _, err := tx.UpdateUser(q.ctx, id, func(cur *lanyard.User) error {
			cur.Status = lanyard.StatusInactive
			return nil
		}); err != nil {
			return err
		}
		n, err := tx.DeleteUserSessions(q.ctx, id)
		if err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		// The client sees the user gone (404), and its groups lose it.
		for _, g := range gs {
			if err := tx.ChangeSCIMGroupMembers(q.ctx, g.ID, nil, []int64{id}); err != nil {
				return err
			}
		}
		if err := q.syncRoles(q.ctx, tx, []int64{id}); err != nil {
			return err
		}
		cur.Deleted = true
		if err := tx.PutSCIMProfile(q.ctx, cur); err != nil {
			return err
		}
		return q.audit(q.ctx, tx, "scim.user.deactivate", id, u.Login, "SCIM DELETE deactivated user %s, kept without its SCIM groups (tenant policy scim_delete=deactivate); ended %d session(s)", u.Login, n)
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// syncRoles grants each user the roles its SCIM groups map to (the
// tenant's group_roles, as for IdP groups), replacing the SCIM grants.
func (q *request) syncRoles(ctx context.Context, tx lanyard.Store, userIDs []int64) error {
	for _, uid := range userIDs {
		groups, err := tx.SCIMGroupsOfUser(ctx, uid)
		if err != nil {
			return err
		}
		var names []string
		for _, g := range groups {
			names = append(names, g.DisplayName)
		}
		roles := login.RolesForGroups(q.tenant.SSO.GroupRoles, names)
		u, err := tx.User(ctx, uid)
		if err != nil {
			return err
		}
		probe := u
		probe.SetRoles(lanyard.RoleSCIM, roles)
		if slices.Equal(probe.Roles, lanyard.NormalizeRoles(u.Roles)) {
			continue
		}
		if _, err := tx.UpdateUser(ctx, uid, func(cur *lanyard.User) error {
			cur.SetRoles(lanyard.RoleSCIM, roles)
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
