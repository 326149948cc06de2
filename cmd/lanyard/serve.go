package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/idpsync"
	"github.com/lanyard-sso/lanyard/janitor"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/web"
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
	fs := a.newFlagSet(path, "[flags]", "run the server: the SSO endpoints, the admin UI and API, /healthz, /readyz and /metrics")
	cf := addConfigFlags(fs, a.demoRun.configDefaults())
	fs.extra = "Precedence: flag, then LANYARD_* environment variable, then config file, then default.\n" +
		"SIGINT or SIGTERM stop the server gracefully (up to 10s for requests in flight).\n" + a.demoRun.usage()
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	cfg, err := cf.resolve(a.getenv)
	if err != nil {
		return err
	}
	logger := newLogger(a.stderr, cfg.LogFormat, cfg.LogLevel)
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
	privateKeys := "in the clear (no secret_key_file)"
	if cfg.Sealer != nil {
		privateKeys = "sealed with secret key " + cfg.Sealer.ID()
	}
	logger.Info("store opened", "store", storeName(cfg), "private_keys", privateKeys)

	svc := admin.New(db, admin.Options{BaseURL: cfg.BaseURL, Logger: logger, Fetcher: metadataFetcher()})
	gw, err := newGateway(cfg, db, logger)
	if err != nil {
		return err
	}
	defer gw.close()
	srv := web.New(web.Config{BaseURL: cfg.BaseURL, Logger: logger, Store: db, Admin: svc, Gateway: gw.gateway, ClientIP: cfg.ClientIP, DemoTenant: a.demoRun.tenant()})
	httpSrv := &http.Server{
		Handler:           a.demoRun.mount(cfg.BaseURL, cfg.Data, logger, gw.handler(srv)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpSrv.Serve(ln) }()

	fmt.Fprintf(a.stderr, "lanyard: listening on http://%s\n", ln.Addr())
	logger.Info("listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL.String())
	if a.onListen != nil {
		a.onListen(ln.Addr())
	}

	initCtx, cancelInit := context.WithCancel(ctx)
	defer cancelInit()
	initDone := make(chan error, 1)
	go func() { initDone <- a.initialise(initCtx, logger, db, svc, srv, gw, cfg.BaseURL) }()

	// The IdP metadata refresher runs once the server is ready, until
	// shutdown.
	refresher := &idpsync.Refresher{Store: db, Admin: svc, Logger: logger}
	refreshCtx, stopRefresher := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRefresher()
	refresherDone := make(chan struct{})
	refresherStarted := false

	var runErr error
	initialising := true
wait:
	for {
		select {
		case <-ctx.Done():
			logger.Info("shutting down", "reason", context.Cause(ctx))
			break wait
		case err := <-serveErr:
			runErr = fmt.Errorf("serve: %w", err)
			break wait
		case err := <-initDone:
			initialising = false
			if err != nil && ctx.Err() == nil {
				logger.Error("start-up failed; stopping", "err", err)
				runErr = err
				break wait
			}
			if ctx.Err() != nil {
				break wait
			}
			gw.start(ctx)
			refresherStarted = true
			go func() {
				defer close(refresherDone)
				// The janitor purges expired rows on the same schedule
				// of life as the refresher.
				var jobs sync.WaitGroup
				jobs.Go(func() { _ = (&janitor.Janitor{Store: db, Logger: logger}).Run(refreshCtx) })
				_ = refresher.Run(refreshCtx)
				jobs.Wait()
			}()
		}
	}

	cancelInit()
	stopRefresher()
	if refresherStarted {
		<-refresherDone // a refresh in flight must not write to a closed store
	}
	if initialising {
		<-initDone // the store must not close under a running migration
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("requests still in flight at shutdown were cut", "err", err)
		httpSrv.Close()
	}
	logger.Info("stopped")
	return runErr
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
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
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
	a.demoRun.announce(a.stdout, base)
	logger.Info("ready to serve logins")
	return nil
}
