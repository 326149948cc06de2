package gateway

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// rawUpstream is a loopback HTTP/1.1 server whose answers are written by
// hand, byte for byte, to set off each case of the transport.
type rawUpstream struct {
	ln       net.Listener
	conns    atomic.Int32 // connections accepted
	requests atomic.Int32
	mu       sync.Mutex
	open     []net.Conn
}

// startRawUpstream serves every request with answer (the raw bytes to
// write, and whether to close the connection after them).
func startRawUpstream(t *testing.T, answer func(r *http.Request) (string, bool)) *rawUpstream {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := &rawUpstream{ln: ln}
	t.Cleanup(func() {
		ln.Close()
		u.closeAll()
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u.conns.Add(1)
			u.mu.Lock()
			u.open = append(u.open, c)
			u.mu.Unlock()
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					u.requests.Add(1)
					raw, closeAfter := answer(r)
					if _, err := io.WriteString(c, raw); err != nil || closeAfter {
						return
					}
				}
			}()
		}
	}()
	return u
}

// closeAll closes the connections the upstream holds, as a server does
// with idle ones.
func (u *rawUpstream) closeAll() {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, c := range u.open {
		c.Close()
	}
	u.open = nil
}

func (u *rawUpstream) url() string { return "http://" + u.ln.Addr().String() }

// recordingTransport is the next transport: it records what it was given.
type recordingTransport struct{ got atomic.Int32 }

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.got.Add(1)
	return &http.Response{StatusCode: http.StatusTeapot, Body: http.NoBody, Request: r}, nil
}

func newTestTransport() (*upstreamTransport, *recordingTransport) {
	next := &recordingTransport{}
	return newUpstreamTransport(next), next
}

// get sends a request on the transport and reads the whole answer.
func get(t *testing.T, tr http.RoundTripper, method, url string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("%s %s: body: %v", method, url, err)
	}
	return res, string(body)
}

const okAnswer = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

// TestUpstreamTransportKeepsConnections: answers read to their end leave
// their connection for the next request, whatever frames the body;
// answers that end the connection, leave bytes behind or were not read
// to the end do not.
func TestUpstreamTransportKeepsConnections(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		method    string
		answer    string
		closeBody bool // close the first answer's body before reading it
		wantConns int32
	}{
		{"content-length", "GET", okAnswer, false, 1},
		{"chunked with trailer", "GET", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n2\r\nok\r\n0\r\nX-Sum: 1\r\n\r\n", false, 1},
		{"empty", "GET", "HTTP/1.1 204 No Content\r\n\r\n", false, 1},
		{"HEAD", "HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", false, 1},
		{"not modified", "GET", "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n", false, 1},
		{"connection close", "GET", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", false, 2},
		{"HTTP/1.0", "GET", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 2},
		{"body until close", "GET", "HTTP/1.1 200 OK\r\n\r\nok", false, 2},
		{"bytes after the body", "GET", okAnswer + "HTTP/1.1 200 OK\r\n", false, 2},
		{"body not read", "GET", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", true, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			closeAfter := strings.Contains(c.answer, "close") || strings.HasPrefix(c.answer, "HTTP/1.0") || c.name == "body until close"
			u := startRawUpstream(t, func(*http.Request) (string, bool) { return c.answer, closeAfter })
			tr, next := newTestTransport()
			defer tr.CloseIdleConnections()
			if c.closeBody {
				req, _ := http.NewRequest(c.method, u.url()+"/", nil)
				res, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
			} else {
				res, _ := get(t, tr, c.method, u.url()+"/")
				if c.name == "chunked with trailer" && res.Trailer.Get("X-Sum") != "1" {
					t.Errorf("trailer %v, want X-Sum: 1", res.Trailer)
				}
			}
			tr.mu.Lock()
			pooled := int32(len(tr.idle[u.ln.Addr().String()]))
			tr.mu.Unlock()
			if want := 2 - c.wantConns; pooled != want {
				t.Errorf("after the first answer %d connections pooled, want %d", pooled, want)
			}
			res, body := get(t, tr, c.method, u.url()+"/")
			if res.StatusCode >= 400 || (c.method == "GET" && res.StatusCode == 200 && body != "ok" && body != "hello") {
				t.Errorf("second answer: %d %q", res.StatusCode, body)
			}
			if n := u.conns.Load(); n != c.wantConns {
				t.Errorf("2 requests opened %d connections, want %d", n, c.wantConns)
			}
			if next.got.Load() != 0 {
				t.Error("a plain GET went to the next transport")
			}
		})
	}
}

