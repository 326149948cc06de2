package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/apiv1"
	"github.com/lanyard-sso/lanyard/web/internal/httperr"
)

// maxJSONBody bounds a JSON request body; maxUpload a CSV or metadata
// upload.
const (
	maxJSONBody = 1 << 20
	maxUpload   = 64 << 20
)

// An endpoint is the handler of one operation together with what the
// OpenAPI document says of it. The helpers below take the types from the
// handler's own signature, so the document describes what the handler
// really reads and answers.
type endpoint struct {
	http.Handler
	status   int          // of a successful answer
	query    reflect.Type // struct of query parameters (apiv1 query tags); nil: none
	request  []content    // the accepted bodies; nil: none
	response content
}

// content is one media type of a request or response body.
type content struct {
	mediaType string
	// goType is the type of a JSON body; nil for a document that is read
	// or written as it is (CSV, XML).
	goType      reflect.Type
	description string
}

// none is the query or body of an operation that takes none.
type none struct{}

var noneType = reflect.TypeFor[none]()

// jsonContent is the JSON body of type T.
func jsonContent[T any]() content {
	return content{mediaType: "application/json", goType: reflect.TypeFor[T]()}
}

// queryTypeOf is the query parameters' type Q, nil for none.
func queryTypeOf[Q any]() reflect.Type {
	if t := reflect.TypeFor[Q](); t != noneType {
		return t
	}
	return nil
}

// jsonCall makes the endpoint of a JSON operation: fn gets the query
// parameters Q and the JSON body In (none for either when the operation
// takes none) and returns what is answered with status.
func jsonCall[Q, In, Out any](d Deps, status int, fn func(r *http.Request, q Q, in In) (Out, error)) endpoint {
	hasBody := reflect.TypeFor[In]() != noneType
	e := endpoint{status: status, query: queryTypeOf[Q](), response: jsonContent[Out]()}
	if hasBody {
		e.request = []content{jsonContent[In]()}
	}
	e.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q Q
		if err := decodeQuery(r.URL.Query(), &q); err != nil {
			writeError(d, w, r, err)
			return
		}
		var in In
		if hasBody {
			if err := decodeJSON(w, r, &in); err != nil {
				writeError(d, w, r, err)
				return
			}
		}
		out, err := fn(r, q, in)
		if err != nil {
			writeError(d, w, r, err)
			return
		}
		writeJSON(w, status, out)
	})
	return e
}

// uploadCall is jsonCall for an operation whose body fn reads itself (a
// CSV file, metadata XML); accepts lists the bodies for the document.
func uploadCall[Q, Out any](d Deps, status int, accepts []content, fn func(w http.ResponseWriter, r *http.Request, q Q) (Out, error)) endpoint {
	e := endpoint{status: status, query: queryTypeOf[Q](), request: accepts, response: jsonContent[Out]()}
	e.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q Q
		if err := decodeQuery(r.URL.Query(), &q); err != nil {
			writeError(d, w, r, err)
			return
		}
		out, err := fn(w, r, q)
		if err != nil {
			writeError(d, w, r, err)
			return
		}
		writeJSON(w, status, out)
	})
	return e
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// writeError answers with the status of err's kind and its user-safe
// message (httperr), as {"error": {"kind", "message"}}; the log gets the
// whole chain.
func writeError(d Deps, w http.ResponseWriter, r *http.Request, err error) {
	a := httperr.Prepare(d.Logger, w, r, err)
	writeJSON(w, a.Status, apiv1.Error{Error: apiv1.ErrorBody{Kind: errorKind(a.Kind), Message: a.Message}})
}

// errorKind is the wire name of a kind: its name with underscores.
func errorKind(k lanyard.Kind) apiv1.ErrorKind {
	return apiv1.ErrorKind(strings.ReplaceAll(k.String(), " ", "_"))
}

// decodeJSON reads a JSON request body into v, refusing unknown fields.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("send the body as application/json, not %s", mt)}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxJSONBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &lanyard.Error{Kind: lanyard.KindInvalid, Message: "the JSON body could not be read: " + err.Error(), Err: err}
	}
	return nil
}

// readUpload reads a request body of at most maxUpload bytes.
// uploadReader streams the request body, at most maxUpload bytes; reading
// past it fails with a message that names the limit.
func uploadReader(w http.ResponseWriter, r *http.Request) io.Reader {
	return limitedUpload{http.MaxBytesReader(w, r.Body, maxUpload)}
}

type limitedUpload struct{ r io.Reader }

func (l limitedUpload) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		err = fmt.Errorf("the body is larger than %d MiB", maxUpload>>20)
	}
	return n, err
}

func readUpload(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxUpload))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return nil, &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("the body is larger than %d MiB", maxUpload>>20), Err: err}
	}
	if err != nil {
		return nil, fmt.Errorf("api: read request body: %w", err)
	}
	return b, nil
}

// queryParam is a field of a query parameters struct.
type queryParam struct {
	name     string
	required bool
	doc      string
	field    reflect.StructField
}

// queryParams lists the parameters of a query struct from its query tags
// (see package apiv1). A field without a tag is a bug: it would be in
// neither the request nor the document.
func queryParams(t reflect.Type) []queryParam {
	if t == nil {
		return nil
	}
	var out []queryParam
	for _, f := range reflect.VisibleFields(t) {
		tag, ok := f.Tag.Lookup("query")
		if !ok || tag == "" {
			panic(fmt.Sprintf("api: field %s of %s has no query tag", f.Name, t))
		}
		name, opt, _ := strings.Cut(tag, ",")
		out = append(out, queryParam{name: name, required: opt == "required", doc: f.Tag.Get("doc"), field: f})
	}
	return out
}

var timeType = reflect.TypeFor[time.Time]()

// decodeQuery sets the fields of *dst, a query parameters struct, from the
// query. Absent parameters leave their zero value; a required one that is
// absent, or a value of the wrong form, is a KindInvalid error.
func decodeQuery(q url.Values, dst any) error {
	v := reflect.ValueOf(dst).Elem()
	if v.Type() == noneType {
		return nil
	}
	for _, p := range queryParams(v.Type()) {
		s := q.Get(p.name)
		if s == "" {
			if p.required {
				return &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("give %s as ?%s=...", p.doc, p.name)}
			}
			continue
		}
		f := v.FieldByIndex(p.field.Index)
		switch {
		case f.Type() == timeType:
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("query parameter %s=%q: give an RFC 3339 time such as 2026-11-01T00:00:00Z", p.name, s)}
			}
			f.Set(reflect.ValueOf(t))
		case f.Kind() == reflect.String:
			f.SetString(s)
		case f.Kind() == reflect.Int || f.Kind() == reflect.Int64:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n < 0 {
				return &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("query parameter %s=%q: give a whole number", p.name, s)}
			}
			f.SetInt(n)
		case f.Kind() == reflect.Bool:
			b, err := strconv.ParseBool(s)
			if err != nil {
				return &lanyard.Error{Kind: lanyard.KindInvalid, Message: fmt.Sprintf("query parameter %s=%q: use true or false", p.name, s)}
			}
			f.SetBool(b)
		default:
			panic(fmt.Sprintf("api: query parameter %s has the unsupported type %s", p.name, f.Type()))
		}
	}
	return nil
}

// listOf converts each element of in with f. The list is never nil, so
// that an empty one is [] in JSON, not null.
func listOf[T, U any](in []T, f func(T) U) []U {
	out := make([]U, 0, len(in))
	for _, v := range in {
		out = append(out, f(v))
	}
	return out
}

// orEmpty returns s, or an empty (not null) list.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// optTime is t, or nil (JSON null) for the zero time.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
