package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/lanyard-sso/lanyard/clientip"
	"github.com/lanyard-sso/lanyard/gateway"
)

// reloadable are the settings a running serve takes from its configuration
// again on SIGHUP. The others (listen address, store, keys, base URL, ...)
// are built into the running server: a change to them needs a restart.
var reloadable = []string{"routes", "trusted_proxies", "log_level"}

// reloader applies a reloaded configuration to a running serve.
type reloader struct {
	flags    *configFlags
	getenv   func(string) string
	current  resolution
	level    *slog.LevelVar
	clientIP *clientip.Resolver
	gateway  *gateway.Gateway
	logger   *slog.Logger
}

// notifyReload starts catching SIGHUP, from now on (before serve listens,
// so that an early signal does not end the process). stop undoes it.
func notifyReload() (hup chan os.Signal, stop func()) {
	hup = make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	return hup, func() { signal.Stop(hup) }
}

// run reloads on every signal of hup until ctx is done. A reload that fails
// changes nothing and is logged with its reason.
func (r *reloader) run(ctx context.Context, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		changed, err := r.reload()
		switch {
		case err != nil:
			r.logger.Error("configuration not reloaded; the running configuration stays in use", "err", err)
		case len(changed) == 0:
			r.logger.Info("configuration reloaded: nothing changed")
		default:
			r.logger.Info("configuration reloaded", "changed", strings.Join(changed, ", "))
		}
	}
}

// reload resolves the configuration again (flags, environment, the file)
// and applies what may change at run time, all or nothing. It returns the
// settings that changed.
func (r *reloader) reload() (changed []string, err error) {
	cfg, res, err := r.flags.resolveDetailed(r.getenv)
	if err != nil {
		if u, ok := err.(*usageError); ok {
			return nil, fmt.Errorf("%s", u.msg)
		}
		return nil, err
	}
	var fixed []string
	for _, o := range options {
		if res.value[o.key] == r.current.value[o.key] {
			continue
		}
		if slices.Contains(reloadable, o.key) {
			changed = append(changed, o.key)
		} else {
			fixed = append(fixed, o.key)
		}
	}
	if len(fixed) > 0 {
		return nil, fmt.Errorf("%s cannot change at run time (restart serve to apply); nothing was changed (settings that reload: %s)",
			strings.Join(fixed, ", "), strings.Join(reloadable, ", "))
	}
	if err := r.gateway.SetStaticRoutes(cfg.Gateway.Routes); err != nil {
		return nil, err
	}
	r.clientIP.SetTrusted(cfg.ClientIP.Trusted())
	r.level.Set(cfg.LogLevel)
	r.current = res
	return changed, nil
}
