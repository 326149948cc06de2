package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/tenantcfg"
)

// gatewayConfig is the configuration of forward-auth, the reverse proxy
// and the identity tokens (keys routes, session_cache_ttl,
// identity_token_ttl, signing_key_rotation).
type gatewayConfig struct {
	// Routes are the reverse proxy routes of the config file (a JSON list
	// under "routes"; in a flag or environment variable, its JSON text).
	// Routes added with 'lanyard route add' are kept in the store and
	// replace a route of the same name here.
	Routes []lanyard.ProxyRoute
	// SessionCacheTTL bounds how stale a session check may be: a session
	// ended on another node stops working within it. Default 2s.
	SessionCacheTTL time.Duration
	// SessionCacheBytes bounds the memory of the session cache. Default
	// 64 MiB.
	SessionCacheBytes int64
	// TokenTTL is the lifetime of the identity tokens (X-Lanyard-JWT).
	// Default 5m.
	TokenTTL time.Duration
	// KeyRotation is how long a token signing key signs. Default 24h.
	KeyRotation time.Duration
	// TrustedHosts are the hosts of applications behind nginx, Traefik or
	// Caddy (forward-auth) on a host other than Lanyard's, to which a
	// sign-in may be handed off. Route hosts are trusted already.
	TrustedHosts []string
	// AdminHost is the host of admin_base_url: the only host that serves
	// the admin UI (/admin/) and API (/api/), where no route is proxied.
	// Empty: they are on Lanyard's host.
	AdminHost string
}

// gatewayOptions are the configuration options of the gateway, appended
// to options.
var gatewayOptions = []option{
	{"routes", "", "reverse proxy `routes`: in the config file a list of {name, host, path_prefix, upstream, tenant, roles, bearer_token, strip_prefix}; as flag or env LANYARD_ROUTES its JSON text"},
	{"session_cache_ttl", "2s", "how long a session check is answered from memory: a session ended elsewhere stops within this `duration` (env LANYARD_SESSION_CACHE_TTL)"},
	{"session_cache_mb", "64", "memory, in `megabytes`, the session cache of forward-auth and the proxy may hold (about 3 KB per session in use); beyond, older entries are dropped; the identity tokens kept for reuse take at most a quarter more (env LANYARD_SESSION_CACHE_MB)"},
	{"identity_token_ttl", "5m", "lifetime `duration` of the identity tokens sent to applications as X-Lanyard-JWT (env LANYARD_IDENTITY_TOKEN_TTL)"},
	{"signing_key_rotation", "24h", "how long an identity token signing key signs before the next one takes over, `duration` (env LANYARD_SIGNING_KEY_ROTATION)"},
	{"trusted_hosts", "", "comma-separated `origins` (https://app.example.com:8443) or hosts (taking the base URL's scheme) of forward-auth applications on hosts other than Lanyard's, to which a sign-in may be handed off; compared whole, scheme, host and port (env LANYARD_TRUSTED_HOSTS; route hosts are trusted already)"},
	{"admin_base_url", "", "`URL` of an origin of its own for the admin UI and API (e.g. https://sso-admin.example.com, pointing at this server); they then answer there only, and no route is proxied there (env LANYARD_ADMIN_BASE_URL)"},
}

// resolveGateway reads the gateway options from the resolved values,
// adding every problem to v.
func resolveGateway(value, source map[string]string, v *lanyard.ValidationError) gatewayConfig {
	var c gatewayConfig
	duration := func(key string, min time.Duration) time.Duration {
		d, err := time.ParseDuration(value[key])
		if err != nil || d < min {
			v.Add("%s %q: want a duration of at least %s, e.g. %s", source[key], value[key], min, findOption(key).def)
		}
		return d
	}
	c.SessionCacheTTL = duration("session_cache_ttl", 100*time.Millisecond)
	if mb, err := strconv.ParseInt(value["session_cache_mb"], 10, 32); err != nil || mb < 1 {
		v.Add("%s %q: a whole number of megabytes, at least 1", source["session_cache_mb"], value["session_cache_mb"])
	} else {
		c.SessionCacheBytes = mb << 20
	}
	c.TokenTTL = duration("identity_token_ttl", 30*time.Second)
	c.KeyRotation = duration("signing_key_rotation", time.Hour)
	for _, h := range strings.Split(value["trusted_hosts"], ",") {
		if h = strings.TrimSpace(h); h == "" {
			continue
		} else if _, err := gateway.TrustedOrigin(h, "https"); err != nil && !strings.HasPrefix(h, "http://") {
			v.Add("%s: %v", source["trusted_hosts"], err)
		}
		c.TrustedHosts = append(c.TrustedHosts, h)
	}
	if raw := strings.TrimSpace(value["admin_base_url"]); raw != "" {
		if u, err := url.Parse(raw); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" {
			v.Add("%s %q: want an origin such as https://sso-admin.example.com", source["admin_base_url"], raw)
		} else if o, ok := lanyard.CanonicalOrigin(u.Scheme + "://" + u.Host); ok {
			_, c.AdminHost, _ = strings.Cut(o, "://")
		} else {
			v.Add("%s %q: want an origin such as https://sso-admin.example.com (ASCII host, punycode for international names)", source["admin_base_url"], raw)
		}
	}
	if raw := strings.TrimSpace(value["routes"]); raw != "" {
		if err := json.Unmarshal([]byte(raw), &c.Routes); err != nil {
			v.Add("%s: want a JSON list of routes like [{\"name\": \"wiki\", \"host\": \"wiki.example.com\", \"upstream\": \"http://127.0.0.1:3000\"}]: %v", source["routes"], err)
		}
		for i := range c.Routes {
			r := &c.Routes[i]
			r.Normalize()
			if err := r.Validate(); err != nil {
				v.Add("%s: route %q: %s", source["routes"], r.Name, lanyard.ErrorMessage(err))
			}
		}
	}
	return c
}

