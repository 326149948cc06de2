package gateway

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// upstreamTransport carries proxied requests. A request without a body
// (GET or HEAD, no upgrade, no Expect) to a plain-HTTP upstream is written
// and its answer read on the calling goroutine, over a pooled keep-alive
// connection: no hand-off to the connection's reader and writer
// goroutines of http.Transport, which cost a proxied request about a
// fifth of its CPU time. Every other request (bodies, WebSocket upgrades,
// https upstreams, HTTP/2) goes through next, an http.Transport.
//
// It writes requests with http.Request.Write and reads answers with
// http.ReadResponse, the framing net/http's own client uses, and keeps
// the client's guarantees that matter here: header names and values are
// checked before anything is sent, answer headers are bounded in size, a
// cancelled request (the user went away) closes its connection, a
// connection goes back to the pool only once its answer was read to the
// end, and a request that failed on a reused connection before any byte
// of the answer came back (the upstream closed it while idle) is sent
// again once on a new connection.
type upstreamTransport struct {
	next        http.RoundTripper
	dial        func(ctx context.Context, network, addr string) (net.Conn, error)
	maxIdle     int // idle connections kept per upstream
	idleTimeout time.Duration

	mu       sync.Mutex
	idle     map[string][]*upstreamConn // by host:port, most recently used last
	sweeping bool                       // a sweep of idle connections is scheduled
}

// Limits of the answers read on the direct path, as http.Transport's.
const (
	maxUpstreamHeaderBytes = 10 << 20
	maxUpstream1xx         = 5
)

func newUpstreamTransport(next http.RoundTripper) *upstreamTransport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &upstreamTransport{next: next, dial: d.DialContext, maxIdle: 512, idleTimeout: 90 * time.Second,
		idle: map[string][]*upstreamConn{}}
}

// direct reports whether r takes the direct path.
func direct(r *http.Request) bool {
	if !directPath || r.URL.Scheme != "http" || (r.Method != http.MethodGet && r.Method != http.MethodHead) ||
		(r.Body != nil && r.Body != http.NoBody) || r.ContentLength > 0 || len(r.TransferEncoding) > 0 || r.Close {
		return false
	}
	for _, name := range [...]string{"Upgrade", "Expect", "Connection"} {
		if len(r.Header[name]) > 0 {
			return false
		}
	}
	return true
}

func (t *upstreamTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !direct(r) {
		return t.next.RoundTrip(r)
	}
	if err := checkHeader(r.Header); err != nil {
		return nil, err
	}
	key := r.URL.Host
	if r.URL.Port() == "" {
		key = net.JoinHostPort(r.URL.Hostname(), "80")
	}
	ctx := r.Context()
	for fresh := false; ; fresh = true {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, reused, err := t.conn(ctx, key, fresh)
		if err != nil {
			return nil, err
		}
		res, err := c.roundTrip(ctx, r)
		if err == nil {
			return res, nil
		}
		c.nc.Close()
		if !reused || c.read > 0 || ctx.Err() != nil {
			return nil, err
		}
		// The upstream closed the idle connection: the others of the
		// pool may be as old; try once on a new one.
		t.dropIdle(key)
	}
}

// conn returns an idle connection to key (unless fresh) or a new one,
// and whether it was idle. An idle connection on which the upstream sent
// anything since its last answer is closed, never used (idleConnClean).
func (t *upstreamTransport) conn(ctx context.Context, key string, fresh bool) (*upstreamConn, bool, error) {
	for !fresh {
		t.mu.Lock()
		list := t.idle[key]
		if len(list) == 0 {
			t.mu.Unlock()
			break
		}
		c := list[len(list)-1]
		list[len(list)-1] = nil
		t.idle[key] = list[:len(list)-1]
		t.mu.Unlock()
		if idleConnClean(c.nc) {
			return c, true, nil
		}
		c.nc.Close()
	}
	nc, err := t.dial(ctx, "tcp", key)
	if err != nil {
		return nil, false, err
	}
	c := &upstreamConn{t: t, key: key, nc: nc}
	c.br = bufio.NewReader(c)
	c.bw = bufio.NewWriter(nc)
	return c, false, nil
}

// put returns c to the pool, or closes it when the pool is full.
func (t *upstreamTransport) put(c *upstreamConn) {
	c.idleSince = time.Now()
	t.mu.Lock()
	list := t.idle[c.key]
	if len(list) >= t.maxIdle {
		t.mu.Unlock()
		c.nc.Close()
		return
	}
	t.idle[c.key] = append(list, c)
	if !t.sweeping {
		t.sweeping = true
		time.AfterFunc(t.idleTimeout/2, t.sweep)
	}
	t.mu.Unlock()
}

// sweep closes the connections idle for longer than idleTimeout, and
// runs again while any are idle.
func (t *upstreamTransport) sweep() {
	cutoff := time.Now().Add(-t.idleTimeout)
	var stale []*upstreamConn
	t.mu.Lock()
	for key, list := range t.idle {
		n := 0 // the oldest come first
		for n < len(list) && list[n].idleSince.Before(cutoff) {
			stale = append(stale, list[n])
			n++
		}
		if n == len(list) {
			delete(t.idle, key)
			continue
		}
		t.idle[key] = append(list[:0:0], list[n:]...)
	}
	t.sweeping = len(t.idle) > 0
	if t.sweeping {
		time.AfterFunc(t.idleTimeout/2, t.sweep)
	}
	t.mu.Unlock()
	for _, c := range stale {
		c.nc.Close()
	}
}

// dropIdle closes the idle connections to key.
func (t *upstreamTransport) dropIdle(key string) {
	t.mu.Lock()
	list := t.idle[key]
	delete(t.idle, key)
	t.mu.Unlock()
	for _, c := range list {
		c.nc.Close()
	}
}

