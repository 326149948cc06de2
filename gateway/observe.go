package gateway

import (
	"net/http"
	"time"
)

// Observer receives one call per request a route answered: proxied,
// refused, or sent to sign in. Package web turns the calls into
// Prometheus metrics.
type Observer interface {
	ObserveProxy(route string, status int, took time.Duration)
}

// SetObserver makes o receive the proxy's observations; nil stops them.
func (g *Gateway) SetObserver(o Observer) {
	if o == nil {
		g.observer.Store(nil)
		return
	}
	g.observer.Store(&o)
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (which the reverse proxy uses to
// flush and to take over WebSocket connections) reach the real writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// serveObserved serves the request with the route, reporting its status
// and duration to the observer when there is one.
func (g *Gateway) serveObserved(w http.ResponseWriter, r *http.Request, rt *route) {
	o := g.observer.Load()
	if o == nil {
		g.serveRoute(w, r, rt)
		return
	}
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	g.serveRoute(sw, r, rt)
	status := sw.status
	if status == 0 {
		status = http.StatusOK
		if r.Header.Get("Upgrade") != "" {
			// The proxy took the connection over and answered 101 itself.
			status = http.StatusSwitchingProtocols
		}
	}
	(*o).ObserveProxy(rt.Name, status, time.Since(start))
}
