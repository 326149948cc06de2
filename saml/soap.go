package saml

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The SAML SOAP binding (SAML Bindings 3.2) as the artifact resolution
// back channel needs it: one request, one answer, to an endpoint taken
// from the IdP's metadata, never from a message.

const nsSOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"

// Defaults of SOAPClient.
const (
	// DefaultSOAPTimeout bounds a whole exchange (connection, request,
	// answer): the user's browser waits on it.
	DefaultSOAPTimeout = 10 * time.Second
	// soapEnvelopeAllowance is what a SOAP answer may carry beyond the
	// SAML message size bound (envelope, ArtifactResponse and its
	// signature).
	soapEnvelopeAllowance = 64 << 10
)

// SOAPClient sends SOAP 1.1 requests to an IdP. The zero value is ready to
// use: https only (plain http only to a loopback address), no redirects,
// DefaultSOAPTimeout, answers bounded by the SP's MaxSize plus the
// envelope.
type SOAPClient struct {
	// Transport carries the requests; nil means a clone of
	// http.DefaultTransport (its proxy settings included).
	Transport http.RoundTripper
	// Timeout bounds one exchange; zero means DefaultSOAPTimeout.
	Timeout time.Duration
	// MaxResponseSize bounds the answer's body in bytes; zero means the
	// SP's MaxSize plus an allowance for the envelope.
	MaxResponseSize int
}

// CheckSOAPEndpoint says whether Lanyard may send a back-channel request to
// the URL: https, or plain http to a loopback address (an IdP on the same
// host, where TLS would protect nothing from the network). Anything else
// would send the signed request, and trust the answer's channel, in clear.
func CheckSOAPEndpoint(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService location %q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return nil
		}
		return errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService %q is plain http; Lanyard resolves artifacts over https only (plain http only on a loopback address): publish an https endpoint in the IdP's metadata", u.Redacted())
	}
	return errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService %q has scheme %q; Lanyard resolves artifacts over https only", u.Redacted(), u.Scheme)
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// exchange posts the SOAP envelope to location and returns the answer's
// body (at most max bytes) and status (200, or 500 for a SOAP fault).
// Every failure is a *Error with reason ReasonArtifactResolutionFailed
// that says what went wrong.
func (c *SOAPClient) exchange(ctx context.Context, location string, envelope []byte, max int) ([]byte, int, error) {
	if err := CheckSOAPEndpoint(location); err != nil {
		return nil, 0, err
	}
	timeout := DefaultSOAPTimeout
	if c != nil && c.Timeout > 0 {
		timeout = c.Timeout
	}
	if c != nil && c.MaxResponseSize > 0 {
		max = c.MaxResponseSize
	}
	var transport http.RoundTripper
	if c != nil && c.Transport != nil {
		transport = c.Transport
	} else {
		transport = defaultSOAPTransport
	}
	hc := &http.Client{
		Transport: transport,
		Timeout:   timeout,
		// A redirect would send the request where the metadata does not
		// say; the 3xx answer is refused below.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, location, bytes.NewReader(envelope))
	if err != nil {
		return nil, 0, &Error{Reason: ReasonArtifactResolutionFailed, Message: fmt.Sprintf("cannot build the request to %q", location), Err: err}
	}
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	// SAML Bindings 3.2.3.1.
	req.Header.Set("SOAPAction", `"http://www.oasis-open.org/committees/security"`)
	resp, err := hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return nil, 0, errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService %q did not answer within %s", req.URL.Redacted(), timeout)
		}
		return nil, 0, &Error{Reason: ReasonArtifactResolutionFailed, Message: fmt.Sprintf("the IdP's ArtifactResolutionService %q could not be reached", req.URL.Redacted()), Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return nil, 0, &Error{Reason: ReasonArtifactResolutionFailed, Got: resp.Header.Get("Location"),
			Message: fmt.Sprintf("the IdP's ArtifactResolutionService %q answered with a redirect (status %d); redirects are not followed: publish the final URL in the IdP's metadata", req.URL.Redacted(), resp.StatusCode)}
	}
	if cl := resp.ContentLength; cl > int64(max) {
		return nil, 0, errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService announced an answer of %d bytes, more than the %d allowed", cl, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() || errors.Is(err, context.DeadlineExceeded) {
			return nil, 0, errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService %q did not finish its answer within %s", req.URL.Redacted(), timeout)
		}
		return nil, 0, &Error{Reason: ReasonArtifactResolutionFailed, Message: fmt.Sprintf("reading the answer of the IdP's ArtifactResolutionService %q", req.URL.Redacted()), Err: err}
	}
	if len(body) > max {
		return nil, 0, errorf(ReasonArtifactResolutionFailed, "the answer of the IdP's ArtifactResolutionService is more than the %d bytes allowed", max)
	}
	// A SOAP fault comes with status 500 (SOAP 1.1 section 6.2): the body
	// says why, and is read by the caller.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusInternalServerError {
		return nil, 0, errorf(ReasonArtifactResolutionFailed, "the IdP's ArtifactResolutionService %q answered with status %d", req.URL.Redacted(), resp.StatusCode)
	}
	return body, resp.StatusCode, nil
}