func findOption(key string) option {
	for _, o := range options {
		if o.key == key {
			return o
		}
	}
	return option{}
}

// gatewayServer is the gateway of a running serve: the session cache, the
// key ring and the proxy, with their background jobs.
type gatewayServer struct {
	gateway  *gateway.Gateway
	sessions *session.Cache
	keys     *identity.KeyRing
	logger   *slog.Logger
}

// newGateway builds the gateway over db. Its background jobs run with
// run, once the store is migrated.
func newGateway(cfg config, db *sqlstore.DB, logger *slog.Logger) (*gatewayServer, error) {
	mgr := session.NewManager(db, session.Options{})
	// The session check takes tenants from memory (a registry of its own:
	// it reads only tenant records) and writes activity in the background.
	tenants := tenantcfg.New(db, tenantcfg.Options{BaseURL: cfg.BaseURL, Logger: logger})
	cache := session.NewCache(mgr, db, session.CacheOptions{TTL: cfg.Gateway.SessionCacheTTL, MaxBytes: cfg.Gateway.SessionCacheBytes,
		Tenants: tenants, Activity: session.ActivityOptions{Logger: logger}})
	keys := identity.NewKeyRing(db, identity.KeyRingOptions{
		Issuer:   cfg.BaseURL.String(),
		Rotation: cfg.Gateway.KeyRotation,
		TokenTTL: cfg.Gateway.TokenTTL,
		Logger:   logger,
	})
	gw, err := gateway.New(gateway.Config{
		BaseURL:      cfg.BaseURL,
		Sessions:     cache,
		Keys:         keys,
		Routes:       db,
		StaticRoutes: cfg.Gateway.Routes,
		Store:        db,
		TrustedHosts: cfg.Gateway.TrustedHosts,
		AdminHost:    cfg.Gateway.AdminHost,
		ClientIP:     cfg.ClientIP,
		Logger:       logger,
		Held:         true,
		// The tokens of sessions checked in the last few minutes, which
		// outlive their snapshots: a quarter of the cache's budget.
		TokenKeepBytes: cfg.Gateway.SessionCacheBytes / 4,
	})
	if err != nil {
		return nil, err
	}
	return &gatewayServer{gateway: gw, sessions: cache, keys: keys, logger: logger}, nil
}

// handler puts the reverse proxy (and the admin host's gate) in front of
// Lanyard's own handler.
func (g *gatewayServer) handler(lanyardHandler http.Handler) http.Handler {
	return g.gateway.Wrap(lanyardHandler)
}

// load reads the signing keys and the routes from the (migrated) store and
// opens the gateway; serve calls it before it reports ready, so that no
// request is proxied or verified without them.
func (g *gatewayServer) load(ctx context.Context) error {
	if err := g.keys.Refresh(ctx); err != nil {
		return fmt.Errorf("load the identity signing keys: %w", err)
	}
	if err := g.gateway.LoadRoutes(ctx); err != nil {
		return err
	}
	g.gateway.SetReady()
	g.logger.Info("gateway ready", "signing_key", g.keys.SignerID(), "routes", len(g.gateway.Routes()))
	return nil
}

// run refreshes the keys and the routes until ctx is done, and returns
// once both have stopped. Call it after load.
func (g *gatewayServer) run(ctx context.Context) {
	keysDone := make(chan struct{})
	go func() { defer close(keysDone); g.keys.Run(ctx) }()
	g.gateway.Run(ctx)
	<-keysDone
	// Sessions seen lately stay alive past the restart.
	flushCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := g.sessions.Close(flushCtx); err != nil {
		g.logger.Warn("could not record the sessions' last activity at shutdown", "err", err)
	}
}

// The gateway's options join the others: flags, LANYARD_* variables and
// config file keys alike.
func init() { options = append(options, gatewayOptions...) }
