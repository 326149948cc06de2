package sso

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// readACSForm fills r.PostForm from a urlencoded body, as r.ParseForm
// would (the same values, the same first error), then lets ParseForm add
// the query. A posted SAMLResponse is some 10 KB of base64 whose '+', '/'
// and '=' are all escaped; net/url decodes it a byte at a time, which was
// a tenth of a login's CPU. Any other body is left to ParseForm.
func readACSForm(r *http.Request) error {
	if r.PostForm != nil || r.Method != http.MethodPost || r.Body == nil {
		return r.ParseForm()
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return r.ParseForm()
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return r.ParseForm()
	}
	// bytes.Buffer reads into its own memory (io.Copy into a
	// strings.Builder took a 32 KB buffer per login); sized from the
	// declared length, with the room its last, empty read asks for.
	var b bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= maxACSBytes {
		b.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err = b.ReadFrom(r.Body)
	if err != nil {
		r.PostForm = url.Values{}
		_ = r.ParseForm() // the query, as ParseForm leaves it on a failed body
		return err
	}
	r.PostForm, err = parseQuery(b.String())
	if ferr := r.ParseForm(); err == nil {
		err = ferr
	}
	return err
}

// parseQuery is url.ParseQuery with a faster unescaping of long values;
// any value it cannot unescape is handed to url.QueryUnescape, so errors
// are the same.
func parseQuery(query string) (url.Values, error) {
	// Past maxFastFormParams parameters the standard library decides: it
	// refuses a body of more than 10,000 (GODEBUG urlmaxqueryparams), so
	// a form of thousands of empty fields costs what it would cost there.
	if strings.Count(query, "&") >= maxFastFormParams {
		return url.ParseQuery(query)
	}
	m := url.Values{}
	var err error
	for query != "" {
		var key string
		key, query, _ = strings.Cut(query, "&")
		if strings.Contains(key, ";") {
			// As url.ParseQuery: this error replaces any earlier one.
			_, err = url.ParseQuery(";")
			continue
		}
		if key == "" {
			continue
		}
		key, value, _ := strings.Cut(key, "=")
		key, err1 := url.QueryUnescape(key)
		if err1 != nil {
			if err == nil {
				err = err1
			}
			continue
		}
		value, err1 = queryUnescape(value)
		if err1 != nil {
			if err == nil {
				err = err1
			}
			continue
		}
		m[key] = append(m[key], value)
	}
	return m, err
}

// queryUnescape is url.QueryUnescape copying the runs between escapes
// whole (a form-encoded base64 value has no '+': its '+' are escaped);
// on malformed input url.QueryUnescape gives the error.
func queryUnescape(s string) (string, error) {
	if strings.IndexByte(s, '+') >= 0 {
		return url.QueryUnescape(s)
	}
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s, nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for rest := s; ; {
		b.WriteString(rest[:i])
		if i+2 >= len(rest) {
			return url.QueryUnescape(s)
		}
		hi, ok1 := unhex(rest[i+1])
		lo, ok2 := unhex(rest[i+2])
		if !ok1 || !ok2 {
			return url.QueryUnescape(s)
		}
		b.WriteByte(hi<<4 | lo)
		rest = rest[i+3:]
		if i = strings.IndexByte(rest, '%'); i < 0 {
			b.WriteString(rest)
			return b.String(), nil
		}
	}
}

// maxFastFormParams: an ACS form has a handful of fields.
const maxFastFormParams = 64

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
