package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/lanyard-sso/lanyard/web/internal/ui"
)

// responseRecorder remembers the status a handler wrote.
type responseRecorder struct {
	http.ResponseWriter
	status  int
	written bool
}

func (w *responseRecorder) WriteHeader(status int) {
	if !w.written {
		w.status = status
		w.written = true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseRecorder) Write(b []byte) (int, error) {
	if !w.written {
		w.status = http.StatusOK
		w.written = true
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *responseRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs every request and counts it in the metrics. The log names the
// route pattern and the path only: never the query (reset tokens travel
// there), cookies or form values.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &responseRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		took := time.Since(start)
		// ServeMux sets r.Pattern on this very request when it routes it.
		s.metrics.observeRequest(r.Pattern, r.Method, rec.status, took)
		level := levelFor(r.Pattern, rec.status)
		s.logger.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("route", r.Pattern),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status),
			slog.Duration("duration", took),
			slog.String("client", s.kit.ClientAddress(r)),
		)
	})
}

// recoverPanics turns a panicking handler into a 500 page and a logged stack,
// instead of a dropped connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := w.(*responseRecorder)
		if !ok {
			rec = &responseRecorder{ResponseWriter: w, status: http.StatusOK}
		}
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				// The handler asked for the connection to be dropped.
				panic(v)
			}
			s.logger.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			if rec.written {
				// Too late for an error page; the client sees a cut response.
				return
			}
			s.kit.RenderError(rec, r, fmt.Errorf("panic: %v", v))
		}()
		next.ServeHTTP(rec, r)
	})
}

// securityHeaders sets the headers every response carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ui.ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// requireReady answers 503 with the "starting" page until SetReady, for the
// endpoints that need a migrated database and complete wiring.
func (s *Server) requireReady(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.ready.Load() {
			s.kit.RenderStarting(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// levelFor logs server failures louder than refusals and successes, and
// the probes that monitoring sends every few seconds quieter, unless they
// fail.
func levelFor(pattern string, status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelWarn
	case pattern == probeHealthz || pattern == probeReadyz || pattern == probeMetrics:
		return slog.LevelDebug
	case pattern == routeVerify && status < 500:
		// Proxies ask before every request an application receives.
		return slog.LevelDebug
	}
	return slog.LevelInfo
}
