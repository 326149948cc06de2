package api

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/lanyard-sso/lanyard/apiv1"
)

// schema is a JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1): the
// part of it that the API's types need.
type schema struct {
	Ref                  string             `json:"$ref,omitempty"`
	Type                 any                `json:"type,omitempty"` // a type name, or [name, "null"]
	Format               string             `json:"format,omitempty"`
	Description          string             `json:"description,omitempty"`
	Enum                 []string           `json:"enum,omitempty"`
	Items                *schema            `json:"items,omitempty"`
	Properties           map[string]*schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties *schema            `json:"additionalProperties,omitempty"`
}

// schemaRefPrefix is where the document keeps the named schemas.
const schemaRefPrefix = "#/components/schemas/"

var enumType = reflect.TypeFor[apiv1.Enum]()

// schemas derives JSON Schemas from Go types, the way encoding/json writes
// and reads them:
//   - a named struct is a schema of its own, under its Go name, referred
//     to by $ref; an unnamed one is written in place;
//   - every field is a property under its json name; a field with
//     omitempty or omitzero is optional, every other one required;
//   - a pointer is the schema of what it points at, or null;
//   - time.Time is a date-time string; a type with an Enum method (see
//     apiv1.Enum) a string of those values;
//   - a slice is an array, a map with string keys an object;
//   - the tags doc and format give the description and format.
//
// Any other type (interfaces, embedded structs, pointers to structs...) is
// a bug in the wire types and panics, which every test run finds.
type schemas struct {
	named map[string]*schema
	types map[string]reflect.Type // of each name, to find two types of one name
}

func newSchemas() *schemas {
	return &schemas{named: map[string]*schema{}, types: map[string]reflect.Type{}}
}

// of returns the schema of t, adding the named structs it uses.
func (s *schemas) of(t reflect.Type) *schema {
	if t == timeType {
		return &schema{Type: "string", Format: "date-time"}
	}
	if t.Kind() == reflect.Pointer {
		inner := s.of(t.Elem())
		name, ok := inner.Type.(string)
		if !ok {
			panic(fmt.Sprintf("api: no JSON Schema for %s: only pointers to plain values may be null", t))
		}
		inner.Type = []string{name, "null"}
		return inner
	}
	if t.Implements(enumType) {
		values := reflect.Zero(t).Interface().(apiv1.Enum).Enum()
		return &schema{Type: "string", Enum: values}
	}
	switch t.Kind() {
	case reflect.String:
		return &schema{Type: "string"}
	case reflect.Bool:
		return &schema{Type: "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &schema{Type: "integer"}
	case reflect.Float32, reflect.Float64:
		return &schema{Type: "number"}
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			break // encoding/json writes []byte as base64: not used by the API
		}
		return &schema{Type: "array", Items: s.of(t.Elem())}
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			break
		}
		return &schema{Type: "object", AdditionalProperties: s.of(t.Elem())}
	case reflect.Struct:
		if t.Name() == "" {
			return s.object(t)
		}
		return s.ref(t)
	}
	panic(fmt.Sprintf("api: no JSON Schema for %s", t))
}

// ref adds the named struct t to the named schemas and refers to it.
func (s *schemas) ref(t reflect.Type) *schema {
	name := t.Name()
	if prev, ok := s.types[name]; ok {
		if prev != t {
			panic(fmt.Sprintf("api: two wire types named %s: %s and %s", name, prev, t))
		}
	} else {
		s.types[name] = t
		s.named[name] = s.object(t)
	}
	return &schema{Ref: schemaRefPrefix + name}
}

// object is the schema of a struct's fields.
func (s *schemas) object(t reflect.Type) *schema {
	o := &schema{Type: "object", Properties: map[string]*schema{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			panic(fmt.Sprintf("api: no JSON Schema for %s: embedded field %s", t, f.Name))
		}
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		p := s.of(f.Type)
		p.Description = f.Tag.Get("doc")
		if format := f.Tag.Get("format"); format != "" {
			p.Format = format
		}
		o.Properties[name] = p
		if !hasOption(opts, "omitempty") && !hasOption(opts, "omitzero") {
			o.Required = append(o.Required, name)
		}
	}
	return o
}

// hasOption reports whether a json tag's options (after the name) hold opt.
func hasOption(opts, opt string) bool {
	for o := range strings.SplitSeq(opts, ",") {
		if o == opt {
			return true
		}
	}
	return false
}
