package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// clientRun is a provisioning sequence of one identity provider, replayed
// request by request (testdata/scim/*.json).
type clientRun struct {
	About      string              `json:"about"`
	GroupRoles map[string][]string `json:"group_roles"`
	SCIMDelete string              `json:"scim_delete"`
	Steps      []struct {
		Name        string            `json:"name"`
		Method      string            `json:"method"`
		Path        string            `json:"path"`
		Body        json.RawMessage   `json:"body"`
		Status      int               `json:"status"`
		Save        map[string]string `json:"save"`
		Expect      map[string]string `json:"expect"`
		Account     map[string]string `json:"account"`
		SessionsEnd string            `json:"sessions_end"`
		Roles       *struct {
			User string   `json:"user"`
			Want []string `json:"want"`
		} `json:"roles"`
	} `json:"steps"`
}

// at reads the value at a slash-separated path of a JSON document
// (indices for lists); "" when absent.
func at(doc any, path string) string {
	v := doc
	for _, p := range strings.Split(path, "/") {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(x) {
				return ""
			}
			v = x[i]
		default:
			return ""
		}
	}
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func TestSCIMClientRuns(t *testing.T) {
	for _, file := range []string{"okta_run.json", "entra_cycle.json"} {
		t.Run(strings.TrimSuffix(file, ".json"), func(t *testing.T) {
			data, err := os.ReadFile("testdata/scim/" + file)
			if err != nil {
				t.Fatal(err)
			}
			var run clientRun
			if err := json.Unmarshal(data, &run); err != nil {
				t.Fatal(err)
			}
			eachEngine(t, func(t *testing.T, opts envOptions) {
				s := newSCIMEnv(t, opts)
				s.replay(t, run)
			})
		})
	}
}

