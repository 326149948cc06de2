package devidp

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Binding URIs (SAML Bindings 3.4, 3.5).
const (
	BindingHTTPRedirect = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
	BindingHTTPPOST     = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
)

// maxMessageSize bounds an inbound protocol message, decoded.
const maxMessageSize = 256 << 10

// deflateBase64 compresses with raw DEFLATE (RFC 1951) and encodes in
// base64, as the HTTP-Redirect binding requires (SAML Bindings 3.4.4.1).
func deflateBase64(xml []byte) (string, error) {
	var b bytes.Buffer
	w, err := flate.NewWriter(&b, flate.BestCompression)
	if err != nil {
		return "", fmt.Errorf("devidp: deflate: %w", err)
	}
	if _, err := w.Write(xml); err != nil {
		return "", fmt.Errorf("devidp: deflate: %w", err)
	}
	if err := w.Close(); err != nil {
		return "", fmt.Errorf("devidp: deflate: %w", err)
	}
	return base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// inbound is a SAML message as the browser delivered it, through either
// binding, not yet verified.
type inbound struct {
	param      string // "SAMLRequest" or "SAMLResponse"
	xml        []byte
	relayState string
	binding    string
	// For the HTTP-Redirect binding: the query-string signature and the
	// exact octets it covers (SAML Bindings 3.4.4.1).
	sigAlg    string
	signature []byte
	signed    string
}

// readMessage decodes the SAML message of r: from the raw query string of
// a GET (HTTP-Redirect binding: base64 of DEFLATE) or from the form of a
// POST (HTTP-POST binding: base64).
func readMessage(w http.ResponseWriter, r *http.Request) (*inbound, error) {
	if r.Method == http.MethodPost {
		r.Body = http.MaxBytesReader(w, r.Body, 2*maxMessageSize)
		if err := r.ParseForm(); err != nil {
			return nil, fmt.Errorf("the form could not be read: %w", err)
		}
		m := &inbound{binding: BindingHTTPPOST, relayState: r.PostForm.Get("RelayState")}
		value := ""
		for _, p := range []string{"SAMLRequest", "SAMLResponse"} {
			if v := r.PostForm.Get(p); v != "" {
				m.param, value = p, v
			}
		}
		if m.param == "" {
			return nil, errors.New("the form holds no SAMLRequest or SAMLResponse")
		}
		xml, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(value), ""))
		if err != nil {
			return nil, fmt.Errorf("%s is not valid base64: %w", m.param, err)
		}
		if len(xml) > maxMessageSize {
			return nil, fmt.Errorf("%s is larger than %d bytes", m.param, maxMessageSize)
		}
		m.xml = xml
		return m, nil
	}
	return readRedirect(r.URL.RawQuery)
}

// readRedirect decodes an HTTP-Redirect binding query string. It keeps the
// parameters' raw (URL-encoded) form, which the signature covers, and
// refuses repeated parameters.
func readRedirect(rawQuery string) (*inbound, error) {
	raw := map[string]string{}
	for _, part := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, fmt.Errorf("the query string is not well URL-encoded: %w", err)
		}
		switch key {
		case "SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature":
			if _, dup := raw[key]; dup {
				return nil, fmt.Errorf("the query string holds %s twice", key)
			}
			raw[key] = v
		}
	}
	m := &inbound{binding: BindingHTTPRedirect}
	_, isRequest := raw["SAMLRequest"]
	_, isResponse := raw["SAMLResponse"]
	switch {
	case isRequest && isResponse:
		return nil, errors.New("the query string holds both SAMLRequest and SAMLResponse")
	case isRequest:
		m.param = "SAMLRequest"
	case isResponse:
		m.param = "SAMLResponse"
	default:
		return nil, errors.New("the query string holds no SAMLRequest or SAMLResponse")
	}
	decoded := map[string]string{}
	for k, v := range raw {
		d, err := url.QueryUnescape(v)
		if err != nil {
			return nil, fmt.Errorf("%s is not well URL-encoded: %w", k, err)
		}
		decoded[k] = d
	}
	compressed, err := base64.StdEncoding.DecodeString(decoded[m.param])
	if err != nil {
		return nil, fmt.Errorf("%s is not valid base64: %w", m.param, err)
	}
	xml, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(compressed)), maxMessageSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s is not valid DEFLATE data (the HTTP-Redirect binding requires raw DEFLATE, RFC 1951): %w", m.param, err)
	}
	if len(xml) > maxMessageSize {
		return nil, fmt.Errorf("%s inflates to more than %d bytes", m.param, maxMessageSize)
	}
	m.xml = xml
	m.relayState = decoded["RelayState"]
	if _, signed := raw["Signature"]; signed {
		m.sigAlg = decoded["SigAlg"]
		if m.signature, err = base64.StdEncoding.DecodeString(decoded["Signature"]); err != nil {
			return nil, fmt.Errorf("the Signature parameter is not valid base64: %w", err)
		}
		m.signed = m.param + "=" + raw[m.param]
		if rs, ok := raw["RelayState"]; ok {
			m.signed += "&RelayState=" + rs
		}
		m.signed += "&SigAlg=" + raw["SigAlg"]
	}
	return m, nil
}
