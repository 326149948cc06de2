package scim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/lanyard-sso/lanyard/scim/filter"
)

// patchOp is one operation of a PATCH request (RFC 7644 section 3.5.2).
type patchOp struct {
	op    string // add, replace or remove, whatever the case it came in
	path  string
	value any
}

// parsePatch reads a PatchOp message. Clients differ in details that this
// accepts: "Replace" or "replace", a path or a value object without one.
func parsePatch(doc map[string]any) ([]patchOp, error) {
	schemas, _ := doc[mustKey(doc, "schemas")].([]any)
	if !slices.ContainsFunc(schemas, func(s any) bool { v, _ := s.(string); return strings.EqualFold(v, msgPatch) }) {
		return nil, scimErr(http.StatusBadRequest, "invalidSyntax", "a PATCH body is a message with schemas [%q]", msgPatch)
	}
	raw, ok := doc[mustKey(doc, "Operations")].([]any)
	if !ok || len(raw) == 0 {
		return nil, scimErr(http.StatusBadRequest, "invalidSyntax", "a PATCH body holds Operations: a list of {op, path, value}")
	}
	if len(raw) > maxOperations {
		return nil, scimErr(http.StatusRequestEntityTooLarge, "tooLarge", "at most %d operations in one PATCH, not %d", maxOperations, len(raw))
	}
	var ops []patchOp
	for i, r := range raw {
		m, ok := r.(map[string]any)
		if !ok {
			return nil, scimErr(http.StatusBadRequest, "invalidSyntax", "operation %d is not an object", i+1)
		}
		opName, _ := m[mustKey(m, "op")].(string)
		op := patchOp{op: strings.ToLower(strings.TrimSpace(opName)), value: m[mustKey(m, "value")]}
		if p, ok := m[mustKey(m, "path")]; ok && p != nil {
			s, isString := p.(string)
			if !isString {
				return nil, scimErr(http.StatusBadRequest, "invalidPath", "operation %d: path must be a string", i+1)
			}
			op.path = strings.TrimSpace(s)
		}
		switch op.op {
		case "add", "replace":
			if _, present := m[mustKey(m, "value")]; !present {
				return nil, scimErr(http.StatusBadRequest, "invalidValue", "operation %d (%s) has no value", i+1, op.op)
			}
			if op.path == "" {
				if _, isObject := op.value.(map[string]any); !isObject {
					return nil, scimErr(http.StatusBadRequest, "invalidValue", "operation %d (%s) without a path needs an object value", i+1, op.op)
				}
			}
		case "remove":
			if op.path == "" {
				return nil, scimErr(http.StatusBadRequest, "noTarget", "operation %d (remove) needs a path", i+1)
			}
		default:
			return nil, scimErr(http.StatusBadRequest, "invalidSyntax", "operation %d: op %q: use add, replace or remove", i+1, opName)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// mustKey returns the key of m that is name case-insensitively, or name.
func mustKey(m map[string]any, name string) string {
	if k, ok := lookup(m, name); ok {
		return k
	}
	return name
}

// patcher applies operations to a resource held as its JSON document.
type patcher struct {
	core       string   // the core schema URN: paths under it are top-level
	extensions []string // extension URNs: their attributes live in an object
	multi      []string // multi-valued attributes, lower case
}

func (p *patcher) apply(doc map[string]any, ops []patchOp) error {
	for i, op := range ops {
		var err error
		if op.path == "" {
			err = p.applyObject(doc, op)
		} else {
			err = p.applyPath(doc, op.op, op.path, op.value)
		}
		if err != nil {
			if se, ok := err.(*Error); ok {
				se.Detail = fmt.Sprintf("operation %d (%s %s): %s", i+1, op.op, op.path, se.Detail)
			}
			return err
		}
	}
	return nil
}

// applyObject applies an add or replace without a path: each member of
// the value object is an attribute path (or an extension's object).
func (p *patcher) applyObject(doc map[string]any, op patchOp) error {
	for k, v := range op.value.(map[string]any) {
		if ext, ok := p.extension(k); ok {
			obj, isObject := v.(map[string]any)
			if !isObject {
				return scimErr(http.StatusBadRequest, "invalidValue", "%s must be an object", k)
			}
			for sk, sv := range obj {
				if err := p.applyPath(doc, op.op, ext+":"+sk, sv); err != nil {
					return err
				}
			}
			continue
		}
		if err := p.applyPath(doc, op.op, k, v); err != nil {
			return err
		}
	}
	return nil
}

func (p *patcher) extension(s string) (string, bool) {
	for _, e := range p.extensions {
		if strings.EqualFold(s, e) {
			return e, true
		}
	}
	return "", false
}

func (p *patcher) applyPath(doc map[string]any, op, pathStr string, value any) error {
	if ext, ok := p.extension(pathStr); ok {
		// The whole extension object.
		return setAttr(doc, ext, op, value, false)
	}
	path, valFilter, sub, err := filter.ParsePath(pathStr)
	if err != nil {
		return scimErr(http.StatusBadRequest, "invalidPath", "%v", err)
	}
	container := doc
	switch {
	case path.URI == "" || strings.EqualFold(path.URI, p.core):
	default:
		ext, ok := p.extension(path.URI)
		if !ok {
			return scimErr(http.StatusBadRequest, "invalidPath", "unknown schema %q", path.URI)
		}
		k := mustKey(doc, ext)
		obj, _ := doc[k].(map[string]any)
		if obj == nil {
			if op == "remove" {
				return nil
			}
			obj = map[string]any{}
			doc[k] = obj
		}
		container = obj
	}
	multi := slices.Contains(p.multi, strings.ToLower(path.Attr))
	if valFilter == nil {
		if path.Sub == "" {
			return setAttr(container, path.Attr, op, value, multi)
		}
		k := mustKey(container, path.Attr)
		obj, _ := container[k].(map[string]any)
		if obj == nil {
			if op == "remove" {
				return nil
			}
			if _, isArray := container[k].([]any); isArray {
				return scimErr(http.StatusBadRequest, "invalidPath", "%s is multi-valued: select values with %s[...]", path.Attr, path.Attr)
			}
			obj = map[string]any{}
			container[k] = obj
		}
		return setAttr(obj, path.Sub, op, value, false)
	}
	if !multi {
		return scimErr(http.StatusBadRequest, "invalidPath", "%s is not multi-valued: a [...] filter does not apply", path.Attr)
	}
	k := mustKey(container, path.Attr)
	values, _ := container[k].([]any)
	var matched []int
	for i, v := range values {
		if evalValue(valFilter, v) {
			matched = append(matched, i)
		}
	}
	switch {
	case op == "remove" && sub == "":
		kept := values[:0:0]
		for i, v := range values {
			if !slices.Contains(matched, i) {
				kept = append(kept, v)
			}
		}
		container[k] = kept
		return nil
	case op == "remove":
		for _, i := range matched {
			if obj, ok := values[i].(map[string]any); ok {
				delete(obj, mustKey(obj, sub))
			}
		}
		return nil
	}
	if len(matched) == 0 {
		// A value the filter names exactly (type eq "work") is created,
		// as clients expect when they set emails[type eq "work"].value.
		elem, ok := elementFor(valFilter)
		if !ok {
			return scimErr(http.StatusBadRequest, "noTarget", "no value of %s matches the filter", path.Attr)
		}
		values = append(values, elem)
		container[k] = values
		matched = []int{len(values) - 1}
	}
	for _, i := range matched {
		if sub != "" {
			obj, ok := values[i].(map[string]any)
			if !ok {
				obj = map[string]any{"value": values[i]}
				values[i] = obj
			}
			obj[mustKey(obj, sub)] = value
			continue
		}
		obj, ok := value.(map[string]any)
		if !ok {
			return scimErr(http.StatusBadRequest, "invalidValue", "a value of %s is an object", path.Attr)
		}
		if old, isObject := values[i].(map[string]any); isObject && op == "add" {
			for vk, vv := range obj {
				old[mustKey(old, vk)] = vv
			}
			continue
		}
		values[i] = obj
	}
	return nil
}

// elementFor builds the value a filter of equalities selects.
func elementFor(e filter.Expr) (map[string]any, bool) {
	switch x := e.(type) {
	case *filter.Compare:
		if x.Op != "eq" || x.Path.Sub != "" || x.Path.URI != "" {
			return nil, false
		}
		return map[string]any{x.Path.Attr: x.Value}, true
	case *filter.Logical:
		if x.Op != "and" {
			return nil, false
		}
		l, ok1 := elementFor(x.Left)
		r, ok2 := elementFor(x.Right)
		if !ok1 || !ok2 {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	}
	return nil, false
}

// setAttr applies op to the attribute name of obj. Multi-valued
// attributes take added values at their end (a value already there is
// not added twice); complex values merge on add and replace.
func setAttr(obj map[string]any, name, op string, value any, multi bool) error {
	k := mustKey(obj, name)
	if op == "remove" {
		removed, isArray := value.([]any)
		have, hasArray := obj[k].([]any)
		if !multi || !isArray || !hasArray {
			delete(obj, k)
			return nil
		}
		// Some clients remove members by value: {"op":"remove",
		// "path":"members","value":[{"value":"42"}]}.
		gone := map[string]bool{}
		for _, v := range dedupe(nil, removed) {
			gone[valueKey(v)] = true
		}
		kept := have[:0:0]
		for _, v := range have {
			if !gone[valueKey(v)] {
				kept = append(kept, v)
			}
		}
		obj[k] = kept
		return nil
	}
	if value == nil {
		delete(obj, k)
		return nil
	}
	old, exists := obj[k]
	if multi {
		added, isArray := value.([]any)
		if !isArray {
			added = []any{value}
		}
		if op == "replace" || !exists {
			obj[k] = dedupe(nil, added)
			return nil
		}
		have, _ := old.([]any)
		obj[k] = dedupe(have, added)
		return nil
	}
	if oldObj, ok := old.(map[string]any); ok {
		if newObj, ok := value.(map[string]any); ok {
			for vk, vv := range newObj {
				oldObj[mustKey(oldObj, vk)] = vv
			}
			return nil
		}
	}
	obj[k] = value
	return nil
}

// dedupe appends added to have, skipping values whose "value" (or whole
// JSON) is already there.
func dedupe(have, added []any) []any {
	seen := map[string]bool{}
	key := valueKey
	out := make([]any, 0, len(have)+len(added))
	for _, v := range have {
		seen[key(v)] = true
		out = append(out, v)
	}
	for _, v := range added {
		if k := key(v); !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	return out
}

// valueKey identifies a value of a multi-valued attribute: its "value",
// or its whole JSON.
func valueKey(v any) string {
	if m, ok := v.(map[string]any); ok {
		if vk, ok := lookup(m, "value"); ok {
			return fmt.Sprint(m[vk])
		}
	}
	b, _ := json.Marshal(v)
	return string(b)
}
