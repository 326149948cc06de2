package scim

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/scim/filter"
)

// This file turns a SCIM filter into a lanyard.Cond the store runs, and
// evaluates value filters on the values of one resource (PATCH paths).

// invalidFilter is the error of a filter that is malformed or asks for
// what cannot be filtered on (RFC 7644 section 3.4.2.2).
func invalidFilter(format string, args ...any) *Error {
	return scimErr(http.StatusBadRequest, "invalidFilter", format, args...)
}

// compileFilter parses s and maps it onto the fields of the resource.
func compileFilter(s string, resource string) (*lanyard.Cond, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	e, err := filter.Parse(s)
	if err != nil {
		return nil, invalidFilter("%v", err)
	}
	m := &condMapper{resource: resource}
	return m.cond(e)
}

type condMapper struct{ resource string }

func constCond(b bool) *lanyard.Cond { return &lanyard.Cond{Op: lanyard.CondConst, Value: b} }

func (m *condMapper) cond(e filter.Expr) (*lanyard.Cond, error) {
	switch x := e.(type) {
	case *filter.Logical:
		l, err := m.cond(x.Left)
		if err != nil {
			return nil, err
		}
		r, err := m.cond(x.Right)
		if err != nil {
			return nil, err
		}
		return &lanyard.Cond{Op: lanyard.CondOp(x.Op), Left: l, Right: r}, nil
	case *filter.Not:
		l, err := m.cond(x.X)
		if err != nil {
			return nil, err
		}
		return &lanyard.Cond{Op: lanyard.CondNot, Left: l}, nil
	case *filter.Compare:
		return m.compare(x.Path, x)
	case *filter.ValuePath:
		return m.valuePath(x)
	}
	return nil, invalidFilter("unsupported filter")
}

// coreURI reports whether uri is empty or the resource's core schema.
func (m *condMapper) coreURI(uri string) bool {
	if uri == "" {
		return true
	}
	if m.resource == "User" {
		return strings.EqualFold(uri, SchemaUser)
	}
	return strings.EqualFold(uri, SchemaGroup)
}

// field maps an attribute path to a stored field.
func (m *condMapper) field(p filter.Path) (lanyard.CondField, bool) {
	if !m.coreURI(p.URI) {
		return "", false
	}
	attr, sub := strings.ToLower(p.Attr), strings.ToLower(p.Sub)
	switch {
	case attr == "id" && sub == "":
		return lanyard.FieldID, true
	case attr == "externalid" && sub == "":
		return lanyard.FieldExternalID, true
	case attr == "meta" && sub == "created":
		return lanyard.FieldCreated, true
	case attr == "meta" && sub == "lastmodified":
		return lanyard.FieldUpdated, true
	}
	if m.resource == "User" {
		switch {
		case attr == "username" && sub == "":
			return lanyard.FieldLogin, true
		case attr == "active" && sub == "":
			return lanyard.FieldActive, true
		case attr == "name" && sub == "givenname":
			return lanyard.FieldFirstName, true
		case attr == "name" && sub == "familyname":
			return lanyard.FieldLastName, true
		case attr == "emails" && (sub == "" || sub == "value"):
			return lanyard.FieldEmail, true
		}
		return "", false
	}
	switch {
	case attr == "displayname" && sub == "":
		return lanyard.FieldDisplayName, true
	case attr == "members" && (sub == "" || sub == "value"):
		return lanyard.FieldMember, true
	}
	return "", false
}

func (m *condMapper) compare(p filter.Path, c *filter.Compare) (*lanyard.Cond, error) {
	f, ok := m.field(p)
	if !ok {
		return nil, invalidFilter("the attribute %q of %s cannot be filtered on; filter on %s", p.String(), m.resource, filterable[m.resource])
	}
	if c.Op == "pr" {
		return &lanyard.Cond{Op: lanyard.CondPresent, Field: f}, nil
	}
	if c.Value == nil {
		// "eq null" is "not present" (RFC 7644 section 3.4.2.2).
		pr := &lanyard.Cond{Op: lanyard.CondPresent, Field: f}
		switch c.Op {
		case "eq":
			return &lanyard.Cond{Op: lanyard.CondNot, Left: pr}, nil
		case "ne":
			return pr, nil
		}
		return nil, invalidFilter("%s %s null: null compares with eq or ne only", p.String(), c.Op)
	}
	v, err := fieldValue(f, c)
	if err != nil {
		return nil, err
	}
	return &lanyard.Cond{Op: lanyard.CondOp(c.Op), Field: f, Value: v}, nil
}

