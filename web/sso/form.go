package sso

import (
	"bytes"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
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
	// declared length, with the room its last, empty read asks for. The
	// values are parsed from its bytes and copied out of them as they are
	// unescaped (parseQuery): the body never becomes a string, and its
	// buffer serves the next login.
	b := getACSBody()
	defer putACSBody(b)
	if r.ContentLength > 0 && r.ContentLength <= maxACSBytes {
		b.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	_, err = b.ReadFrom(r.Body)
	if err != nil {
		r.PostForm = url.Values{}
		_ = r.ParseForm() // the query, as ParseForm leaves it on a failed body
		return err
	}
	r.PostForm, err = parseQuery(b.Bytes())
	if ferr := r.ParseForm(); err == nil {
		err = ferr
	}
	return err
}

// acsBodies holds the buffers of ACS bodies read, for reuse.
var acsBodies sync.Pool // *bytes.Buffer

// maxPooledACSBody bounds the buffers kept: a login's form is some 10 KB,
// 50 KB with 200 groups; the rare larger one is left to the collector.
const maxPooledACSBody = 128 << 10

func getACSBody() *bytes.Buffer {
	if b, ok := acsBodies.Get().(*bytes.Buffer); ok {
		return b
	}
	return new(bytes.Buffer)
}

// putACSBody gives b back once nothing points into its bytes. Under the
// race detector they are overwritten first, so that a value still
// pointing into them reads garbage and a test notices.
func putACSBody(b *bytes.Buffer) {
	if b.Cap() > maxPooledACSBody {
		return
	}
	if raceEnabled {
		clear(b.Bytes())
	}
	b.Reset()
	acsBodies.Put(b)
}

// parseQuery is url.ParseQuery of the query's bytes, with a faster
// unescaping of long values; any key or value it cannot unescape is handed
// to url.QueryUnescape, so errors are the same. Every string returned is a
// copy: query may be reused once it returns.
func parseQuery(query []byte) (url.Values, error) {
	// Past maxFastFormParams parameters the standard library decides: it
	// refuses a body of more than 10,000 (GODEBUG urlmaxqueryparams), so
	// a form of thousands of empty fields costs what it would cost there.
	if bytes.Count(query, []byte("&")) >= maxFastFormParams {
		return url.ParseQuery(string(query))
	}
	m := url.Values{}
	var err error
	for len(query) > 0 {
		var key []byte
		key, query, _ = bytes.Cut(query, []byte("&"))
		if bytes.IndexByte(key, ';') >= 0 {
			// As url.ParseQuery: this error replaces any earlier one.
			_, err = url.ParseQuery(";")
			continue
		}
		if len(key) == 0 {
			continue
		}
		key, value, _ := bytes.Cut(key, []byte("="))
		name, err1 := formKey(key)
		if err1 != nil {
			if err == nil {
				err = err1
			}
			continue
		}
		unescaped, err1 := queryUnescape(value)
		if err1 != nil {
			if err == nil {
				err = err1
			}
			continue
		}
		m[name] = append(m[name], unescaped)
	}
	return m, err
}

// formKey unescapes a key, without a copy for the fields an ACS reads.
func formKey(key []byte) (string, error) {
	switch string(key) {
	case "SAMLResponse":
		return "SAMLResponse", nil
	case "RelayState":
		return "RelayState", nil
	case "SAMLart":
		return "SAMLart", nil
	}
	return url.QueryUnescape(string(key))
}

// queryUnescape is url.QueryUnescape copying the runs between escapes
// whole (a form-encoded base64 value has no '+': its '+' are escaped);
// on malformed input url.QueryUnescape gives the error.
func queryUnescape(s []byte) (string, error) {
	if bytes.IndexByte(s, '+') >= 0 {
		return url.QueryUnescape(string(s))
	}
	i := bytes.IndexByte(s, '%')
	if i < 0 {
		return string(s), nil
	}
	var b strings.Builder
	b.Grow(len(s))
	for rest := s; ; {
		b.Write(rest[:i])
		if i+2 >= len(rest) {
			return url.QueryUnescape(string(s))
		}
		hi, ok1 := unhex(rest[i+1])
		lo, ok2 := unhex(rest[i+2])
		if !ok1 || !ok2 {
			return url.QueryUnescape(string(s))
		}
		b.WriteByte(hi<<4 | lo)
		rest = rest[i+3:]
		if i = bytes.IndexByte(rest, '%'); i < 0 {
			b.Write(rest)
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
