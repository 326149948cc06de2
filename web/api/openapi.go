package api

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/lanyard-sso/lanyard/apiv1"
)

// The OpenAPI 3.1 document of the API, made from the operations table and
// the Go types of the endpoints (see schemas). Only the parts of the
// specification that the document uses are typed here.

type openAPIDocument struct {
	OpenAPI           string                              `json:"openapi"`
	JSONSchemaDialect string                              `json:"jsonSchemaDialect"`
	Info              docInfo                             `json:"info"`
	Servers           []docServer                         `json:"servers"`
	Paths             map[string]map[string]*docOperation `json:"paths"` // path, then lower-case method
	Components        docComponents                       `json:"components"`
}

type docInfo struct {
	Title       string `json:"title"`
	Version     string `json:"version"`
	Description string `json:"description"`
}

type docServer struct {
	URL string `json:"url"`
}

type docComponents struct {
	Schemas         map[string]*schema           `json:"schemas"`
	SecuritySchemes map[string]docSecurityScheme `json:"securitySchemes"`
}

type docSecurityScheme struct {
	Type        string `json:"type"`
	Scheme      string `json:"scheme"`
	Description string `json:"description"`
}

type docOperation struct {
	OperationID string                 `json:"operationId"`
	Summary     string                 `json:"summary"`
	Description string                 `json:"description"`
	Security    []map[string][]string  `json:"security"`
	Parameters  []docParameter         `json:"parameters,omitempty"`
	RequestBody *docRequestBody        `json:"requestBody,omitempty"`
	Responses   map[string]docResponse `json:"responses"` // by status
}

type docParameter struct {
	Name        string  `json:"name"`
	In          string  `json:"in"` // path or query
	Required    bool    `json:"required"`
	Description string  `json:"description,omitempty"`
	Schema      *schema `json:"schema"`
}

type docRequestBody struct {
	Required bool                `json:"required"`
	Content  map[string]docMedia `json:"content"` // by media type
}

type docMedia struct {
	Schema *schema `json:"schema"`
}

type docResponse struct {
	Description string              `json:"description"`
	Content     map[string]docMedia `json:"content,omitempty"`
}

// bearerScheme is the name of the token security scheme.
const bearerScheme = "bearer"

// pathParamPattern finds the parameters of a path pattern.
var pathParamPattern = regexp.MustCompile(`\{([a-z_]+)\}`)

// errorAnswers are the error statuses every operation may answer.
var errorAnswers = map[int]string{
	http.StatusBadRequest:   "the request is not valid; the message lists every problem",
	http.StatusUnauthorized: "no token, or an unknown, revoked or expired one",
	http.StatusForbidden:    "the token lacks the scope",
	http.StatusNotFound:     "no such tenant, user or record",
	http.StatusConflict:     "the change clashes with existing data",
}

// document builds the OpenAPI document of the operations, whose endpoints
// are eps (in the same order).
func document(ops []operation, eps []endpoint) openAPIDocument {
	s := newSchemas()
	errorSchema := s.of(reflect.TypeFor[apiv1.Error]())
	paths := map[string]map[string]*docOperation{}
	for i, op := range ops {
		ep := eps[i]
		method, path := op.methodPath()
		o := &docOperation{
			OperationID: op.id,
			Summary:     op.summary,
			Description: "Needs a token with the " + op.scope + " scope.",
			Security:    []map[string][]string{{bearerScheme: {op.scope}}},
			Responses:   map[string]docResponse{},
		}
		for _, m := range pathParamPattern.FindAllStringSubmatch(path, -1) {
			o.Parameters = append(o.Parameters, docParameter{Name: m[1], In: "path", Required: true, Schema: &schema{Type: "string"}})
		}
		for _, p := range queryParams(ep.query) {
			o.Parameters = append(o.Parameters, docParameter{Name: p.name, In: "query", Required: p.required, Description: p.doc, Schema: s.of(p.field.Type)})
		}
		if len(ep.request) > 0 {
			o.RequestBody = &docRequestBody{Required: true, Content: map[string]docMedia{}}
			for _, c := range ep.request {
				o.RequestBody.Content[c.mediaType] = docMedia{Schema: s.bodySchema(c)}
			}
		}
		o.Responses[strconv.Itoa(ep.status)] = docResponse{Description: "success",
			Content: map[string]docMedia{ep.response.mediaType: {Schema: s.bodySchema(ep.response)}}}
		for status, desc := range errorAnswers {
			o.Responses[strconv.Itoa(status)] = docResponse{Description: desc,
				Content: map[string]docMedia{"application/json": {Schema: errorSchema}}}
		}
		if paths[path] == nil {
			paths[path] = map[string]*docOperation{}
		}
		paths[path][strings.ToLower(method)] = o
	}
	return openAPIDocument{
		OpenAPI:           "3.1.0",
		JSONSchemaDialect: "https://json-schema.org/draft/2020-12/schema",
		Info: docInfo{
			Title:       "Lanyard admin API",
			Version:     "1",
			Description: "The administration of Lanyard over HTTP: the same operations as the admin UI and the lanyard command. Every change is written to the audit log with the token's name as the actor (api:NAME). Create a token with: lanyard token create NAME --scopes read,write",
		},
		Servers: []docServer{{URL: "/"}},
		Paths:   paths,
		Components: docComponents{
			Schemas: s.named,
			SecuritySchemes: map[string]docSecurityScheme{bearerScheme: {Type: "http", Scheme: "bearer",
				Description: "An API token (lyd_...). Scopes: read (GET calls), write (every call)."}},
		},
	}
}

// bodySchema is the schema of a body: its Go type's, or a string for a
// document read or written as it is.
func (s *schemas) bodySchema(c content) *schema {
	if c.goType == nil {
		return &schema{Type: "string", Description: c.description}
	}
	sc := s.of(c.goType)
	sc.Description = c.description
	return sc
}

// encodeDocument returns the document as JSON.
func encodeDocument(doc openAPIDocument) []byte {
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // the document's types always encode; every test finds a change that breaks it
	}
	return b
}

// handleOpenAPI serves the OpenAPI document; it is public, like any API
// description.
func handleOpenAPI(doc []byte) http.Handler {
	sum := sha256.Sum256(doc)
	etag := fmt.Sprintf(`"%x"`, sum[:8])
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=300")
		h.Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = w.Write(doc)
	})
}