var filterable = map[string]string{
	"User":  "id, userName, externalId, active, name.givenName, name.familyName, emails, emails.value, emails[type eq \"work\"].value, meta.created, meta.lastModified",
	"Group": "id, displayName, externalId, members, members.value, meta.created, meta.lastModified",
}

// fieldValue checks that the value suits the field's type.
func fieldValue(f lanyard.CondField, c *filter.Compare) (any, error) {
	switch f {
	case lanyard.FieldActive:
		b, ok := c.Value.(bool)
		if !ok {
			return nil, invalidFilter("active %s %v: compare with true or false", c.Op, c.Value)
		}
		return b, nil
	case lanyard.FieldID, lanyard.FieldMember:
		switch v := c.Value.(type) {
		case string:
			return v, nil
		case float64:
			if v == math.Trunc(v) && v > 0 && v < 1<<53 {
				return int64(v), nil
			}
		}
		return nil, invalidFilter("%s %s %v: an id is a string such as \"42\"", f, c.Op, c.Value)
	}
	s, ok := c.Value.(string)
	if !ok {
		return nil, invalidFilter("%s %s %v: compare with a \"string\"", f, c.Op, c.Value)
	}
	if (f == lanyard.FieldCreated || f == lanyard.FieldUpdated) && !validDateTime(s) {
		return nil, invalidFilter("%q is not a dateTime such as \"2026-01-02T15:04:05Z\"", s)
	}
	return s, nil
}

// valuePath maps emails[...] (users) and members[...] (groups): the
// multi-valued attributes Lanyard keeps one value of (the email, which
// is the primary, work email) or as rows (members).
func (m *condMapper) valuePath(vp *filter.ValuePath) (*lanyard.Cond, error) {
	attr := strings.ToLower(vp.Attr.Attr)
	if !m.coreURI(vp.Attr.URI) || !((m.resource == "User" && attr == "emails") || (m.resource == "Group" && attr == "members")) {
		return nil, invalidFilter("a value filter applies to emails (User) or members (Group), not %q", vp.Attr.String())
	}
	inner, err := m.valueFilter(vp.Attr, vp.Filter)
	if err != nil {
		return nil, err
	}
	if vp.Compare == nil {
		f, _ := m.field(filter.Path{Attr: vp.Attr.Attr})
		return &lanyard.Cond{Op: lanyard.CondAnd, Left: inner, Right: &lanyard.Cond{Op: lanyard.CondPresent, Field: f}}, nil
	}
	sub, err := m.valueFilter(vp.Attr, &filter.Compare{Path: vp.Compare.Path, Op: vp.Compare.Op, Value: vp.Compare.Value})
	if err != nil {
		return nil, err
	}
	return &lanyard.Cond{Op: lanyard.CondAnd, Left: inner, Right: sub}, nil
}

// valueFilter maps a filter on the sub-attributes of one value.
func (m *condMapper) valueFilter(attr filter.Path, e filter.Expr) (*lanyard.Cond, error) {
	switch x := e.(type) {
	case *filter.Logical:
		l, err := m.valueFilter(attr, x.Left)
		if err != nil {
			return nil, err
		}
		r, err := m.valueFilter(attr, x.Right)
		if err != nil {
			return nil, err
		}
		return &lanyard.Cond{Op: lanyard.CondOp(x.Op), Left: l, Right: r}, nil
	case *filter.Not:
		l, err := m.valueFilter(attr, x.X)
		if err != nil {
			return nil, err
		}
		return &lanyard.Cond{Op: lanyard.CondNot, Left: l}, nil
	case *filter.Compare:
		if x.Path.URI != "" || x.Path.Sub != "" {
			return nil, invalidFilter("inside [...], name a sub-attribute of %s, not %q", attr.Attr, x.Path.String())
		}
		switch sub := strings.ToLower(x.Path.Attr); sub {
		case "value":
			return m.compare(filter.Path{Attr: attr.Attr, Sub: "value"}, x)
		case "type", "primary", "display":
			if m.resource == "Group" {
				if sub == "type" {
					// Every member is a User.
					return constCond(evalCompare(x, "User", true)), nil
				}
				return nil, invalidFilter("members[%s ...] cannot be filtered on; use value or type", x.Path.Attr)
			}
			if sub == "display" {
				return nil, invalidFilter("emails[display ...] cannot be filtered on")
			}
			// The account's one email is its primary, work email.
			if sub == "type" {
				return constCond(evalCompare(x, "work", true)), nil
			}
			return constCond(evalCompare(x, true, true)), nil
		}
		return nil, invalidFilter("%s has no sub-attribute %q", attr.Attr, x.Path.Attr)
	case *filter.ValuePath:
		return nil, invalidFilter("value filters do not nest")
	}
	return nil, invalidFilter("unsupported filter")
}

