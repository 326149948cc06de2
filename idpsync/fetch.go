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
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
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
	// AllowPrivate lets metadata come from loopback, link-local, private
	// and other non-public addresses (an IdP inside the operator's own
	// network). Off, every connection, redirects included, is checked on
	// the address actually dialled, after name resolution, so neither a
	// redirect nor a DNS answer can point a fetch at an internal service.
	AllowPrivate bool

	// public decides which addresses are public; nil means PublicAddr.
	// Tests, which may only use loopback, call some loopback addresses
	// public.
	public func(netip.Addr) bool
}

var _ admin.MetadataFetcher = (*HTTPFetcher)(nil)

// FetchMetadata GETs rawURL and returns its body. It refuses other schemes
// than http and https (redirects included, and a redirect from https to
// http), bodies over MaxSize, answers other than 200, and gives up after
// Timeout. Errors are *lanyard.Error values that say what to check.
func (f *HTTPFetcher) FetchMetadata(ctx context.Context, rawURL string) (body []byte, err error) {
	ctx, span := tracing.Start(ctx, "idp.metadata.fetch", trace.SpanKindClient, attribute.String("url.full", redacted(rawURL)))
	defer func() {
		span.SetAttributes(attribute.Int("lanyard.metadata.bytes", len(body)))
		tracing.Fail(span, err)
		span.End()
	}()
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
	if !f.AllowPrivate {
		public := f.public
		if public == nil {
			public = PublicAddr
		}
		tr, err := publicOnlyTransport(client.Transport, public)
		if err != nil {
			return nil, err
		}
		client.Transport = tr
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
	var notPublic errNotPublic
	if errors.As(err, &notPublic) {
		return nil, lanyard.Errorf(lanyard.KindInvalid, "the metadata URL %s leads to %s, which is not a public address (loopback, link-local, private or reserved): refused, redirects included; for an IdP inside your own network, an operator sets metadata_allow_private=true", shown, notPublic.addr)
	}
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
	body, err = io.ReadAll(io.LimitReader(resp.Body, maxSize+1))
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

// errNotPublic refuses a connection to an address that is not public.
type errNotPublic struct{ addr netip.Addr }

func (e errNotPublic) Error() string {
	return fmt.Sprintf("the address %s is not a public one (loopback, link-local, private or reserved); an operator may allow such IdPs with metadata_allow_private=true", e.addr)
}

// publicOnlyTransport returns a copy of base (an *http.Transport, or nil
// for the default) whose every connection is refused unless it goes to a
// public address. The check runs in the dialer's Control hook, on the
// resolved address about to be connected to: a host name that resolves to
// an internal address, or changes its answer between two lookups (DNS
// rebinding), is refused all the same. Connections go direct: a proxy from
// the environment would hide the address to check.
func publicOnlyTransport(base http.RoundTripper, public func(netip.Addr) bool) (*http.Transport, error) {
	var tr *http.Transport
	switch b := base.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = b.Clone()
	default:
		return nil, lanyard.Errorf(lanyard.KindInternal, "idpsync: cannot check the addresses dialled by a %T", base)
	}
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return err
			}
			a, err := netip.ParseAddr(host)
			if err != nil {
				return fmt.Errorf("dialling %q: not an IP address", address)
			}
			if !public(a) {
				return errNotPublic{a.Unmap()}
			}
			return nil
		},
	}
	tr.DialContext = dialer.DialContext
	tr.Proxy = nil
	return tr, nil
}

// nonPublic are the ranges a metadata fetch may not reach unless allowed,
// beyond what netip's predicates cover: carrier-grade NAT, IETF protocol
// assignments, benchmarking, documentation, NAT64 and the reserved blocks.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("2002::/16"),
}

// PublicAddr reports whether a metadata fetch may connect to a without
// metadata_allow_private: not loopback, link-local, private (RFC 1918,
// unique local), unspecified, multicast, or in a reserved range; an
// IPv4-mapped IPv6 address is judged as the IPv4 address it holds.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