// TestUpstreamTransportRetriesClosedIdleConnection: when the upstream
// closed the idle connections, a GET fails on the first and is sent once
// more on a new one; a request that failed on a new connection is not
// sent again.
func TestUpstreamTransportRetriesClosedIdleConnection(t *testing.T) {
	t.Parallel()
	u := startRawUpstream(t, func(*http.Request) (string, bool) { return okAnswer, false })
	tr, _ := newTestTransport()
	defer tr.CloseIdleConnections()
	// Three connections in the pool.
	var bodies []io.ReadCloser
	for range 3 {
		req, _ := http.NewRequest("GET", u.url()+"/", nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		bodies = append(bodies, res.Body)
	}
	for _, b := range bodies {
		io.ReadAll(b)
		b.Close()
	}
	u.closeAll()
	time.Sleep(50 * time.Millisecond) // the FINs arrive
	if _, body := get(t, tr, "GET", u.url()+"/"); body != "ok" {
		t.Fatalf("after the upstream closed its idle connections: %q", body)
	}
	if n := u.conns.Load(); n != 4 {
		t.Errorf("%d connections, want 4 (3, then 1 new: a closed idle one is seen when taken, or its request fails and is sent again)", n)
	}
	if n := u.requests.Load(); n != 4 {
		t.Errorf("the upstream answered %d requests, want 4", n)
	}

	// An upstream that closes every connection without answering: one
	// attempt on a new connection, no retry.
	dead := startRawUpstream(t, func(*http.Request) (string, bool) { return "", true })
	req, _ := http.NewRequest("GET", dead.url()+"/", nil)
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("no error from an upstream that closes without answering")
	}
	if n := dead.requests.Load(); n != 1 {
		t.Errorf("the request was sent %d times on new connections, want 1", n)
	}
}

// TestUpstreamTransportRefusesDirtyIdleConnection: bytes an upstream
// sends on a connection after its answer ended (more than its
// Content-Length, a 408 before it closes) are never read as the answer to
// the next request, which may be another user's: the connection is
// closed, the request goes on a new one. The family: a complete forged
// answer, a partial one, a single byte, and the bytes arriving in the
// same segment as the answer or after it.
func TestUpstreamTransportRefusesDirtyIdleConnection(t *testing.T) {
	t.Parallel()
	const forged = "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged"
	cases := []struct {
		name      string
		extra     string
		sameWrite bool // the extra bytes in the answer's own write
	}{
		{"forged answer, later", forged, false},
		{"forged answer, same segment", forged, true},
		{"408 before closing, later", "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", false},
		{"partial header, later", "HTTP/1.1 2", false},
		{"one byte, later", "x", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var first atomic.Bool
			u := startRawUpstream(t, func(*http.Request) (string, bool) {
				if first.CompareAndSwap(false, true) && c.sameWrite {
					return okAnswer + c.extra, false
				}
				return okAnswer, false
			})
			tr, _ := newTestTransport()
			defer tr.CloseIdleConnections()
			if _, body := get(t, tr, "GET", u.url()+"/a"); body != "ok" {
				t.Fatalf("first answer %q", body)
			}
			if !c.sameWrite {
				u.mu.Lock()
				_, err := io.WriteString(u.open[0], c.extra)
				u.mu.Unlock()
				if err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(50 * time.Millisecond) // the bytes arrive
			res, body := get(t, tr, "GET", u.url()+"/b")
			if res.StatusCode != http.StatusOK || body != "ok" {
				t.Fatalf("second request answered %d %q: the upstream's stray bytes were read as its answer", res.StatusCode, body)
			}
			if n := u.conns.Load(); n != 2 {
				t.Errorf("%d connections, want 2 (the dirty one closed)", n)
			}
		})
	}
}

// TestUpstreamTransportCancel: a cancelled request (the user went away)
// ends a read in progress and closes the connection; closing a body not
// read to its end does not wait for the rest.
func TestUpstreamTransportCancel(t *testing.T) {
	t.Parallel()
	// An endless chunked body.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer c.Close()
				if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
					return
				}
				io.WriteString(c, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
				for {
					if _, err := io.WriteString(c, "1\r\nx\r\n"); err != nil {
						return
					}
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
	}()
	tr, _ := newTestTransport()
	defer tr.CloseIdleConnections()
	url := "http://" + ln.Addr().String() + "/"

	for _, how := range []string{"cancel", "close"} {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		res, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, res.Body)
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		if how == "cancel" {
			cancel()
		} else {
			res.Body.Close()
		}
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: the endless body ended without an error", how)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: the read goes on", how)
		}
		res.Body.Close()
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("%s: took %v", how, took)
		}
		cancel()
	}
	tr.mu.Lock()
	n := len(tr.idle)
	tr.mu.Unlock()
	if n != 0 {
		t.Errorf("%d connections pooled after cancelled answers, want 0", n)
	}
}