var defaultSOAPTransport http.RoundTripper = func() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.ResponseHeaderTimeout = DefaultSOAPTimeout
		return t
	}
	return http.DefaultTransport
}()

// soapBody parses a SOAP 1.1 answer and returns its document and the
// single element of its Body. A Fault is an error that quotes it.
func soapBody(body []byte, max int) (*document, *node, error) {
	doc, err := parseXML(body, parseLimits{maxSize: max})
	if err != nil {
		return nil, nil, err
	}
	env := doc.root
	if !env.is(nsSOAP11, "Envelope") {
		doc.release()
		return nil, nil, errorf(ReasonMalformed, "the back-channel answer is not a SOAP 1.1 Envelope: got <%s> in namespace %q", env.local, env.space)
	}
	var soapBody *node
	for c := env.first; c != nil; c = c.next {
		switch {
		case c.kind != kindElement:
		case c.is(nsSOAP11, "Header") && soapBody == nil:
			// SOAP 1.1 section 4.2.3: a header we must understand and do
			// not is a failure.
			for h := c.first; h != nil; h = h.next {
				if h.kind == kindElement {
					for i := range h.attrs {
						if a := h.attrs[i]; a.space == nsSOAP11 && a.local == "mustUnderstand" && strings.TrimSpace(a.value) == "1" {
							doc.release()
							return nil, nil, errorf(ReasonMalformed, "the SOAP answer carries a header <%s> marked mustUnderstand, which Lanyard does not understand", h.local)
						}
					}
				}
			}
		case c.is(nsSOAP11, "Body") && soapBody == nil:
			soapBody = c
		default:
			doc.release()
			return nil, nil, errorf(ReasonMalformed, "the SOAP Envelope holds an unexpected <%s> (a SOAP 1.1 Envelope holds at most one Header, then one Body)", c.local)
		}
	}
	if soapBody == nil {
		doc.release()
		return nil, nil, errorf(ReasonMalformed, "the SOAP Envelope has no Body")
	}
	var msg *node
	for c := soapBody.first; c != nil; c = c.next {
		if c.kind != kindElement {
			continue
		}
		if msg != nil {
			doc.release()
			return nil, nil, errorf(ReasonMalformed, "the SOAP Body holds more than one element; SAML Bindings 3.2.3.3 allows exactly one")
		}
		msg = c
	}
	if msg == nil {
		doc.release()
		return nil, nil, errorf(ReasonMalformed, "the SOAP Body is empty")
	}
	if msg.is(nsSOAP11, "Fault") {
		code, text := "", ""
		if n := msg.child("", "faultcode"); n != nil {
			code = n.trimmedText()
		}
		if n := msg.child("", "faultstring"); n != nil {
			text = n.trimmedText()
		}
		doc.release()
		return nil, nil, &Error{Reason: ReasonArtifactResolutionFailed, Got: code,
			Message: fmt.Sprintf("the IdP's ArtifactResolutionService answered with a SOAP fault %q: %q", truncate(code, 100), truncate(text, 300))}
	}
	return doc, msg, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
