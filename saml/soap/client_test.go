package soap

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/saml"
)

const envelope = `<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body/></soap11:Envelope>`

// TestClientLimits: the back channel is bounded in time and size and goes
// nowhere but the endpoint it is given.
func TestClientLimits(t *testing.T) {
	const max = 1 << 20
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	defer other.Close()
	release := make(chan struct{})
	defer close(release)
	wait := func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}
	cases := []struct {
		name    string
		handler http.HandlerFunc
		client  *Client
		msg     string // "" accepts
		status  int
	}{
		{"answer", func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.Header.Get("SOAPAction") == "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/xml") {
				http.Error(w, "not SOAP", http.StatusBadRequest)
				return
			}
			_, _ = w.Write([]byte(envelope))
		}, &Client{}, "", 200},
		{"SOAP fault", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = w.Write([]byte(envelope))
		}, &Client{}, "", 500},
		{"oversized body", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat("a", max+1)))
		}, &Client{}, "more than the 1048576 bytes", 0},
		{"body of exactly the bound", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(strings.Repeat("a", max)))
		}, &Client{}, "", 200},
		{"oversized body, chunked", func(w http.ResponseWriter, r *http.Request) {
			for range 80 {
				_, _ = w.Write([]byte(strings.Repeat("a", 1<<10)))
				w.(http.Flusher).Flush()
			}
		}, &Client{MaxResponseSize: 64 << 10}, "more than the 65536", 0},
		{"announced too large", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(1<<30))
			w.WriteHeader(200)
			w.(http.Flusher).Flush()
		}, &Client{}, "announced an answer of 1073741824 bytes", 0},
		{"slow server", func(w http.ResponseWriter, r *http.Request) { wait(r) }, &Client{Timeout: 300 * time.Millisecond}, "did not answer within 300ms", 0},
		{"slow body", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte("<a>"))
			w.(http.Flusher).Flush()
			wait(r)
		}, &Client{Timeout: 300 * time.Millisecond}, "did not finish its answer within 300ms", 0},
		{"redirect 307", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/ars", http.StatusTemporaryRedirect)
		}, &Client{}, "redirects are not followed", 0},
		{"redirect 302", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/ars", http.StatusFound)
		}, &Client{}, "redirects are not followed", 0},
		{"status 404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, &Client{}, "status 404", 0},
		{"status 503", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) }, &Client{}, "status 503", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			start := time.Now()
			body, status, err := c.client.Exchange(context.Background(), srv.URL+"/ars", []byte(envelope), max)
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("took %s", d)
			}
			if c.msg == "" {
				if err != nil || status != c.status || len(body) == 0 {
					t.Fatalf("status %d, %d bytes, %v", status, len(body), err)
				}
				return
			}
			if saml.ReasonOf(err) != saml.ReasonArtifactResolutionFailed || !strings.Contains(err.Error(), c.msg) || body != nil {
				t.Fatalf("got %v, want %s mentioning %q", err, saml.ReasonArtifactResolutionFailed, c.msg)
			}
		})
	}
	if n := elsewhere.Load(); n != 0 {
		t.Fatalf("a redirect was followed %d times", n)
	}
}

// TestClientEndpoints: only https, or plain http to loopback, is asked.
func TestClientEndpoints(t *testing.T) {
	var hits atomic.Int32
	tr := roundTripper(func(r *http.Request) (*http.Response, error) {
		hits.Add(1)
		return nil, fmt.Errorf("not sent")
	})
	c := &Client{Transport: tr}
	for _, u := range []string{"http://idp.example.com/ars", "http://10.1.2.3/ars", "ftp://idp.example.com/ars", "file:///etc/passwd", "/ars", "http://127.0.0.1.example.com/ars"} {
		_, _, err := c.Exchange(context.Background(), u, []byte(envelope), 1<<10)
		if saml.ReasonOf(err) != saml.ReasonArtifactResolutionFailed {
			t.Errorf("%s: %v", u, err)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	for _, u := range []string{"https://idp.example.com/ars", "http://127.0.0.1:1/ars", "http://[::1]:1/ars"} {
		_, _, err := c.Exchange(context.Background(), u, []byte(envelope), 1<<10)
		if err == nil || !strings.Contains(err.Error(), "could not be reached") {
			t.Errorf("%s: %v", u, err)
		}
	}
	if n := hits.Load(); n != 3 {
		t.Fatalf("%d requests sent, want 3", n)
	}
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
