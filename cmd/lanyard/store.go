package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/lanyard-sso/lanyard/admin"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
)

// sqliteFile is the name of the SQLite database inside the data directory.
const sqliteFile = "lanyard.db"

// openStore opens the store the configuration names: PostgreSQL when a
// database URL is set, else SQLite in the data directory. It does not
// migrate.
func openStore(ctx context.Context, cfg config) (*sqlstore.DB, error) {
	var db *sqlstore.DB
	var err error
	if cfg.Database != "" {
		if db, err = postgres.Open(ctx, cfg.Database); err != nil {
			return nil, fmt.Errorf("open database: %w", err)
		}
	} else if db, err = sqlite.Open(ctx, filepath.Join(cfg.Data, sqliteFile)); err != nil {
		return nil, fmt.Errorf("open database in %s: %w", cfg.Data, err)
	}
	db.SetSealer(cfg.Sealer)
	return db, nil
}

// storeName describes the store for logs without revealing a password.
func storeName(cfg config) string {
	if cfg.Database != "" {
		return "postgres " + redactURL(cfg.Database)
	}
	return "sqlite " + filepath.Join(cfg.Data, sqliteFile)
}

// openService resolves the configuration, opens and migrates the store,
// makes sure the default tenant exists, and returns the administration
// service and a function that closes the store. Administration commands
// thus work on a fresh data directory.
func (a *app) openService(ctx context.Context, cf *configFlags) (*admin.Service, func(), error) {
	cfg, err := cf.resolve(a.getenv)
	if err != nil {
		return nil, nil, err
	}
	a.storeConfig = cfg
	logger := newLogger(a.stderr, cfg.LogFormat, cfg.LogLevel)
	db, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	notes, err := db.MigrateNotes(ctx)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("migrate %s: %w", storeName(cfg), err)
	}
	logUpgradeNotes(logger, notes)
	svc := admin.New(db, admin.Options{BaseURL: cfg.BaseURL, Logger: logger, Fetcher: metadataFetcher(cfg)})
	if _, err := svc.EnsureDefaultTenant(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}

// serverOnlyOptions are the settings only serve uses: the administration
// commands do not offer them as flags (they still read them from the
// environment and the config file, which serve shares).
func serverOnlyOptions() []string {
	keys := []string{"addr", "trusted_proxies"}
	for _, o := range gatewayOptions {
		keys = append(keys, o.key)
	}
	return keys
}

// storeCommand parses the flags of an administration command with the
// configuration flags, opens the service and runs fn with the positional
// arguments.
func (a *app) storeCommand(ctx context.Context, fs *flagSet, args []string, minArgs, maxArgs int, fn func(svc *admin.Service, args []string) error) error {
	cf := addConfigFlags(fs, map[string]string{"log_level": "warn"}, serverOnlyOptions()...)
	pos, err := fs.parse(args, minArgs, maxArgs)
	if err != nil {
		return err
	}
	svc, closeStore, err := a.openService(ctx, cf)
	if err != nil {
		return err
	}
	defer closeStore()
	return fn(svc, pos)
}

// logUpgradeNotes logs what the data upgrades of the migrations changed
// (the audit trail has the same, as action sqlstore.UpgradeAction).
func logUpgradeNotes(logger *slog.Logger, notes []string) {
	for _, n := range notes {
		logger.Warn("database upgrade changed data", "change", n)
	}
}
