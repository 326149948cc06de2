package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiv1"
)

type schemaSample struct {
	Name    string            `json:"name" doc:"the name"`
	Nick    string            `json:"nick,omitempty"`
	Count   int64             `json:"count,omitzero"`
	Ratio   float64           `json:"ratio"`
	When    time.Time         `json:"when"`
	Until   *time.Time        `json:"until"`
	Flag    *bool             `json:"flag,omitempty"`
	Status  apiv1.UserStatus  `json:"status"`
	Roles   []apiv1.Role      `json:"roles"`
	Labels  map[string]string `json:"labels"`
	Site    string            `json:"site" format:"uri"`
	Nested  struct{ A int }   `json:"nested"`
	Skipped string            `json:"-"`
	//lint:ignore U1000 here to show that unexported fields are left out
	internal string
}

func TestSchemaFromGoType(t *testing.T) {
	s := newSchemas()
	ref := s.of(reflect.TypeFor[schemaSample]())
	if ref.Ref != "#/components/schemas/schemaSample" {
		t.Fatalf("a named struct is referred to: %+v", ref)
	}
	got, _ := json.Marshal(s.named["schemaSample"])
	want := `{"type":"object","properties":{` +
		`"count":{"type":"integer"},` +
		`"flag":{"type":["boolean","null"]},` +
		`"labels":{"type":"object","additionalProperties":{"type":"string"}},` +
		`"name":{"type":"string","description":"the name"},` +
		`"nested":{"type":"object","properties":{"A":{"type":"integer"}},"required":["A"]},` +
		`"nick":{"type":"string"},` +
		`"ratio":{"type":"number"},` +
		`"roles":{"type":"array","items":{"$ref":"#/components/schemas/Role"}},` +
		`"site":{"type":"string","format":"uri"},` +
		`"status":{"type":"string","enum":["active","inactive"]},` +
		`"until":{"type":["string","null"],"format":"date-time"},` +
		`"when":{"type":"string","format":"date-time"}},` +
		`"required":["name","ratio","when","until","status","roles","labels","site","nested"]}`
	if string(got) != want {
		t.Errorf("schema\n got %s\nwant %s", got, want)
	}
	if s.named["Role"] == nil {
		t.Error("a struct used by a field is added to the named schemas")
	}
}

func TestSchemaRefusesWhatItCannotDescribe(t *testing.T) {
	type withInterface struct {
		V any `json:"v"`
	}
	type withStructPointer struct {
		P *apiv1.Role `json:"p"`
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[withInterface](), reflect.TypeFor[withStructPointer](), reflect.TypeFor[[]byte]()} {
		t.Run(typ.String(), func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "api: no JSON Schema") {
					t.Errorf("panic %v, want one that names the type", r)
				}
			}()
			newSchemas().of(typ)
		})
	}
}

// TestEnumsMatchTheDomain holds the wire enums to the domain's values, so
// the document lists what the server really answers and accepts.
func TestEnumsMatchTheDomain(t *testing.T) {
	for _, tc := range []struct {
		enum apiv1.Enum
		want []string
	}{
		{apiv1.UserStatus(""), strs(lanyardUserStatuses...)},
		{apiv1.LoginMethod(""), strs(lanyardLoginMethods...)},
		{apiv1.UserSource(""), strs(lanyardUserSources...)},
		{apiv1.RoleSource(""), strs(lanyardRoleSources...)},
		{apiv1.Outcome(""), strs(lanyardOutcomes...)},
		{apiv1.Scope(""), lanyardScopes},
		{apiv1.ErrorKind(""), errorKinds()},
	} {
		if got := tc.enum.Enum(); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%T: %v, want %v", tc.enum, got, tc.want)
		}
	}
}

func strs[S ~string](in ...S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// The domain's values of each enum, in the order of apiv1.
var (
	lanyardUserStatuses = []lanyard.UserStatus{lanyard.StatusActive, lanyard.StatusInactive}
	lanyardLoginMethods = []lanyard.LoginMethod{lanyard.LoginPassword, lanyard.LoginSSO}
	lanyardUserSources  = []lanyard.UserSource{lanyard.SourceLocal, lanyard.SourceIdP, lanyard.SourceLDAP, lanyard.SourceSCIM}
	lanyardRoleSources  = []lanyard.RoleSource{lanyard.RoleManual, lanyard.RoleIdP, lanyard.RoleLDAP, lanyard.RoleSCIM}
	lanyardOutcomes     = []lanyard.Outcome{lanyard.OutcomeSuccess, lanyard.OutcomeFailure}
	lanyardScopes       = lanyard.APIScopes
)

// errorKinds are the wire names of every error kind, from KindInternal up
// to the first kind without a name of its own.
func errorKinds() []string {
	var out []string
	for k := lanyard.KindInternal; ; k++ {
		name := string(errorKind(k))
		if k != lanyard.KindInternal && name == string(apiv1.KindInternal) {
			return out
		}
		out = append(out, name)
	}
}