func (s *scimEnv) replay(t *testing.T, run clientRun) {
	ctx := context.Background()
	if _, err := s.store.UpdateTenant(ctx, s.tenant.ID, func(t *lanyard.Tenant) error {
		t.SSO.GroupRoles, t.SSO.SCIMDelete = run.GroupRoles, run.SCIMDelete
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	expand := func(s string) string {
		for k, v := range vars {
			s = strings.ReplaceAll(s, "${"+k+"}", v)
		}
		return s
	}
	userOf := func(ref string) int64 {
		id, err := strconv.ParseInt(expand(ref), 10, 64)
		if err != nil {
			t.Fatalf("user reference %q: %v", ref, err)
		}
		return id
	}
	for i, st := range run.Steps {
		var body any
		if len(st.Body) > 0 {
			body = expand(string(st.Body))
		}
		var held [][]byte
		if st.SessionsEnd != "" {
			held = s.holdSessions(t, userOf(st.SessionsEnd), fmt.Sprint("step", i))
		}
		a := s.call(st.Method, expand(st.Path), body)
		if a.status != st.Status {
			t.Fatalf("step %d (%s): %s %s: status %d, want %d: %s", i+1, st.Name, st.Method, expand(st.Path), a.status, st.Status, a.raw)
		}
		for k, path := range st.Save {
			vars[k] = at(a.doc, path)
		}
		for path, want := range st.Expect {
			if got := at(a.doc, path); got != expand(want) {
				t.Errorf("step %d (%s): %s = %q, want %q\n%s", i+1, st.Name, path, got, expand(want), a.raw)
			}
		}
		for field, want := range st.Account {
			u, err := s.store.User(ctx, userOf(vars[firstVar(st.Path)]))
			if err != nil {
				t.Fatalf("step %d: %v", i+1, err)
			}
			got := map[string]string{"email": u.Email, "firstname": u.FirstName, "lastname": u.LastName, "status": string(u.Status), "source": string(u.Source)}[field]
			if got != want {
				t.Errorf("step %d (%s): account %s = %q, want %q", i+1, st.Name, field, got, want)
			}
		}
		if st.Roles != nil {
			u, err := s.store.User(ctx, userOf(st.Roles.User))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, g := range u.Roles {
				if g.Source == lanyard.RoleSCIM {
					got = append(got, g.Role)
				}
			}
			if !slices.Equal(got, st.Roles.Want) && !(len(got) == 0 && len(st.Roles.Want) == 0) {
				t.Errorf("step %d (%s): SCIM roles %v, want %v", i+1, st.Name, got, st.Roles.Want)
			}
		}
		for _, h := range held {
			if _, err := s.store.Session(ctx, h, s.clock.Now()); err == nil {
				t.Errorf("step %d (%s): a session (or its copy on an application host) survived", i+1, st.Name)
			}
		}
	}
	// Every change is in the audit trail under the token's name.
	evs, err := s.store.AuditEvents(ctx, lanyard.AuditFilter{TenantID: s.tenant.ID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if strings.HasPrefix(e.Action, "scim.") {
			n++
			if e.Actor != "scim:okta" || e.Detail["token"] != "okta" {
				t.Errorf("audit event %s by %q (%v)", e.Action, e.Actor, e.Detail)
			}
		}
	}
	if n == 0 {
		t.Error("no SCIM change in the audit trail")
	}
}

// firstVar names the variable in the path "/Users/${x}".
func firstVar(path string) string {
	_, rest, _ := strings.Cut(path, "${")
	name, _, _ := strings.Cut(rest, "}")
	return name
}

// holdSessions gives the user a live session and a copy of it on an
// application host, and returns their hashes.
func (s *scimEnv) holdSessions(t *testing.T, userID int64, tag string) [][]byte {
	t.Helper()
	ctx := context.Background()
	now := s.clock.Now()
	sess := lanyard.Session{Hash: lanyard.HashSessionID("sess-" + tag), TenantID: s.tenant.ID, UserID: userID, Kind: lanyard.SessionSSO,
		CreatedAt: now, LastSeenAt: now, IdleExpiresAt: now.Add(time.Hour), AbsExpiresAt: now.Add(time.Hour)}
	if err := s.store.CreateSession(ctx, &sess); err != nil {
		t.Fatal(err)
	}
	cp := sess
	cp.Hash, cp.ParentHash, cp.Origin = lanyard.HashSessionID("copy-"+tag), sess.Hash, "https://app.example.com"
	if err := s.store.CreateSession(ctx, &cp); err != nil {
		t.Fatal(err)
	}
	return [][]byte{sess.Hash, cp.Hash}
}

// TestSCIMGroups: groups over real HTTP on each engine: members, roles,
// uniqueness, versioning, errors.
func TestSCIMGroups(t *testing.T) {
	eachEngine(t, func(t *testing.T, opts envOptions) {
		s := newSCIMEnv(t, opts)
		ctx := context.Background()
		if _, err := s.store.UpdateTenant(ctx, s.tenant.ID, func(t *lanyard.Tenant) error {
			t.SSO.GroupRoles = map[string][]string{"Admins": {"lanyard:operator", "admin"}, "Staff": {"staff"}}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		a := s.call("POST", "/Users", scimUser("ann", "Ann", "A", "ann@example.com")).must(t, http.StatusCreated).str("id")
		b := s.call("POST", "/Users", scimUser("ben", "Ben", "B", "ben@example.com")).must(t, http.StatusCreated).str("id")
		g := s.call("POST", "/Groups", map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "displayName": "Admins",
			"members": []any{map[string]any{"value": a}}}).must(t, http.StatusCreated)
		gid := g.str("id")
		roles := func(id string) []string {
			n, _ := strconv.ParseInt(id, 10, 64)
			u, err := s.store.User(ctx, n)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, r := range u.Roles {
				if r.Source == lanyard.RoleSCIM {
					out = append(out, r.Role)
				}
			}
			return out
		}
		// A group grants no more than an IdP group could: never operator.
		if got := roles(a); !slices.Equal(got, []string{"admin"}) {
			t.Fatalf("roles of a member: %v", got)
		}
		s.call("POST", "/Groups", map[string]any{"displayName": "admins"}).mustError(t, http.StatusConflict, "uniqueness")
		s.call("POST", "/Groups", map[string]any{"displayName": ""}).mustError(t, http.StatusBadRequest, "invalidValue")
		s.call("POST", "/Groups", map[string]any{"displayName": "X", "members": []any{map[string]any{"value": "99999"}}}).mustError(t, http.StatusBadRequest, "invalidValue")
		s.call("POST", "/Groups", "{not json").mustError(t, http.StatusBadRequest, "invalidSyntax")
		// PUT replaces the members.
		etag := g.header.Get("ETag")
		put := s.call("PUT", "/Groups/"+gid, map[string]any{"displayName": "Admins", "members": []any{map[string]any{"value": b}}}, "If-Match", etag).must(t, http.StatusOK)
		if got := roles(a); len(got) != 0 {
			t.Fatalf("a former member keeps %v", got)
		}
		if got := roles(b); !slices.Equal(got, []string{"admin"}) {
			t.Fatalf("new member: %v", got)
		}
		s.call("PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": a}}}), "If-Match", etag).mustError(t, http.StatusPreconditionFailed, "")
		s.call("PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": a}}}), "If-Match", put.header.Get("ETag")).must(t, http.StatusOK)
		// Malformed PATCH messages.
		for _, c := range []struct {
			body     any
			scimType string
		}{
			{map[string]any{"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{}}}}, "invalidSyntax"},
			{patchOp(map[string]any{"op": "move", "path": "members"}), "invalidSyntax"},
			{patchOp(map[string]any{"op": "remove"}), "noTarget"},
			{patchOp(map[string]any{"op": "add", "value": "x"}), "invalidValue"},
			{patchOp(map[string]any{"op": "remove", "path": "members[value eq"}), "invalidPath"},
			{patchOp(map[string]any{"op": "replace", "path": "displayName[value eq \"x\"]", "value": "y"}), "invalidPath"},
			{patchOp(map[string]any{"op": "replace", "path": "members", "value": []any{map[string]any{"value": "abc"}}}), "invalidValue"},
		} {
			s.call("PATCH", "/Groups/"+gid, c.body).mustError(t, http.StatusBadRequest, c.scimType)
		}
		// The user of another tenant cannot be made a member.
		other := lanyard.Tenant{Slug: "other"}
		if err := s.store.CreateTenant(ctx, &other); err != nil {
			t.Fatal(err)
		}
		stranger := s.addUserIn(other, "stranger", "")
		s.call("PATCH", "/Groups/"+gid, patchOp(map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": fmt.Sprint(stranger.ID)}}})).mustError(t, http.StatusBadRequest, "invalidValue")
		// And another tenant's user is not found here.
		s.call("GET", fmt.Sprintf("/Users/%d", stranger.ID), nil).mustError(t, http.StatusNotFound, "")
		// Filter by member, list, delete.
		l := s.call("GET", "/Groups?filter="+strings.ReplaceAll(fmt.Sprintf(`members[value eq "%s"]`, a), " ", "%20"), nil).must(t, http.StatusOK)
		if l.str("totalResults") != "1" {
			t.Fatalf("groups of a member: %s", l.raw)
		}
		s.call("DELETE", "/Groups/"+gid, nil).must(t, http.StatusNoContent)
		if len(roles(a))+len(roles(b)) != 0 {
			t.Fatal("roles outlive the group")
		}
		s.call("GET", "/Groups/"+gid, nil).mustError(t, http.StatusNotFound, "")
	})
}

// TestSCIMOwnership: SCIM writes that another source owns are refused with
// a clear error (409 mutability), and change nothing.
func TestSCIMOwnership(t *testing.T) {
	s := newSCIMEnv(t, envOptions{})
	ctx := context.Background()
	setOwner := func(owner lanyard.UserSource) {
		t.Helper()
		if _, err := s.store.UpdateTenant(ctx, s.tenant.ID, func(t *lanyard.Tenant) error { t.SSO.AccountOwner = owner; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	lou := s.addUser("lou", "")
	lee := s.addUser("lee", "")
	s.updateUser(lee.ID, func(u *lanyard.User) { u.Source = lanyard.SourceLDAP; u.Email = "lee@ldap.example" })

	// LDAP owns the tenant's accounts: SCIM creates none.
	setOwner(lanyard.SourceLDAP)
	a := s.call("POST", "/Users", scimUser("newbie", "N", "B", "n@example.com")).mustError(t, http.StatusConflict, "mutability")
	if !strings.Contains(a.str("detail"), "LDAP synchronisation") {
		t.Fatalf("refusal does not name the owner: %s", a.raw)
	}
	// No owner named: SCIM does not take over a local account...
	setOwner("")
	s.call("PUT", fmt.Sprintf("/Users/%d", lou.ID), scimUser("lou", "Lou", "Local", "lou@example.com")).mustError(t, http.StatusConflict, "mutability")
	if u, _ := s.store.User(ctx, lou.ID); u.Email != "" || u.Source != lanyard.SourceLocal {
		t.Fatalf("refused write changed the account: %+v", u)
	}
	// ...and never changes an LDAP account's fields, owner or not.
	for _, owner := range []lanyard.UserSource{"", lanyard.SourceSCIM} {
		setOwner(owner)
		s.call("PATCH", fmt.Sprintf("/Users/%d", lee.ID), patchOp(map[string]any{"op": "replace", "path": "active", "value": false})).mustError(t, http.StatusConflict, "mutability")
		s.call("DELETE", fmt.Sprintf("/Users/%d", lee.ID), nil).mustError(t, http.StatusConflict, "mutability")
	}
	if u, _ := s.store.User(ctx, lee.ID); u.Status != lanyard.StatusActive || u.Email != "lee@ldap.example" {
		t.Fatalf("LDAP account changed: %+v", u)
	}
	// SCIM named owner: it takes the local account over.
	setOwner(lanyard.SourceSCIM)
	s.call("PUT", fmt.Sprintf("/Users/%d", lou.ID), scimUser("lou", "Lou", "Local", "lou@example.com")).must(t, http.StatusOK)
	if u, _ := s.store.User(ctx, lou.ID); u.Email != "lou@example.com" || u.Source != lanyard.SourceSCIM {
		t.Fatalf("takeover: %+v", u)
	}
	// Never an administrator's account, though: the break-glass login
	// stays the administration's.
	root := s.addUser("root", "", lanyard.RoleOperator)
	s.call("PATCH", fmt.Sprintf("/Users/%d", root.ID), patchOp(map[string]any{"op": "replace", "path": "active", "value": false})).mustError(t, http.StatusConflict, "mutability")
	s.call("DELETE", fmt.Sprintf("/Users/%d", root.ID), nil).mustError(t, http.StatusConflict, "mutability")
	if u, _ := s.store.User(ctx, root.ID); u.Status != lanyard.StatusActive || u.Source != lanyard.SourceLocal {
		t.Fatalf("administrator changed by SCIM: %+v", u)
	}
}

// TestSCIMTokenFromAdminUI: an administrator creates a SCIM token on the
// API tokens page; the page shows it once, and it opens the SCIM service
// of its tenant.
func TestSCIMTokenFromAdminUI(t *testing.T) {
	s := newSCIMEnv(t, envOptions{})
	s.addUser("root", "correct horse battery", lanyard.RoleOperator)
	c := s.client()
	s.mustLogin(c, "root", "correct horse battery")
	page := s.get(c, "/admin/tokens")
	if !strings.Contains(page.body, `value="scim"`) {
		t.Fatal("the tokens page offers no scim scope")
	}
	r := s.post(c, "/admin/tokens", url.Values{csrfField: {s.csrfToken(page)}, "name": {"entra-ui"}, "scopes": {"scim"}, "expires_days": {"30"}, "tenant": {"default"}})
	m := regexp.MustCompile(`lyd_[A-Za-z0-9_-]{20,}`).FindString(r.body)
	if r.StatusCode != http.StatusOK || m == "" {
		t.Fatalf("token create: %d\n%s", r.StatusCode, r.body)
	}
	s.callWith(m, "GET", "/Users", nil).must(t, http.StatusOK)
	// Mixed with another scope, or global, it is refused with the reason.
	r = s.post(c, "/admin/tokens", url.Values{csrfField: {s.csrfToken(page)}, "name": {"mixed"}, "scopes": {"scim", "read"}, "tenant": {"default"}})
	if !strings.Contains(r.body, "holds no other scope") {
		t.Fatalf("mixed scopes: %d\n%s", r.StatusCode, r.body)
	}
}
