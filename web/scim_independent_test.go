package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

// TestSCIMPatchAgainstIndependentImplementation applies PATCH requests
// (RFC 7644 section 3.5.2, in the spec's own spellings) through Lanyard and
// through an independent implementation, the npm package scim-patch, to the
// same user, and compares the attributes that result. It runs when
// LANYARD_SCIM_NPM_DIR names a directory where scim-patch is installed:
//
//	mkdir /tmp/scimnpm && cd /tmp/scimnpm && npm install scim-patch@0.8.3
//	LANYARD_SCIM_NPM_DIR=/tmp/scimnpm go test ./web/ -run Independent -v
func TestSCIMPatchAgainstIndependentImplementation(t *testing.T) {
	dir := os.Getenv("LANYARD_SCIM_NPM_DIR")
	if dir == "" {
		t.Skip("LANYARD_SCIM_NPM_DIR not set (a directory with the npm package scim-patch)")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "scim-patch")); err != nil {
		t.Skipf("scim-patch is not installed in %s", dir)
	}
	s := newSCIMEnv(t, envOptions{})
	const ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	// Left out, where the two differ on purpose: adding the enterprise
	// extension to a user whose schemas do not list it yet (Lanyard adds
	// it and lists the schema; scim-patch leaves the user unchanged), and
	// a bare schema URN as path (no attrPath in RFC 7644; Lanyard takes it
	// as the extension's object).
	cases := []struct {
		name string
		ops  []map[string]any
	}{
		{"replace a sub-attribute", []map[string]any{{"op": "replace", "path": "name.familyName", "value": "Byron"}}},
		{"replace a filtered email", []map[string]any{{"op": "replace", "path": `emails[type eq "work"].value`, "value": "new@example.com"}}},
		{"replace without a path", []map[string]any{{"op": "replace", "value": map[string]any{"active": false, "title": "Countess"}}}},
		{"add to the extension", []map[string]any{{"op": "add", "path": ent + ":department", "value": "Analytics"}}},
		{"add phone numbers, remove one by filter", []map[string]any{
			{"op": "add", "path": "phoneNumbers", "value": []any{map[string]any{"value": "555-1", "type": "work"}, map[string]any{"value": "555-2", "type": "mobile"}}},
			{"op": "remove", "path": `phoneNumbers[type eq "work"]`}}},
		{"remove an attribute", []map[string]any{{"op": "add", "path": "title", "value": "x"}, {"op": "remove", "path": "title"}}},
		{"replace a complex attribute", []map[string]any{{"op": "replace", "path": "name", "value": map[string]any{"givenName": "Augusta"}}}},
	}
	compared := func(doc map[string]any) map[string]any {
		out := map[string]any{}
		for _, k := range []string{"name", "active", "emails", "phoneNumbers", "title", ent, "userName"} {
			if v, ok := doc[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			user := scimUser(fmt.Sprintf("ada%d@example.com", i), "Ada", "Lovelace", fmt.Sprintf("ada%d@example.com", i))
			created := s.call("POST", "/Users", user).must(t, http.StatusCreated)
			ours := s.call("PATCH", "/Users/"+created.str("id"), patchOp(c.ops...)).must(t, http.StatusOK)

			input, _ := json.Marshal(map[string]any{"resource": created.doc, "ops": c.ops})
			script := `const { scimPatch } = require("scim-patch");
let input = ""; process.stdin.on("data", d => input += d); process.stdin.on("end", () => {
  const { resource, ops } = JSON.parse(input);
  process.stdout.write(JSON.stringify(scimPatch(resource, ops)));
});`
			cmd := exec.Command("node", "-e", script)
			cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"))
			cmd.Stdin = bytes.NewReader(input)
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("scim-patch: %v", err)
			}
			var theirs map[string]any
			if err := json.Unmarshal(out, &theirs); err != nil {
				t.Fatal(err)
			}
			a, b := compared(ours.doc), compared(theirs)
			if !reflect.DeepEqual(a, b) {
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				t.Fatalf("Lanyard:    %s\nscim-patch: %s", ja, jb)
			}
		})
	}
}
