// Package idpsync fetches IdP metadata over HTTP and keeps the IdP
// connections that were imported from a URL up to date: a Refresher
// re-fetches each one periodically through admin.Service.RefreshIdP, which
// keeps the last good copy when the URL fails.
package idpsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
)

// Defaults of HTTPFetcher.
const (
	// DefaultMaxSize bounds a fetched document: federation aggregates
	// reach tens of megabytes, a single IdP's metadata a few kilobytes.
	DefaultMaxSize = 16 << 20
	// DefaultTimeout bounds one fetch, redirects and body included.
	DefaultTimeout = 30 * time.Second
	// DefaultMaxRedirects bounds the redirects followed.
	DefaultMaxRedirects = 5
)

// HTTPFetcher fetches metadata over http and https. The zero value uses
// the defaults. It implements admin.MetadataFetcher.
type HTTPFetcher struct {
	// Client sends the requests; nil means a client of its own. Its
	// CheckRedirect is replaced by the fetcher's rules.
	Client *http.Client
	// MaxSize bounds the body in bytes; zero means DefaultMaxSize.
	MaxSize int64
	// Timeout bounds a fetch; zero means DefaultTimeout.
	Timeout time.Duration
	// MaxRedirects bounds the redirects followed; zero means
	// DefaultMaxRedirects, negative none.
	MaxRedirects int
	// UserAgent is sent with requests; empty means "Lanyard".
	UserAgent string
}

var _ admin.MetadataFetcher = (*HTTPFetcher)(nil)

// FetchMetadata GETs rawURL and returns its body. It refuses other schemes
// than http and https (redirects included, and a redirect from https to
// http), bodies over MaxSize, answers other than 200, and gives up after
// Timeout. Errors are *lanyard.Error values that say what to check.
func (f *HTTPFetcher) FetchMetadata(ctx context.Context, rawURL string) ([]byte, error) {
	if err := admin.CheckMetadataURL(rawURL); err != nil {
		return nil, err
	}
	maxSize, timeout, maxRedirects := f.MaxSize, f.Timeout, f.MaxRedirects
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	client := &http.Client{}
	if f.Client != nil {
		c := *f.Client
		client = &c
	}
	client.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > maxRedirects || maxRedirects < 0 {
			return fmt.Errorf("more than %d redirects", max(maxRedirects, 0))
		}
		if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirected to %s, which is not http(s)", req.URL.Redacted())
		}
		if via[0].URL.Scheme == "https" && req.URL.Scheme == "http" {
			return fmt.Errorf("redirected from https to plain http (%s)", req.URL.Redacted())
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, lanyard.Errorf(lanyard.KindInvalid, "metadata URL %q: %v", rawURL, err)
	}
	ua := f.UserAgent
	if ua == "" {
		ua = "Lanyard"
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/samlmetadata+xml, application/xml, text/xml;q=0.9, */*;q=0.1")
	shown := redacted(rawURL)
	resp, err := client.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, unavailable(err, "fetching the metadata from %s took more than %s; check the server answers, or download the file and import it", shown, timeout)
		}
		return nil, unavailable(err, "cannot fetch the metadata from %s: %v; check the URL opens from this server", shown, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, unavailable(nil, "fetching the metadata from %s: the server answered %s, expected 200 OK; check the URL", shown, resp.Status)
	}
	if resp.ContentLength > maxSize {
		return nil, lanyard.Errorf(lanyard.KindInvalid, "the metadata at %s is %d bytes, more than the %d MiB allowed; import the IdP's own metadata rather than a whole federation", shown, resp.ContentLength, maxSize>>20)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSize+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, unavailable(err, "fetching the metadata from %s took more than %s; check the server answers, or download the file and import it", shown, timeout)
		}
		return nil, unavailable(err, "reading the metadata from %s: %v; try again", shown, err)
	}
	if int64(len(body)) > maxSize {
		return nil, lanyard.Errorf(lanyard.KindInvalid, "the metadata at %s is larger than the %d MiB allowed; import the IdP's own metadata rather than a whole federation", shown, maxSize>>20)
	}
	return body, nil
}

func unavailable(cause error, format string, args ...any) error {
	return &lanyard.Error{Kind: lanyard.KindUnavailable, Message: fmt.Sprintf(format, args...), Err: cause}
}

// unwrapURLError drops the "Get "URL":" prefix of a *url.Error, which the
// message already names.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redacted hides a password in a URL.
func redacted(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return rawURL
	}
	return u.Redacted()
}
