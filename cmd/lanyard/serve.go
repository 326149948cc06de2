package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/idpsync"
	"github.com/lanyard-sso/lanyard/janitor"
	"github.com/lanyard-sso/lanyard/ldapsync"
	"github.com/lanyard-sso/lanyard/saml"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/web"
	"github.com/lanyard-sso/lanyard/web/sso"
	"golang.org/x/sync/errgroup"
)

// shutdownTimeout bounds how long serve waits for requests in flight when
// it stops.
const shutdownTimeout = 10 * time.Second

// defaultStoreWait is how long serve waits for the database to answer at
// start-up (a PostgreSQL server starting beside Lanyard) before giving up.
const defaultStoreWait = 30 * time.Second

// serve runs the server until ctx is done. It listens at once, so /healthz
// answers and logins get a 503 "starting" page while the database is
// migrated and the default tenant made; then the server is marked ready.
func (a *app) serve(ctx context.Context, path string, args []string) error {
	summary := "run the server: the SSO endpoints, the admin UI and API, /healthz, /readyz and /metrics"
	if a.demoRun != nil {
		summary = demoSummary
	}
	fs := a.newFlagSet(path, "[flags]", summary)
	cf := addConfigFlags(fs, a.demoRun.configDefaults())
	fs.extra = "Precedence: flag, then LANYARD_* environment variable, then config file, then default.\n" +
		"SIGINT or SIGTERM stop the server gracefully (up to 10s for requests in flight).\n" +
		"SIGHUP reads the configuration again and applies routes, trusted_proxies and log_level;\n" +
		"a change to another setting is refused, by name, and nothing changes.\n"
	if a.demoRun != nil {
		fs.extra = a.demoRun.usage() + "\n" + fs.extra
	}
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	cfg, resolved, err := cf.resolveDetailed(a.getenv)
	if err != nil {
		return err
	}
	logLevel := new(slog.LevelVar) // SIGHUP may change it
	logLevel.Set(cfg.LogLevel)
	logger := newLogger(a.stderr, cfg.LogFormat, logLevel)
	hup, stopHUP := notifyReload()
	defer stopHUP()
	stopTracing, err := startTracing(ctx, cfg.OTLPEndpoint, logger)
	if err != nil {
		return err
	}
	defer stopTracing()
	if cfg.Database == "" {
		// One server per SQLite database; see lockDataDir.
		unlock, err := lockDataDir(cfg.Data)
		if err != nil {
			return err
		}
		defer unlock()
	}
	stopProfiler, err := a.startProfiler(logger)
	if err != nil {
		return err
	}
	defer stopProfiler()

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	if cfg.BaseURLDerived {
		// With port 0 the port is known only now.
		_, port, _ := net.SplitHostPort(ln.Addr().String())
		cfg.BaseURL = &url.URL{Scheme: "http", Host: net.JoinHostPort("localhost", port)}
	}

	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetLogger(logger)
	readiness := web.ReadinessConfig{ProbeInterval: cfg.WriteProbeInterval}
	if cfg.Database == "" {
		readiness.DataDir, readiness.MinFreeBytes = cfg.Data, cfg.MinFreeBytes
	}
	privateKeys := "in the clear (no secret_key_file)"
	if cfg.Sealer != nil {
		privateKeys = "sealed with secret key " + cfg.Sealer.ID()
	}
	logger.Info("store opened", "store", storeName(cfg), "private_keys", privateKeys)
	for _, w := range cfg.Warnings {
		logger.Warn("INSECURE CONFIGURATION: " + w)
	}

	svc := admin.New(db, admin.Options{BaseURL: cfg.BaseURL, Logger: logger, Fetcher: metadataFetcher(cfg)})
	gw, err := newGateway(cfg, db, logger)
	if err != nil {
		return err
	}
	ldapMetrics := ldapsync.NewMetrics()
	ldapSyncer := &ldapsync.Syncer{Store: db, Logger: logger, Metrics: ldapMetrics}
	srv := web.New(web.Config{BaseURL: cfg.BaseURL, Logger: logger, Store: db, Admin: svc, Gateway: gw.gateway, ClientIP: cfg.ClientIP, AdminHost: cfg.Gateway.AdminHost, DemoTenant: a.demoRun.tenant(),
		MetricsToken: cfg.MetricsToken, MetricsElsewhere: cfg.MetricsAddr != "",
		PendingRequests: sso.PendingLimits{PerClient: cfg.PendingPerClient, Total: cfg.PendingTotal, Window: saml.DefaultRequestTTL},
		Readiness:       readiness, Registry: ldapRegistry(ldapMetrics),
		Directories: &ldapsync.Service{Store: db, Syncer: ldapSyncer}})
	// Lanyard's paths on an application's host (a route's or a trusted
	// host) and on the admin host are served under that name.
	appHost := func(host string) bool {
		if cfg.Gateway.AdminHost != "" && strings.EqualFold(strings.TrimSuffix(host, "."), cfg.Gateway.AdminHost) {
			return true
		}
		return gw.gateway != nil && gw.gateway.AllowsOrigin(cfg.BaseURL.Scheme+"://"+host)
	}
	httpSrv := &http.Server{
		Handler:           a.demoRun.mount(cfg.BaseURL, cfg.Data, logger, gw.handler(web.CanonicalHost(cfg.BaseURL.String(), appHost, srv))),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}

	// The HTTP server, the start-up and then the background jobs run until
	// ctx is done or one of them fails; then the others are cancelled and
	// waited for before the deferred closes run, so that no migration or
	// refresh in flight writes to a closed store.
	g, gctx := errgroup.WithContext(ctx)
	reload := &reloader{flags: cf, getenv: a.getenv, current: resolved, level: logLevel, clientIP: cfg.ClientIP, gateway: gw.gateway, logger: logger}
	g.Go(func() error { reload.run(gctx, hup); return nil })
	g.Go(func() error {
		if err := httpSrv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve: %w", err)
		}
		return nil
	})

	if cfg.MetricsAddr != "" {
		metricsLn, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s for the metrics: %w", cfg.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		metricsSrv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
		g.Go(func() error {
			if err := metricsSrv.Serve(metricsLn); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("serve metrics: %w", err)
			}
			return nil
		})
		g.Go(func() error {
			<-gctx.Done()
			return metricsSrv.Close()
		})
		logger.Info("metrics listening", "addr", metricsLn.Addr().String(), "token", cfg.MetricsToken != "")
		if a.onMetricsListen != nil {
			a.onMetricsListen(metricsLn.Addr())
		}
	}

	fmt.Fprintf(a.stderr, "lanyard: listening on %s\n", ln.Addr())
	if a.demoRun == nil {
		// The place to go is the base URL: cookies belong to its host, and
		// other names of this server redirect there.
		fmt.Fprintf(a.stderr, "lanyard: open %s/ (the base URL; the admin UI is at %s/admin/)\n", cfg.BaseURL, cfg.BaseURL)
	}
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL.String())
	if a.onListen != nil {
		a.onListen(ln.Addr())
	}

	g.Go(func() error {
		if err := a.initialise(gctx, logger, db, svc, srv, gw, cfg.BaseURL); err != nil {
			if gctx.Err() != nil {
				return nil // stopping: the cause is reported elsewhere
			}
			logger.Error("start-up failed; stopping", "err", err)
			return err
		}
		if gctx.Err() != nil {
			return nil
		}
		// Ready: the gateway's key and route refreshes, the janitor and
		// the IdP metadata refresher run until shutdown.
		g.Go(func() error { gw.run(gctx); return nil })
		g.Go(func() error { return (&janitor.Janitor{Store: db, Logger: logger}).Run(gctx) })
		g.Go(func() error { srv.RunWriteProbe(gctx); return nil })
		g.Go(func() error { return runLDAPScheduler(gctx, ldapSyncer) })
		g.Go(func() error { svc.RunCertificateWatch(gctx, 0); return nil })
		// OpenID Connect: back-channel logouts of ended sessions, key rotation.
		g.Go(func() error { srv.RunOIDC(gctx); return nil })
		refresher := &idpsync.Refresher{Store: db, Admin: svc, Logger: logger}
		_ = refresher.Run(gctx) // returns gctx's error: not a failure
		return nil
	})

	g.Go(func() error {
		<-gctx.Done()
		if ctx.Err() != nil {
			logger.Info("shutting down", "reason", context.Cause(ctx))
		}
		shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		if err := httpSrv.Shutdown(shutdownCtx); err != nil {
			logger.Warn("requests still in flight at shutdown were cut", "err", err)
			httpSrv.Close()
		}
		srv.Close(shutdownCtx)
		return nil
	})

	err = g.Wait()
	logger.Info("stopped")
	return err
}

