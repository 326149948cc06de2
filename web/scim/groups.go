package scim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
)

var groupPatcher = &patcher{core: SchemaGroup, multi: []string{"members"}}

// groupFields is what a Group document says.
type groupFields struct {
	displayName string
	externalID  string
	members     []int64 // sorted, distinct
}

func groupFromDoc(doc map[string]any) (groupFields, error) {
	var f groupFields
	name, ok := doc[mustKey(doc, "displayName")].(string)
	if !ok || strings.TrimSpace(name) == "" {
		return f, scimErr(http.StatusBadRequest, "invalidValue", "displayName is required: a non-empty string")
	}
	f.displayName = strings.TrimSpace(name)
	if v, present := doc[mustKey(doc, "externalId")]; present && v != nil {
		s, ok := v.(string)
		if !ok {
			return f, scimErr(http.StatusBadRequest, "invalidValue", "externalId must be a string")
		}
		f.externalID = s
	}
	if v, present := doc[mustKey(doc, "members")]; present && v != nil {
		list, ok := v.([]any)
		if !ok {
			return f, scimErr(http.StatusBadRequest, "invalidValue", "members must be a list of {value}")
		}
		for _, m := range list {
			var raw string
			switch x := m.(type) {
			case map[string]any:
				raw = fmt.Sprint(x[mustKey(x, "value")])
			default:
				raw = fmt.Sprint(x)
			}
			id, err := strconv.ParseInt(strings.TrimSpace(raw), 10, 64)
			if err != nil || id <= 0 {
				return f, scimErr(http.StatusBadRequest, "invalidValue", "member %q is not the id of a User of this tenant", raw)
			}
			f.members = append(f.members, id)
		}
	}
	slices.Sort(f.members)
	f.members = slices.Compact(f.members)
	return f, nil
}

func (q *request) renderGroup(g lanyard.SCIMGroup, withMembers bool) (map[string]any, string) {
	id := strconv.FormatInt(g.ID, 10)
	res := map[string]any{"schemas": []string{SchemaGroup}, "id": id, "displayName": g.DisplayName}
	if g.ExternalID != "" {
		res["externalId"] = g.ExternalID
	}
	members := make([]any, 0, len(g.Members))
	for _, m := range g.Members {
		mid := strconv.FormatInt(m, 10)
		members = append(members, map[string]any{"value": mid, "$ref": q.base + "/Users/" + mid, "type": "User"})
	}
	res["members"] = members
	meta := map[string]any{"resourceType": "Group", "created": g.CreatedAt.UTC().Format(time.RFC3339), "lastModified": g.UpdatedAt.UTC().Format(time.RFC3339)}
	res["meta"] = meta
	version := etag(res)
	meta["version"] = version
	meta["location"] = q.base + "/Groups/" + id
	if !withMembers {
		delete(res, "members")
	}
	return res, version
}

func (q *request) loadGroup(ctx context.Context, st lanyard.Store, id int64) (lanyard.SCIMGroup, error) {
	g, err := st.SCIMGroup(ctx, q.tenant.ID, id)
	if errors.Is(err, lanyard.ErrNotFound) {
		return g, scimErr(http.StatusNotFound, "", "Group %d not found", id)
	}
	return g, err
}

func handleGroupGet(q *request) (int, any, error) {
	id, err := resourceID(q, "Group")
	if err != nil {
		return 0, nil, err
	}
	g, err := q.loadGroup(q.ctx, q.Store, id)
	if err != nil {
		return 0, nil, err
	}
	params := queryParams(q.r)
	res, version := q.renderGroup(g, !excluded(params, "members"))
	q.w.Header().Set("ETag", version)
	if q.notModified(version) {
		return http.StatusNotModified, nil, nil
	}
	return http.StatusOK, projection(res, params), nil
}

func handleGroupList(q *request) (int, any, error) { return q.listGroups(queryParams(q.r)) }

func handleGroupSearch(q *request) (int, any, error) { return q.search(q.listGroups) }

func (q *request) listGroups(params map[string]string) (int, any, error) {
	cond, p, start, err := listSpec(params, "Group")
	if err != nil {
		return 0, nil, err
	}
	groups, total, err := q.Store.SCIMGroups(q.ctx, q.tenant.ID, cond, p)
	if err != nil {
		return 0, nil, listErr(err)
	}
	withMembers := !excluded(params, "members")
	var out []any
	for _, g := range groups {
		res, _ := q.renderGroup(g, withMembers)
		out = append(out, projection(res, params))
	}
	return http.StatusOK, listResponse(total, start, out), nil
}

// memberErr turns a member outside the tenant into a SCIM error.
func memberErr(err error) error {
	if errors.Is(err, lanyard.ErrNotFound) {
		return scimErr(http.StatusBadRequest, "invalidValue", "%s", lanyard.ErrorMessage(err))
	}
	if errors.Is(err, lanyard.ErrConflict) {
		return scimErr(http.StatusConflict, "uniqueness", "%s", lanyard.ErrorMessage(err))
	}
	return err
}