// TestUpstreamTransportRefuses: what http.Transport refuses, the direct
// path refuses too: header names and values that would split the request,
// too many informational answers, an answer header without end.
func TestUpstreamTransportRefuses(t *testing.T) {
	t.Parallel()
	u := startRawUpstream(t, func(r *http.Request) (string, bool) {
		switch r.URL.Path {
		case "/hints":
			return "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + okAnswer, false
		case "/many1xx":
			return strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", 6) + okAnswer, false
		case "/switch":
			return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n", true
		case "/huge":
			return "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", maxUpstreamHeaderBytes+10) + "\r\nContent-Length: 2\r\n\r\nok", true
		}
		return okAnswer, false
	})
	tr, _ := newTestTransport()
	defer tr.CloseIdleConnections()

	for _, h := range []http.Header{
		{"X-A": {"1\r\nX-Lanyard-User: mallory"}},
		{"X-A": {"1\nX"}},
		{"X-A": {"nul\x00"}},
		{"X-A\r\nX-Lanyard-User": {"mallory"}},
		{"X A": {"1"}},
		{"": {"1"}},
		{"X:A": {"1"}},
	} {
		req, _ := http.NewRequest("GET", u.url()+"/", nil)
		req.Header = h
		if _, err := tr.RoundTrip(req); err == nil {
			t.Errorf("header %q was sent", h)
		}
	}
	if n := u.requests.Load(); n != 0 {
		t.Fatalf("the upstream got %d requests with invalid headers", n)
	}

	var hints []int
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if h.Get("Link") == "" {
			t.Error("103 without its Link header")
		}
		hints = append(hints, code)
		return nil
	}})
	req, _ := http.NewRequestWithContext(ctx, "GET", u.url()+"/hints", nil)
	res, err := tr.RoundTrip(req)
	if err != nil || res.StatusCode != 200 || len(hints) != 1 || hints[0] != 103 {
		t.Fatalf("103 then 200: %v, %v, hints %v", res, err, hints)
	}
	io.ReadAll(res.Body)
	res.Body.Close()

	for _, path := range []string{"/many1xx", "/switch", "/huge"} {
		req, _ := http.NewRequest("GET", u.url()+path, nil)
		if res, err := tr.RoundTrip(req); err == nil {
			res.Body.Close()
			t.Errorf("%s: answer %d, want an error", path, res.StatusCode)
		}
	}
}

// TestUpstreamTransportDelegates: requests with a body, upgrades, Expect,
// other methods and https upstreams go to http.Transport.
func TestUpstreamTransportDelegates(t *testing.T) {
	t.Parallel()
	tr, next := newTestTransport()
	mk := func(method, url string, body io.Reader, header ...string) *http.Request {
		r, err := http.NewRequest(method, url, body)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(header); i += 2 {
			r.Header.Set(header[i], header[i+1])
		}
		return r
	}
	for _, r := range []*http.Request{
		mk("POST", "http://127.0.0.1:1/", strings.NewReader("x")),
		mk("POST", "http://127.0.0.1:1/", nil),
		mk("PUT", "http://127.0.0.1:1/", strings.NewReader("x")),
		mk("GET", "http://127.0.0.1:1/", strings.NewReader("x")),
		mk("OPTIONS", "http://127.0.0.1:1/", nil),
		mk("GET", "https://127.0.0.1:1/", nil),
		mk("GET", "http://127.0.0.1:1/ws", nil, "Connection", "Upgrade", "Upgrade", "websocket"),
		mk("GET", "http://127.0.0.1:1/", nil, "Expect", "100-continue"),
	} {
		before := next.got.Load()
		res, err := tr.RoundTrip(r)
		if err != nil || res.StatusCode != http.StatusTeapot || next.got.Load() != before+1 {
			t.Errorf("%s %s (%v): not given to http.Transport: %v %v", r.Method, r.URL, r.Header, res, err)
		}
	}
}

// TestUpstreamTransportConcurrent: many requests at once share the pool
// (run with -race).
func TestUpstreamTransportConcurrent(t *testing.T) {
	t.Parallel()
	u := startRawUpstream(t, func(*http.Request) (string, bool) { return okAnswer, false })
	tr, _ := newTestTransport()
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				req, _ := http.NewRequest("GET", u.url()+"/", nil)
				res, err := tr.RoundTrip(req)
				if err != nil {
					errs <- err
					return
				}
				b, err := io.ReadAll(res.Body)
				res.Body.Close()
				if err != nil || string(b) != "ok" {
					errs <- errors.Join(err, errors.New(string(b)))
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := u.conns.Load(); n > 16 {
		t.Errorf("800 requests from 16 goroutines opened %d connections, want at most 16", n)
	}
}

// TestHeaderByteClasses: header names are RFC 9110 tokens; values refuse
// the controls (but tab) and DEL.
func TestHeaderByteClasses(t *testing.T) {
	t.Parallel()
	const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	for c := range 256 {
		if got, want := validHeaderName(string(rune(c))[:1]), strings.IndexByte(tchar, byte(c)) >= 0; c < 0x80 && got != want {
			t.Errorf("name byte %#x: valid %v, want %v", c, got, want)
		}
		if c >= 0x80 && validHeaderName(string([]byte{byte(c)})) {
			t.Errorf("name byte %#x taken for a token", c)
		}
		err := checkHeader(http.Header{"X": {"a" + string([]byte{byte(c)}) + "b"}})
		if want := c == '\t' || (c >= ' ' && c != 0x7f); (err == nil) != want {
			t.Errorf("value byte %#x: error %v, want valid %v", c, err, want)
		}
	}
}
