package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// recordingMux records the patterns registered.
type recordingMux struct{ patterns []string }

func (m *recordingMux) Handle(pattern string, _ http.Handler) {
	m.patterns = append(m.patterns, pattern)
}

// fetchDocument gets the OpenAPI document from a server of Routes.
func fetchDocument(t *testing.T) (map[string]any, []byte) {
	t.Helper()
	s := serve(t, Deps{})
	resp, err := http.Get(s.URL + "/api/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET openapi.json: status %d\n%s", resp.StatusCode, raw)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("the document is not JSON: %v", err)
	}
	return doc, raw
}

// TestEveryRouteIsDocumented walks every /api/v1/ route that Routes
// registers and fails when one lacks its entry in the document; and every
// entry of the document must be answered by its own route.
func TestEveryRouteIsDocumented(t *testing.T) {
	rec := &recordingMux{}
	register(rec, Deps{})
	doc, _ := fetchDocument(t)
	paths := doc["paths"].(map[string]any)

	served := 0
	for _, p := range rec.patterns {
		method, path, ok := strings.Cut(p, " ")
		if !ok || !strings.HasPrefix(path, "/api/v1/") || p == openAPIPattern {
			continue
		}
		served++
		item, _ := paths[path].(map[string]any)
		if item[strings.ToLower(method)] == nil {
			t.Errorf("%s is served but not in the OpenAPI document", p)
		}
	}
	if served < 20 {
		t.Fatalf("found %d API routes registered", served)
	}

	mux := http.NewServeMux()
	Routes(mux, Deps{})
	documented := 0
	for path, item := range paths {
		for method := range item.(map[string]any) {
			documented++
			want := strings.ToUpper(method) + " " + path
			concrete := pathParamPattern.ReplaceAllString(path, "x")
			if _, got := mux.Handler(httptest.NewRequest(strings.ToUpper(method), concrete, nil)); got != want {
				t.Errorf("%s is documented but answered by the route %q", want, got)
			}
		}
	}
	if documented != served {
		t.Errorf("the document has %d operations, the mux serves %d", documented, served)
	}
}

// TestOpenAPIDocumentIsValid checks the served document against the rules
// of OpenAPI 3.1 it could break: every $ref resolves, every path template
// parameter is declared (and no other), operationIds are unique, every
// operation has a success answer, the security requirements name a
// declared scheme, and the schemas' required properties exist.
func TestOpenAPIDocumentIsValid(t *testing.T) {
	doc, raw := fetchDocument(t)
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi: %v, want 3.1.0", doc["openapi"])
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] == "" || info["version"] == "" {
		t.Errorf("info needs a title and a version: %v", info)
	}

	// Every $ref is a JSON pointer (RFC 6901) into the document.
	refs := regexp.MustCompile(`"\$ref":\s*"([^"]*)"`).FindAllSubmatch(raw, -1)
	if len(refs) == 0 {
		t.Fatal("no $ref in the document")
	}
	for _, m := range refs {
		if _, ok := resolvePointer(doc, string(m[1])); !ok {
			t.Errorf("$ref %s does not resolve", m[1])
		}
	}

	components := doc["components"].(map[string]any)
	schemes := components["securitySchemes"].(map[string]any)
	ids := map[string]string{}
	for path, item := range doc["paths"].(map[string]any) {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q does not start with /", path)
		}
		var template []string
		for _, m := range regexp.MustCompile(`\{([^}]*)\}`).FindAllStringSubmatch(path, -1) {
			template = append(template, m[1])
		}
		for method, v := range item.(map[string]any) {
			if !slices.Contains([]string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}, method) {
				t.Errorf("%s: %q is not an HTTP method of a path item", path, method)
			}
			op := v.(map[string]any)
			where := strings.ToUpper(method) + " " + path
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s: no operationId", where)
			} else if prev, dup := ids[id]; dup {
				t.Errorf("operationId %s used by %s and %s", id, prev, where)
			}
			ids[id] = where

			var inPath []string
			seen := map[string]bool{}
			params, _ := op["parameters"].([]any)
			for _, pv := range params {
				p := pv.(map[string]any)
				name, in := p["name"].(string), p["in"].(string)
				if seen[in+" "+name] {
					t.Errorf("%s: parameter %s in %s declared twice", where, name, in)
				}
				seen[in+" "+name] = true
				if p["schema"] == nil {
					t.Errorf("%s: parameter %s has no schema", where, name)
				}
				switch in {
				case "path":
					inPath = append(inPath, name)
					if p["required"] != true {
						t.Errorf("%s: path parameter %s must be required", where, name)
					}
				case "query", "header", "cookie":
				default:
					t.Errorf("%s: parameter %s in %q", where, name, in)
				}
			}
			slices.Sort(inPath)
			want := slices.Sorted(slices.Values(template))
			if !slices.Equal(inPath, want) {
				t.Errorf("%s: path parameters declared %v, the template has %v", where, inPath, want)
			}

			responses, _ := op["responses"].(map[string]any)
			success := false
			for status, rv := range responses {
				n, err := strconv.Atoi(status)
				if err != nil || n < 100 || n > 599 {
					t.Errorf("%s: response status %q", where, status)
				}
				success = success || n/100 == 2
				if d, _ := rv.(map[string]any)["description"].(string); d == "" {
					t.Errorf("%s: response %s has no description", where, status)
				}
			}
			if !success {
				t.Errorf("%s: no success response", where)
			}

			security, _ := op["security"].([]any)
			if len(security) == 0 {
				t.Errorf("%s: no security requirement", where)
			}
			for _, req := range security {
				for scheme := range req.(map[string]any) {
					if schemes[scheme] == nil {
						t.Errorf("%s: security scheme %s is not declared", where, scheme)
					}
				}
			}
		}
	}
	if len(ids) != len(operations) {
		t.Errorf("the document has %d operations, the table %d", len(ids), len(operations))
	}

	for name, s := range components["schemas"].(map[string]any) {
		checkSchema(t, "#/components/schemas/"+name, s)
	}
}

// resolvePointer follows a "#/..." JSON pointer in doc.
func resolvePointer(doc any, ref string) (any, bool) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	cur := doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

var jsonSchemaTypes = []string{"null", "boolean", "object", "array", "number", "string", "integer"}

// checkSchema checks a JSON Schema and the schemas within it: known types,
// required properties that exist, arrays with items.
func checkSchema(t *testing.T, where string, v any) {
	t.Helper()
	s, ok := v.(map[string]any)
	if !ok {
		t.Errorf("%s: a schema must be an object", where)
		return
	}
	var types []any
	switch ty := s["type"].(type) {
	case string:
		types = []any{ty}
	case []any:
		types = ty
	case nil:
		if s["$ref"] == nil {
			t.Errorf("%s: neither type nor $ref", where)
		}
	}
	for _, ty := range types {
		if name, _ := ty.(string); !slices.Contains(jsonSchemaTypes, name) {
			t.Errorf("%s: type %v", where, ty)
		}
	}
	props, _ := s["properties"].(map[string]any)
	required, _ := s["required"].([]any)
	for _, r := range required {
		if props[r.(string)] == nil {
			t.Errorf("%s: required property %v is not a property", where, r)
		}
	}
	for name, p := range props {
		checkSchema(t, where+"/properties/"+name, p)
	}
	if slices.Contains(types, any("array")) {
		if s["items"] == nil {
			t.Errorf("%s: an array without items", where)
		} else {
			checkSchema(t, where+"/items", s["items"])
		}
	}
	if ap, ok := s["additionalProperties"]; ok {
		checkSchema(t, where+"/additionalProperties", ap)
	}
}
