package saml

import (
	"bytes"
	"compress/flate"
	"crypto"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"strings"
	"sync"

	"github.com/lanyard-sso/lanyard/saml/xmldsig"
)

// Message is an outbound SAML protocol message ready for the browser:
// either a redirect (HTTP-Redirect binding, SAML Bindings 3.4) or an
// auto-submitted form (HTTP-POST binding, SAML Bindings 3.5).
type Message struct {
	// ID of the request or response.
	ID string
	// Binding is BindingHTTPRedirect or BindingHTTPPOST.
	Binding string
	// URL is the full redirect URL (Redirect binding) or the form action
	// (POST binding).
	URL string
	// Param is "SAMLRequest" or "SAMLResponse"; Value its base64 value
	// (POST binding only; for Redirect it is inside URL).
	Param, Value string
	// RelayState sent along, if any.
	RelayState string
	// XML is the message itself, for logging and tests.
	XML []byte
}

// postForm posts a message (HTTP-POST binding, SAML Bindings 3.5.4). The
// form submits itself with a script allowed by a nonce; without script, the
// user presses Continue.
var postForm = template.Must(template.New("post").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signing in</title></head>
<body>
<form id="saml" method="post" action="{{.URL}}">
<input type="hidden" name="{{.Param}}" value="{{.Value}}">
{{with .RelayState}}<input type="hidden" name="RelayState" value="{{.}}">{{end}}
<noscript><p>Your browser does not run scripts: press Continue to go on.</p></noscript>
<button type="submit">Continue</button>
</form>
<script nonce="{{.Nonce}}">document.getElementById("saml").submit();</script>
</body></html>
`))

// PostForm returns an HTML page that posts the message (HTTP-POST binding).
// Its only script carries nonce, for a Content-Security-Policy of
// "script-src 'nonce-NONCE'" (a fresh random value per response, made of
// characters HTML leaves alone, such as base64url); the caller sends that
// header, with form-action allowing m.URL's origin.
func (m *Message) PostForm(nonce string) []byte {
	var b bytes.Buffer
	data := struct{ URL, Param, Value, RelayState, Nonce string }{m.URL, m.Param, m.Value, m.RelayState, nonce}
	if err := postForm.Execute(&b, data); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// deflateB64 compresses with raw DEFLATE (RFC 1951) and encodes in base64,
// as the HTTP-Redirect binding requires (SAML Bindings 3.4.4.1).
func deflateB64(xml []byte) string {
	var b bytes.Buffer
	w := flateWriters.Get().(*flate.Writer)
	w.Reset(&b)
	w.Write(xml)
	w.Close()
	flateWriters.Put(w)
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

// flateWriters reuses DEFLATE writers: each one holds about 800 KB of
// tables, which would otherwise be allocated for every redirect.
var flateWriters = sync.Pool{New: func() any {
	w, _ := flate.NewWriter(nil, flate.BestCompression)
	return w
}}

// redirectURL builds the HTTP-Redirect URL, signed when kp is set. The
// signature covers "SAMLRequest=...&RelayState=...&SigAlg=..." with the
// values URL-encoded exactly as they appear in the query (SAML Bindings
// 3.4.4.1).
func redirectURL(endpoint, param string, xml []byte, relayState string, kp *KeyPair) (string, error) {
	q := param + "=" + url.QueryEscape(deflateB64(xml))
	if relayState != "" {
		q += "&RelayState=" + url.QueryEscape(relayState)
	}
	if kp != nil {
		alg, err := xmldsig.SignatureAlgorithm(kp.Signer)
		if err != nil {
			return "", err
		}
		q += "&SigAlg=" + url.QueryEscape(alg)
		h := crypto.SHA256.New()
		h.Write([]byte(q))
		sig, err := xmldsig.SignDigest(kp.Signer, h.Sum(nil))
		if err != nil {
			return "", fmt.Errorf("saml: signing the redirect: %w", err)
		}
		q += "&Signature=" + url.QueryEscape(base64.StdEncoding.EncodeToString(sig))
	}
	sep := "?"
	if strings.Contains(endpoint, "?") {
		sep = "&"
	}
	return endpoint + sep + q, nil
}

// redirectMessage is a message received through the HTTP-Redirect binding.
type redirectMessage struct {
	param      string // SAMLRequest or SAMLResponse
	xml        []byte
	relayState string
	sigAlg     string
	signature  []byte
	signed     string // the octets the signature covers
}

// decodeRedirect parses the raw query string of an HTTP-Redirect binding
// request: it keeps the raw (still URL-encoded) values for signature
// verification, refuses duplicated parameters, and inflates the message
// with a bound on its size.
func decodeRedirect(rawQuery string, maxSize int) (*redirectMessage, error) {
	raw := map[string]string{}
	for _, part := range strings.Split(rawQuery, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err := url.QueryUnescape(k)
		if err != nil {
			return nil, errorf(ReasonMalformed, "the query string is not well URL-encoded")
		}
		switch key {
		case "SAMLRequest", "SAMLResponse", "RelayState", "SigAlg", "Signature":
			if _, dup := raw[key]; dup {
				return nil, errorf(ReasonMalformed, "the query string holds %s twice", key)
			}
			raw[key] = v
		}
	}
	m := &redirectMessage{}
	_, hasReq := raw["SAMLRequest"]
	_, hasResp := raw["SAMLResponse"]
	switch {
	case hasReq && hasResp:
		return nil, errorf(ReasonMalformed, "the query string holds both SAMLRequest and SAMLResponse")
	case hasReq:
		m.param = "SAMLRequest"
	case hasResp:
		m.param = "SAMLResponse"
	default:
		return nil, errorf(ReasonMalformed, "the query string holds no SAMLRequest or SAMLResponse")
	}
	val := func(k string) (string, error) {
		v, err := url.QueryUnescape(raw[k])
		if err != nil {
			return "", errorf(ReasonMalformed, "%s is not well URL-encoded", k)
		}
		return v, nil
	}
	b64, err := val(m.param)
	if err != nil {
		return nil, err
	}
	if len(b64) > base64.StdEncoding.EncodedLen(maxSize) {
		return nil, errorf(ReasonTooLarge, "the %s parameter is %d bytes, too large", m.param, len(b64))
	}
	compressed, err := xmldsig.DecodeBase64(b64)
	if err != nil {
		return nil, errorf(ReasonMalformed, "%s is not valid base64", m.param)
	}
	r := flate.NewReader(bytes.NewReader(compressed))
	xml, err := io.ReadAll(io.LimitReader(r, int64(maxSize)+1))
	if err != nil {
		return nil, errorf(ReasonMalformed, "%s is not valid DEFLATE data: %v", m.param, err)
	}
	if len(xml) > maxSize {
		return nil, errorf(ReasonTooLarge, "%s inflates to more than %d bytes", m.param, maxSize)
	}
	m.xml = xml
	if m.relayState, err = val("RelayState"); err != nil {
		return nil, err
	}
	if m.sigAlg, err = val("SigAlg"); err != nil {
		return nil, err
	}
	if _, ok := raw["Signature"]; ok {
		sv, err := val("Signature")
		if err != nil {
			return nil, err
		}
		if m.signature, err = xmldsig.DecodeBase64(sv); err != nil {
			return nil, errorf(ReasonSignatureInvalid, "the Signature parameter is not valid base64")
		}
		signed := m.param + "=" + raw[m.param]
		if rs, ok := raw["RelayState"]; ok {
			signed += "&RelayState=" + rs
		}
		signed += "&SigAlg=" + raw["SigAlg"]
		m.signed = signed
	}
	return m, nil
}

// verifyRedirect checks the query-string signature of a Redirect-binding
// message against the trusted keys (SAML Bindings 3.4.4.1).
func verifyRedirect(m *redirectMessage, keys []xmldsig.Key, allowSHA1 bool, what string) error {
	if m.signature == nil {
		return errorf(ReasonUnsigned, "the %s arrived through the HTTP-Redirect binding without a Signature parameter", what)
	}
	hash, ok := xmldsig.SignatureHash(m.sigAlg)
	if !ok {
		return errorf(ReasonUnsupportedAlgorithm, "SigAlg %q is not supported", m.sigAlg)
	}
	if hash == crypto.SHA1 && !allowSHA1 {
		return errorf(ReasonSHA1Refused, "the %s is signed with %s (SHA-1), which is refused; configure the IdP to use SHA-256, or mark it legacy", what, m.sigAlg)
	}
	h := hash.New()
	h.Write([]byte(m.signed))
	digest := h.Sum(nil)
	for i := range keys {
		if keys[i].Verify(m.sigAlg, digest, m.signature) {
			return nil
		}
	}
	exp := make([]string, len(keys))
	for i := range keys {
		exp[i] = xmldsig.DescribeCert(keys[i].Certificate())
	}
	return &Error{Reason: ReasonSignatureInvalid, Expected: strings.Join(exp, "; "),
		Message: fmt.Sprintf("the %s's query-string signature does not verify with any trusted certificate (%s)", what, strings.Join(exp, "; "))}
}