// evalCompare applies a comparison to one present value; text compares
// without case unless caseExact.
func evalCompare(c *filter.Compare, actual any, present bool) bool {
	if c.Op == "pr" {
		return present && actual != nil && actual != ""
	}
	if !present {
		return c.Op == "ne" || (c.Op == "eq" && c.Value == nil)
	}
	switch a := actual.(type) {
	case bool:
		b, ok := boolValue(c.Value)
		if !ok {
			return false
		}
		switch c.Op {
		case "eq":
			return a == b
		case "ne":
			return a != b
		}
		return false
	case string:
		var want string
		switch v := c.Value.(type) {
		case string:
			want = v
		case float64:
			want = strconv.FormatFloat(v, 'f', -1, 64)
		case bool:
			want = strconv.FormatBool(v)
		default:
			return c.Op == "ne"
		}
		x, y := strings.ToLower(a), strings.ToLower(want)
		switch c.Op {
		case "eq":
			return x == y
		case "ne":
			return x != y
		case "co":
			return strings.Contains(x, y)
		case "sw":
			return strings.HasPrefix(x, y)
		case "ew":
			return strings.HasSuffix(x, y)
		case "gt":
			return x > y
		case "ge":
			return x >= y
		case "lt":
			return x < y
		case "le":
			return x <= y
		}
	}
	return false
}

// evalValue evaluates a value filter on one value of a multi-valued
// attribute (a JSON object, or a bare value taken as its "value").
func evalValue(e filter.Expr, elem any) bool {
	switch x := e.(type) {
	case *filter.Logical:
		if x.Op == "and" {
			return evalValue(x.Left, elem) && evalValue(x.Right, elem)
		}
		return evalValue(x.Left, elem) || evalValue(x.Right, elem)
	case *filter.Not:
		return !evalValue(x.X, elem)
	case *filter.Compare:
		obj, ok := elem.(map[string]any)
		if !ok {
			obj = map[string]any{"value": elem}
		}
		k, ok := lookup(obj, x.Path.Attr)
		if !ok {
			return evalCompare(x, nil, false)
		}
		v := obj[k]
		if n, isNum := v.(interface{ String() string }); isNum {
			v = n.String()
		}
		return evalCompare(x, v, v != nil)
	}
	return false
}

// boolValue reads a boolean, also as the strings "True" and "False" some
// clients send.
func boolValue(v any) (bool, bool) {
	switch b := v.(type) {
	case bool:
		return b, true
	case string:
		switch strings.ToLower(strings.TrimSpace(b)) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// lookup finds the key of obj that is name, case-insensitively.
func lookup(obj map[string]any, name string) (string, bool) {
	if _, ok := obj[name]; ok {
		return name, true
	}
	for k := range obj {
		if strings.EqualFold(k, name) {
			return k, true
		}
	}
	return "", false
}

func validDateTime(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// listSpec reads what a list or a .search of resource asks for: the filter
// compiled for the store, the page and its startIndex. Sorting is refused,
// as ServiceProviderConfig says.
func listSpec(params map[string]string, resource string) (*lanyard.Cond, lanyard.SCIMPage, int, error) {
	if params["sortBy"] != "" {
		return nil, lanyard.SCIMPage{}, 0, scimErr(http.StatusBadRequest, "invalidValue", "sorting is not supported: results come by id")
	}
	cond, err := compileFilter(params["filter"], resource)
	if err != nil {
		return nil, lanyard.SCIMPage{}, 0, err
	}
	p, start, err := page(params)
	return cond, p, start, err
}

// listErr is a store's refusal of a filter as SCIM's invalidFilter.
func listErr(err error) error {
	if lanyard.ErrorKind(err) == lanyard.KindInvalid {
		return invalidFilter("%s", lanyard.ErrorMessage(err))
	}
	return err
}

// search answers a POST .search: its body's parameters, listed by list.
func (q *request) search(list func(params map[string]string) (int, any, error)) (int, any, error) {
	doc, err := q.readBody()
	if err != nil {
		return 0, nil, err
	}
	params, err := searchParams(doc)
	if err != nil {
		return 0, nil, err
	}
	return list(params)
}