// waitForStore pings the database until it answers, retrying with backoff
// for up to app.storeWait (defaultStoreWait when zero).
func (a *app) waitForStore(ctx context.Context, logger *slog.Logger, db *sqlstore.DB) error {
	limit := a.storeWait
	if limit == 0 {
		limit = defaultStoreWait
	}
	deadline := time.Now().Add(limit)
	delay := 250 * time.Millisecond
	for {
		err := db.Ping(ctx)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().Add(delay).After(deadline) {
			return fmt.Errorf("database does not answer after %s: %w", limit, err)
		}
		logger.Warn("database does not answer yet; retrying", "in", delay.String(), "err", err)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return ctx.Err()
		}
		delay = min(2*delay, 4*time.Second)
	}
}

// initialise brings the store up to date and marks the server ready:
// wait for the database, migrate, ensure the default tenant, load the
// gateway's keys and routes, then SetReady.
func (a *app) initialise(ctx context.Context, logger *slog.Logger, db *sqlstore.DB, svc *admin.Service, srv *web.Server, gw *gatewayServer, base *url.URL) error {
	if err := a.waitForStore(ctx, logger, db); err != nil {
		return err
	}
	start := time.Now()
	logger.Info("migrating database")
	notes, err := db.MigrateNotes(ctx)
	if err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	logUpgradeNotes(logger, notes)
	logger.Info("database schema up to date", "took", time.Since(start).Round(time.Millisecond).String())
	sealed, err := db.SealPrivateKeys(ctx)
	if err != nil {
		return err
	}
	if sealed > 0 {
		logger.Info("private keys sealed with the secret key", "keys", sealed)
	}
	t, err := svc.EnsureDefaultTenant(ctx)
	if err != nil {
		return err
	}
	logger.Info("default tenant ready", "tenant", t.Slug, "id", strconv.FormatInt(t.ID, 10))
	if err := a.demoRun.setup(ctx, base, db, svc); err != nil {
		return err
	}
	if err := gw.load(ctx); err != nil {
		return err
	}
	if a.beforeReady != nil {
		if err := a.beforeReady(ctx); err != nil {
			return err
		}
	}
	srv.SetReady()
	a.demoRun.announce(a.stdout, base, a.progName())
	logger.Info("ready to serve logins")
	// An import whose process died is undone now rather than at the next
	// import; logins go on meanwhile (the undo writes in short transactions).
	if n, err := svc.RecoverImports(ctx); err != nil && ctx.Err() == nil {
		logger.Warn("interrupted CSV imports not undone; the next import undoes them", "err", err)
	} else if n > 0 {
		logger.Info("interrupted CSV imports undone", "imports", n)
	}
	return nil
}