// CloseIdleConnections closes the idle connections of both paths.
func (t *upstreamTransport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = map[string][]*upstreamConn{}
	t.mu.Unlock()
	for _, list := range idle {
		for _, c := range list {
			c.nc.Close()
		}
	}
	if ci, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// upstreamConn is a keep-alive connection of the direct path. Its reader
// counts what it read (a request is sent again only when nothing was)
// and bounds what an answer's header may take.
type upstreamConn struct {
	t         *upstreamTransport
	key       string
	nc        net.Conn
	br        *bufio.Reader
	bw        *bufio.Writer
	read      int64 // bytes read for the current request
	limit     int64 // bytes the current answer's header may still take; < 0: no limit (the body)
	idleSince time.Time
}

var errUpstreamHeaderTooLarge = fmt.Errorf("gateway: the upstream's answer header is larger than %d bytes", maxUpstreamHeaderBytes)

func (c *upstreamConn) Read(p []byte) (int, error) {
	if c.limit >= 0 {
		if c.limit == 0 {
			return 0, errUpstreamHeaderTooLarge
		}
		if int64(len(p)) > c.limit {
			p = p[:c.limit]
		}
	}
	n, err := c.nc.Read(p)
	c.read += int64(n)
	if c.limit >= 0 {
		c.limit -= int64(n)
	}
	return n, err
}

// longAgo is a deadline in the past: it stops a blocked read or write.
var longAgo = time.Unix(1, 0)

// roundTrip sends r on c and reads the answer's header. The answer's body
// gives c back to the pool once read to the end.
func (c *upstreamConn) roundTrip(ctx context.Context, r *http.Request) (*http.Response, error) {
	c.read = 0
	c.limit = maxUpstreamHeaderBytes
	stop := func() bool { return true }
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, func() { c.nc.SetDeadline(longAgo) })
	}
	if err := r.Write(c.bw); err != nil {
		stop()
		return nil, err
	}
	if err := c.bw.Flush(); err != nil {
		stop()
		return nil, err
	}
	trace := httptrace.ContextClientTrace(ctx)
	for n1xx := 0; ; {
		res, err := http.ReadResponse(c.br, r)
		if err != nil {
			stop()
			if ctx.Err() != nil {
				err = ctx.Err()
			}
			return nil, err
		}
		if res.StatusCode == http.StatusSwitchingProtocols {
			stop()
			return nil, errors.New("gateway: the upstream switched protocols on a request without Upgrade")
		}
		if res.StatusCode >= 200 {
			c.limit = -1
			res.Body = &upstreamBody{ReadCloser: res.Body, c: c, res: res, stop: stop}
			return res, nil
		}
		// An informational answer (100, 103 Early Hints): passed on, and
		// the limits start again for the next header.
		if n1xx++; n1xx > maxUpstream1xx {
			stop()
			return nil, errors.New("gateway: too many 1xx answers from the upstream")
		}
		c.limit = maxUpstreamHeaderBytes
		if trace != nil && trace.Got1xxResponse != nil {
			if err := trace.Got1xxResponse(res.StatusCode, textproto.MIMEHeader(res.Header)); err != nil {
				stop()
				return nil, err
			}
		}
	}
}

// upstreamBody is the body of an answer on the direct path: read to the
// end, it gives its connection back to the pool; closed before, or after
// a cancellation, it closes the connection (which also ends a Read in
// progress).
type upstreamBody struct {
	io.ReadCloser
	c    *upstreamConn
	res  *http.Response
	stop func() bool // stops the cancellation watch; false if it fired
	mu   sync.Mutex
	done bool
}

func (b *upstreamBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.finish(true)
	}
	return n, err
}

func (b *upstreamBody) Close() error {
	b.finish(false)
	return nil
}

// finish ends the answer once: the connection goes back to the pool when
// the body was read to its end, nothing more was sent, and the upstream
// keeps it open; else it is closed, before the body is, so that closing
// the body does not wait to read the rest of it.
func (b *upstreamBody) finish(atEOF bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return
	}
	b.done = true
	c := b.c
	watching := b.stop()
	if atEOF && watching && !b.res.Close && c.br.Buffered() == 0 {
		b.ReadCloser.Close()
		c.t.put(c)
		return
	}
	c.nc.Close()
	b.ReadCloser.Close()
}

// checkHeader refuses a header that http.Transport would refuse: a name
// that is not a token, or a value with control characters.
func checkHeader(h http.Header) error {
	for name, values := range h {
		if !validHeaderName(name) {
			return fmt.Errorf("gateway: invalid header name %q", name)
		}
		for _, v := range values {
			for i := 0; i < len(v); i++ {
				if headerBytes[v[i]]&valueByte == 0 {
					return fmt.Errorf("gateway: invalid value of header %q", name)
				}
			}
		}
	}
	return nil
}

// validHeaderName: a non-empty token (RFC 9110, section 5.6.2).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if headerBytes[name[i]]&tokenByte == 0 {
			return false
		}
	}
	return true
}

// headerBytes classes each byte: tokenByte for the characters of a token
// (a header name), valueByte for those a header value may hold (all but
// the controls other than tab; bytes from 0x80 are obs-text).
var headerBytes = func() (t [256]uint8) {
	for c := range 256 {
		if (c >= ' ' || c == '\t') && c != 0x7f {
			t[c] |= valueByte
		}
		if c > ' ' && c < 0x7f && !strings.ContainsRune(`()<>@,;:\"/[]?={}`, rune(c)) {
			t[c] |= tokenByte
		}
	}
	return t
}()

const (
	tokenByte = 1 << iota
	valueByte
)
