package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/internal/tracing"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// tracingOptions configure the OpenTelemetry traces; they join the other
// options (flags, LANYARD_* variables, config file keys).
var tracingOptions = []option{
	{"otlp_endpoint", "", "`URL` of an OpenTelemetry collector's OTLP/HTTP receiver, e.g. http://127.0.0.1:4318: serve then sends it traces of requests, logins (ACS, validation, store), IdP metadata fetches and proxied requests, and passes W3C traceparent to the applications (env LANYARD_OTLP_ENDPOINT; default none: no traces, at no cost)"},
}

func init() { options = append(options, tracingOptions...) }

// resolveOTLP checks otlp_endpoint: an http(s) URL of the receiver, to
// which /v1/traces is added when it names no path.
func resolveOTLP(value, source map[string]string, v *lanyard.ValidationError) string {
	raw := strings.TrimSpace(value["otlp_endpoint"])
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		v.Add("%s %q: want the http:// or https:// URL of an OTLP/HTTP receiver, e.g. http://127.0.0.1:4318", source["otlp_endpoint"], maskURL(raw))
		return ""
	}
	if strings.Trim(u.Path, "/") == "" {
		u.Path = "/v1/traces"
	}
	return u.String()
}

// startTracing sends traces to endpoint (when set) until the returned stop
// is called, which flushes the spans still held (for up to 5 seconds).
func startTracing(ctx context.Context, endpoint string, logger *slog.Logger) (stop func(), err error) {
	if endpoint == "" {
		return func() {}, nil
	}
	exporter, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
	if err != nil {
		return nil, fmt.Errorf("otlp_endpoint %s: %w", maskURL(endpoint), err)
	}
	version := "(devel)"
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" {
		version = info.Main.Version
	}
	if releaseVersion != "" {
		version = releaseVersion
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exporter, sdktrace.WithBatchTimeout(time.Second)),
		sdktrace.WithResource(resource.NewSchemaless(
			attribute.String("service.name", "lanyard"),
			attribute.String("service.version", version))),
	)
	tracing.Enable(provider)
	logger.Info("sending traces", "otlp_endpoint", maskURL(endpoint))
	return func() {
		tracing.Disable()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := provider.Shutdown(ctx); err != nil {
			logger.Warn("traces not all sent at shutdown", "err", err)
		}
	}, nil
}
