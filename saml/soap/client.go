// Package soap is the HTTP side of the SAML SOAP binding (SAML Bindings
// 3.2) for the artifact binding's back channel: a saml.BackChannel that
// posts one envelope to an IdP's endpoint and reads one bounded answer.
package soap

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/lanyard-sso/lanyard/saml"
)

// DefaultTimeout bounds a whole exchange (connection, request, answer):
// the user's browser waits on it.
const DefaultTimeout = 10 * time.Second

// Client sends SOAP 1.1 requests to an IdP. The zero value is ready to
// use: https only (plain http only to a loopback address:
// saml.CheckSOAPEndpoint), no redirects, DefaultTimeout, answers bounded by
// the size the caller gives. Safe for concurrent use.
type Client struct {
	// Transport carries the requests; nil means a clone of
	// http.DefaultTransport (its proxy settings included).
	Transport http.RoundTripper
	// Timeout bounds one exchange; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxResponseSize, when set, bounds the answer's body in bytes instead
	// of the caller's bound.
	MaxResponseSize int
}

var _ saml.BackChannel = (*Client)(nil)

var defaultTransport http.RoundTripper = func() http.RoundTripper {
	if t, ok := http.DefaultTransport.(*http.Transport); ok {
		t = t.Clone()
		t.ResponseHeaderTimeout = DefaultTimeout
		return t
	}
	return http.DefaultTransport
}()

func failed(format string, args ...any) *saml.Error {
	return &saml.Error{Reason: saml.ReasonArtifactResolutionFailed, Message: fmt.Sprintf(format, args...)}
}

// Exchange implements saml.BackChannel: it posts envelope to location and
// returns the answer's body (at most max bytes) and status (200, or 500
// for a SOAP fault). Every failure is a *saml.Error with reason
// saml.ReasonArtifactResolutionFailed that says what went wrong.
func (c *Client) Exchange(ctx context.Context, location string, envelope []byte, max int) ([]byte, int, error) {
	if err := saml.CheckSOAPEndpoint(location); err != nil {
		return nil, 0, err
	}
	timeout := DefaultTimeout
	if c.Timeout > 0 {
		timeout = c.Timeout
	}
	if c.MaxResponseSize > 0 {
		max = c.MaxResponseSize
	}
	transport := c.Transport
	if transport == nil {
		transport = defaultTransport
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
		e := failed("cannot build the request to %q", location)
		e.Err = err
		return nil, 0, e
	}
	where := req.URL.Redacted()
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("Accept", "text/xml")
	// SAML Bindings 3.2.3.1.
	req.Header.Set("SOAPAction", `"http://www.oasis-open.org/committees/security"`)
	resp, err := hc.Do(req)
	if err != nil {
		if timedOut(err) {
			return nil, 0, failed("the IdP's ArtifactResolutionService %q did not answer within %s", where, timeout)
		}
		e := failed("the IdP's ArtifactResolutionService %q could not be reached", where)
		e.Err = err
		return nil, 0, e
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		e := failed("the IdP's ArtifactResolutionService %q answered with a redirect (status %d); redirects are not followed: publish the final URL in the IdP's metadata", where, resp.StatusCode)
		e.Got = resp.Header.Get("Location")
		return nil, 0, e
	}
	if cl := resp.ContentLength; cl > int64(max) {
		return nil, 0, failed("the IdP's ArtifactResolutionService announced an answer of %d bytes, more than the %d allowed", cl, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(max)+1))
	if err != nil {
		if timedOut(err) {
			return nil, 0, failed("the IdP's ArtifactResolutionService %q did not finish its answer within %s", where, timeout)
		}
		e := failed("reading the answer of the IdP's ArtifactResolutionService %q", where)
		e.Err = err
		return nil, 0, e
	}
	if len(body) > max {
		return nil, 0, failed("the answer of the IdP's ArtifactResolutionService is more than the %d bytes allowed", max)
	}
	// A SOAP fault comes with status 500 (SOAP 1.1 section 6.2): the body
	// says why, and is read by the caller.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusInternalServerError {
		return nil, 0, failed("the IdP's ArtifactResolutionService %q answered with status %d", where, resp.StatusCode)
	}
	return body, resp.StatusCode, nil
}

func timedOut(err error) bool {
	var ue *url.Error
	return errors.As(err, &ue) && ue.Timeout() || errors.Is(err, context.DeadlineExceeded)
}