func handleGroupCreate(q *request) (int, any, error) {
	doc, err := q.readBody()
	if err != nil {
		return 0, nil, err
	}
	f, err := groupFromDoc(doc)
	if err != nil {
		return 0, nil, err
	}
	g := lanyard.SCIMGroup{TenantID: q.tenant.ID, DisplayName: f.displayName, ExternalID: f.externalID, Members: f.members}
	if err := g.Validate(); err != nil {
		return 0, nil, scimErr(http.StatusBadRequest, "invalidValue", "%s", lanyard.ErrorMessage(err))
	}
	err = q.Store.Atomic(q.ctx, func(tx lanyard.Store) error {
		if err := tx.CreateSCIMGroup(q.ctx, &g); err != nil {
			return memberErr(err)
		}
		if err := q.syncRoles(q.ctx, tx, g.Members); err != nil {
			return err
		}
		return q.audit(q.ctx, tx, "scim.group.create", 0, g.DisplayName, "SCIM created group %s (id %d, %d member(s))", g.DisplayName, g.ID, len(g.Members))
	})
	if err != nil {
		return 0, nil, err
	}
	res, version := q.renderGroup(g, true)
	q.w.Header().Set("ETag", version)
	q.w.Header().Set("Location", res["meta"].(map[string]any)["location"].(string))
	return http.StatusCreated, res, nil
}

func handleGroupReplace(q *request) (int, any, error) {
	doc, err := q.readBody()
	if err != nil {
		return 0, nil, err
	}
	return q.updateGroup("scim.group.replace", func(map[string]any) (map[string]any, error) { return doc, nil })
}

func handleGroupPatch(q *request) (int, any, error) {
	doc, err := q.readBody()
	if err != nil {
		return 0, nil, err
	}
	ops, err := parsePatch(doc)
	if err != nil {
		return 0, nil, err
	}
	return q.updateGroup("scim.group.patch", func(current map[string]any) (map[string]any, error) {
		delete(current, "meta")
		return current, groupPatcher.apply(current, ops)
	})
}

// updateGroup writes the document next makes of the group, and gives the
// members who joined or left the roles of their groups.
func (q *request) updateGroup(action string, next func(map[string]any) (map[string]any, error)) (int, any, error) {
	id, err := resourceID(q, "Group")
	if err != nil {
		return 0, nil, err
	}
	var updated lanyard.SCIMGroup
	err = q.Store.Atomic(q.ctx, func(tx lanyard.Store) error {
		g, err := q.loadGroup(q.ctx, tx, id)
		if err != nil {
			return err
		}
		res, version := q.renderGroup(g, true)
		if err := q.checkIfMatch(version); err != nil {
			return err
		}
		doc, err := next(res)
		if err != nil {
			return err
		}
		f, err := groupFromDoc(doc)
		if err != nil {
			return err
		}
		var changes []string
		renamed := f.displayName != g.DisplayName
		if renamed || f.externalID != g.ExternalID {
			if renamed {
				changes = append(changes, fmt.Sprintf("displayName %q → %q", g.DisplayName, f.displayName))
			}
			if f.externalID != g.ExternalID {
				changes = append(changes, fmt.Sprintf("externalId %q → %q", g.ExternalID, f.externalID))
			}
			next := g
			next.DisplayName, next.ExternalID = f.displayName, f.externalID
			if err := next.Validate(); err != nil {
				return scimErr(http.StatusBadRequest, "invalidValue", "%s", lanyard.ErrorMessage(err))
			}
			if err := tx.UpdateSCIMGroup(q.ctx, &next); err != nil {
				return memberErr(err)
			}
		}
		var add, remove []int64
		for _, m := range f.members {
			if _, found := slices.BinarySearch(g.Members, m); !found {
				add = append(add, m)
			}
		}
		for _, m := range g.Members {
			if _, found := slices.BinarySearch(f.members, m); !found {
				remove = append(remove, m)
			}
		}
		if len(add)+len(remove) > 0 {
			if err := tx.ChangeSCIMGroupMembers(q.ctx, id, add, remove); err != nil {
				return memberErr(err)
			}
			changes = append(changes, fmt.Sprintf("%d member(s) added, %d removed", len(add), len(remove)))
		}
		affected := append(add, remove...)
		if renamed {
			affected = f.members
			affected = append(affected, remove...)
		}
		if err := q.syncRoles(q.ctx, tx, affected); err != nil {
			return err
		}
		if updated, err = tx.SCIMGroup(q.ctx, q.tenant.ID, id); err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		return q.audit(q.ctx, tx, action, 0, updated.DisplayName, "SCIM changed group %s (id %d): %s", updated.DisplayName, id, strings.Join(changes, "; "))
	})
	if err != nil {
		return 0, nil, err
	}
	// A PATCH may answer 204; the full group is more useful to clients.
	res, version := q.renderGroup(updated, !excluded(queryParams(q.r), "members"))
	q.w.Header().Set("ETag", version)
	return http.StatusOK, res, nil
}

func handleGroupDelete(q *request) (int, any, error) {
	id, err := resourceID(q, "Group")
	if err != nil {
		return 0, nil, err
	}
	err = q.Store.Atomic(q.ctx, func(tx lanyard.Store) error {
		g, err := q.loadGroup(q.ctx, tx, id)
		if err != nil {
			return err
		}
		_, version := q.renderGroup(g, true)
		if err := q.checkIfMatch(version); err != nil {
			return err
		}
		if err := tx.DeleteSCIMGroup(q.ctx, q.tenant.ID, id); err != nil {
			return err
		}
		if err := q.syncRoles(q.ctx, tx, g.Members); err != nil {
			return err
		}
		return q.audit(q.ctx, tx, "scim.group.delete", 0, g.DisplayName, "SCIM deleted group %s (id %d, %d member(s))", g.DisplayName, id, len(g.Members))
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
