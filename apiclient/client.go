// Package apiclient is a Go client of Lanyard's JSON admin API (/api/v1/).
// It has a method for every call of the API, named after the call's
// operationId in the OpenAPI document, taking and returning the wire types
// of package apiv1. An error answer is an *Error.
//
//	c, err := apiclient.New("https://sso.example.com", os.Getenv("LANYARD_TOKEN"))
//	if err != nil { ... }
//	users, err := c.ListUsers(ctx, "acme", apiv1.UserQuery{Status: apiv1.StatusInactive})
//
// The package imports nothing of the server: only apiv1 and the standard
// library.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard/apiv1"
)

// Client calls the API of one Lanyard server with one token. It is safe
// for concurrent use.
type Client struct {
	base  string // scheme, host and path prefix, without a trailing slash
	token string
	http  *http.Client
}

// Option changes a client made by New.
type Option func(*Client)

// WithHTTPClient makes the client send its requests with hc (timeouts,
// proxies, TLS settings). The default is http.DefaultClient.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// New returns a client of the server at baseURL (e.g.
// https://sso.example.com, or with a path prefix when Lanyard is served
// under one), sending token as "Authorization: Bearer". An empty token
// sends none (every call but the document's is then refused).
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("apiclient: base URL %q: give an absolute http:// or https:// URL without query", baseURL)
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), token: token, http: http.DefaultClient}
	for _, opt := range opts {
		opt(c)
	}
	return c, nil
}

// Error is an error answer of the API: {"error": {"kind", "message"}}
// with its HTTP status. An answer that is not the API's own (a proxy's
// error page, say) has an empty Kind and the start of the body as Message.
type Error struct {
	Status  int
	Kind    apiv1.ErrorKind
	Message string
	// RetryAfter is how long the server asks to wait before trying again
	// (Retry-After, in seconds); 0 when it does not say.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Kind == "" {
		return fmt.Sprintf("lanyard API: HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("lanyard API: %s (HTTP %d): %s", e.Kind, e.Status, e.Message)
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// request is one call.
type request struct {
	method      string
	path        []string // segments after /api/v1/, escaped when sent
	query       any      // a query struct of apiv1 (query tags), or nil
	body        io.Reader
	contentType string
}

// send makes the call and returns the answer when its status is 2xx; any
// other status is an *Error. The caller closes the body.
func (c *Client) send(ctx context.Context, rq request) (*http.Response, error) {
	var target strings.Builder
	target.WriteString(c.base + "/api/v1")
	for _, seg := range rq.path {
		if seg == "" {
			return nil, fmt.Errorf("apiclient: %s %s: a path parameter is empty", rq.method, strings.Join(rq.path, "/"))
		}
		target.WriteString("/" + url.PathEscape(seg))
	}
	if q := encodeQuery(rq.query); len(q) > 0 {
		target.WriteString("?" + q.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, rq.method, target.String(), rq.body)
	if err != nil {
		return nil, fmt.Errorf("apiclient: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("apiclient: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, errorOf(resp)
	}
	return resp, nil
}

// errorOf reads an error answer.
func errorOf(resp *http.Response) *Error {
	e := &Error{Status: resp.StatusCode}
	if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
		e.RetryAfter = time.Duration(secs) * time.Second
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body apiv1.Error
	if json.Unmarshal(raw, &body) == nil && body.Error.Kind != "" {
		e.Kind, e.Message = body.Error.Kind, body.Error.Message
		return e
	}
	e.Message = strings.TrimSpace(string(raw))
	if len(e.Message) > 200 {
		e.Message = e.Message[:200] + "..."
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// call makes a JSON call: in, when not nil, is sent as the JSON body, and
// the answer is decoded into out.
func (c *Client) call(ctx context.Context, method string, path []string, query, in, out any) error {
	rq := request{method: method, path: path, query: query}
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("apiclient: encode the request: %w", err)
		}
		rq.body, rq.contentType = bytes.NewReader(b), "application/json"
	}
	return c.decode(ctx, rq, out)
}

// decode sends rq and decodes the JSON answer into out.
func (c *Client) decode(ctx context.Context, rq request, out any) error {
	resp, err := c.send(ctx, rq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("apiclient: %s %s: read the answer: %w", rq.method, strings.Join(rq.path, "/"), err)
	}
	return nil
}

var timeType = reflect.TypeFor[time.Time]()

// encodeQuery returns the parameters of a query struct of apiv1, leaving
// out the zero values (the server's defaults).
func encodeQuery(q any) url.Values {
	out := url.Values{}
	if q == nil {
		return out
	}
	v := reflect.ValueOf(q)
	for i := range v.NumField() {
		f, fv := v.Type().Field(i), v.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("query"), ",")
		if name == "" || fv.IsZero() {
			continue
		}
		switch {
		case f.Type == timeType:
			out.Set(name, fv.Interface().(time.Time).UTC().Format(time.RFC3339Nano))
		case fv.Kind() == reflect.String:
			out.Set(name, fv.String())
		case fv.CanInt():
			out.Set(name, strconv.FormatInt(fv.Int(), 10))
		case fv.Kind() == reflect.Bool:
			out.Set(name, "true")
		default:
			panic(fmt.Sprintf("apiclient: query parameter %s has the unsupported type %s", name, f.Type))
		}
	}
	return out
}

// IsKind reports whether err is an *Error of the kind.
func IsKind(err error, kind apiv1.ErrorKind) bool {
	var e *Error
	return errors.As(err, &e) && e.Kind == kind
}
