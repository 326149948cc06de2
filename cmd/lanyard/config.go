package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/clientip"
	"github.com/lanyard-sso/lanyard/keyseal"
)

// config says where the store is, where serve listens and how to log. It is
// resolved, per setting, from a flag, else a LANYARD_* environment
// variable, else the JSON config file, else the default.
type config struct {
	// Addr is the listen address of serve. Default 127.0.0.1:8080.
	Addr string
	// BaseURL is the external base URL, without a trailing slash. Default
	// http://localhost:PORT with the port of Addr.
	BaseURL *url.URL
	// BaseURLDerived is true when BaseURL was not configured but derived
	// from Addr, so serve can correct it once port 0 is bound.
	BaseURLDerived bool
	// Data is the directory of the SQLite database. Default ./data.
	Data string
	// Database is a PostgreSQL URL; when set, Data is not used.
	Database string
	// LogFormat is text or json. Default text.
	LogFormat string
	// LogLevel is the lowest level logged. Default info (warn for the
	// administration commands, whose output is their result).
	LogLevel slog.Level
	// Sealer seals the private keys in the store, from secret_key_file.
	// Nil: keys are stored in the clear.
	Sealer *keyseal.Sealer
	// ClientIP names the client of a request, believing X-Forwarded-For
	// from the trusted_proxies. Default: no proxy trusted.
	ClientIP *clientip.Resolver
	// Gateway configures forward-auth, the reverse proxy and the identity
	// tokens (see gatewayConfig).
	Gateway gatewayConfig
	// PendingPerClient and PendingTotal bound the AuthnRequests awaiting
	// their answer.
	PendingPerClient, PendingTotal int
	// MetadataAllowPrivate lets IdP metadata be fetched from non-public
	// addresses.
	MetadataAllowPrivate bool
	// MetricsAddr is the address of the metrics listener; "" serves
	// /metrics on the main listener.
	MetricsAddr string
	// MetricsToken is the bearer token of /metrics; "" for none.
	MetricsToken string
	// WriteProbeInterval is how often serve commits its readiness write
	// probe; negative: none.
	WriteProbeInterval time.Duration
	// MinFreeBytes is the free space the SQLite volume needs for /readyz
	// to answer 200; 0: not checked.
	MinFreeBytes uint64
	// Warnings are accepted configurations that deserve a loud word at
	// every start (a shared secret key file).
	Warnings []string
	// OTLPEndpoint is the URL traces are sent to; "" for none.
	OTLPEndpoint string
}

// option is one configuration setting. Its JSON key is key, its flag is key
// with hyphens (--base-url) and its environment variable LANYARD_KEY.
type option struct {
	key   string
	def   string
	usage string
}

var options = []option{
	{"addr", "127.0.0.1:8080", "`address` to listen on, HOST:PORT (env LANYARD_ADDR)"},
	{"base_url", "", "external base `URL` users reach Lanyard at (env LANYARD_BASE_URL; default http://localhost:PORT of the listen address)"},
	{"data", "./data", "`directory` of the SQLite database DIR/lanyard.db (env LANYARD_DATA)"},
	{"database", "", "PostgreSQL `URL` postgres://user:pass@host/db; replaces --data (env LANYARD_DATABASE)"},
	{"log_format", "text", "log `format`: text or json (env LANYARD_LOG_FORMAT)"},
	{"log_level", "info", "log `level`: debug, info, warn or error (env LANYARD_LOG_LEVEL)"},
	{"secret_key_file", "", "`file` holding the secret key that seals the private keys in the database (make one with 'lanyard secret-key'); keys in the clear are sealed at start (env LANYARD_SECRET_KEY_FILE; default none: keys are stored in the clear)"},
	{"allow_shared_secret_key_file", "false", "`true` to start even when the secret_key_file can be read by its group or others (a loud warning at every start); by default such a file is refused (env LANYARD_ALLOW_SHARED_SECRET_KEY_FILE)"},
	{"pending_requests_per_client", "300", "SP-initiated logins one client `address` may start within 10 minutes (each keeps an AuthnRequest until answered); beyond, 429 (env LANYARD_PENDING_REQUESTS_PER_CLIENT)"},
	{"pending_requests_total", "100000", "AuthnRequests awaiting their answer, over all clients and tenants, beyond which login starts answer 429 (env LANYARD_PENDING_REQUESTS_TOTAL)"},
	{"metadata_allow_private", "false", "`true` lets IdP metadata URLs lead to loopback, link-local and private addresses (an IdP inside your network); by default they are refused, redirects and DNS answers included (env LANYARD_METADATA_ALLOW_PRIVATE)"},
	{"metrics_addr", "", "`address` HOST:PORT of a listener of its own for GET /metrics, which the main listener then no longer answers (env LANYARD_METRICS_ADDR; default none: /metrics on the main listener)"},
	{"metrics_token_file", "", "`file` holding the bearer token GET /metrics requires (env LANYARD_METRICS_TOKEN_FILE; default none: the metrics are public)"},
	{"write_probe_interval", "5s", "how often serve commits a small write so that /readyz answers 503 as soon as the database no longer takes writes, a `duration`; 0 for none (env LANYARD_WRITE_PROBE_INTERVAL)"},
	{"min_free_mb", "128", "free space, in `megabytes`, the SQLite data volume needs for /readyz to answer 200 (the WAL alone reaches about 64 MB under load); 0: not checked; unused with PostgreSQL (env LANYARD_MIN_FREE_MB)"},
	{"trusted_proxies", "", "comma-separated `addresses` or networks of the reverse proxies in front of Lanyard, e.g. 10.0.0.0/8; their X-Forwarded-For names the client for throttling, sessions and the audit log (env LANYARD_TRUSTED_PROXIES; default none: the TCP peer is the client)"},
}

func (o option) flagName() string { return strings.ReplaceAll(o.key, "_", "-") }
func (o option) envName() string  { return "LANYARD_" + strings.ToUpper(o.key) }

// configFlags are the configuration flags registered on a command.
type configFlags struct {
	fs         *flagSet
	values     map[string]*string // by option key
	configFile *string
	defaults   map[string]string // per-command defaults that differ
}

// addConfigFlags registers the configuration flags on fs: every option
// except those in skip, and --config. Skipped options still come from the
// environment and the config file.
func addConfigFlags(fs *flagSet, overrides map[string]string, skip ...string) *configFlags {
	cf := &configFlags{fs: fs, values: map[string]*string{}, defaults: overrides}
	for _, o := range options {
		if slices.Contains(skip, o.key) {
			continue
		}
		def := o.def
		if d, ok := overrides[o.key]; ok {
			def = d
		}
		cf.values[o.key] = fs.String(o.flagName(), def, o.usage)
		fs.configFlag[o.flagName()] = true
	}
	fs.configFlag["config"] = true
	cf.configFile = fs.String("config", "", "configuration `file`, YAML (.yaml, .yml) or JSON: the flags' names with underscores as keys, e.g. addr: \":8080\" (env LANYARD_CONFIG; check one with 'lanyard config check FILE'; serve reads it again on SIGHUP)")
	return cf
}

// resolve builds the configuration, reporting every problem at once.
func (cf *configFlags) resolve(getenv func(string) string) (config, error) {
	c, _, err := cf.resolveDetailed(getenv)
	return c, err
}

// resolution is where each setting's value came from: its text, and its
// origin ("default", "flag --addr", "env LANYARD_ADDR", "file PATH line
// N", "systemd credential NAME").
type resolution struct {
	file   string // the config file read, "" for none
	value  map[string]string
	origin map[string]string
}

// gather collects each option's text from the flags, the environment, the
// config file and the defaults, in that order of precedence.
func (cf *configFlags) gather(getenv func(string) string, v *lanyard.ValidationError) (res resolution, source map[string]string) {
	set := map[string]bool{}
	cf.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	res = resolution{value: map[string]string{}, origin: map[string]string{}}
	value := res.value
	source = map[string]string{} // where each value came from, for messages
	for _, o := range options {
		value[o.key], source[o.key], res.origin[o.key] = o.def, "default", "default"
		if d, ok := cf.defaults[o.key]; ok {
			value[o.key] = d
		}
	}
	path := getenv("LANYARD_CONFIG")
	if set["config"] {
		path = *cf.configFile
	}
	res.file = path
	if path != "" {
		for key, val := range readConfigFile(path, v) {
			value[key] = val.text
			source[key] = "config file " + path + ": " + key
			res.origin[key] = "file " + path
			if val.line > 0 {
				source[key] = fmt.Sprintf("config file %s line %d: %s", path, val.line, key)
				res.origin[key] = fmt.Sprintf("file %s line %d", path, val.line)
			}
		}
	}
	for _, o := range options {
		if val := getenv(o.envName()); val != "" {
			value[o.key], source[o.key], res.origin[o.key] = val, o.envName(), "env "+o.envName()
		}
		if p, ok := cf.values[o.key]; ok && set[o.flagName()] {
			value[o.key], source[o.key], res.origin[o.key] = *p, "--"+o.flagName(), "flag --"+o.flagName()
		}
	}
	applyCredentials(getenv, res, source)
	return res, source
}

// resolveDetailed is resolve that also says where each value came from.
func (cf *configFlags) resolveDetailed(getenv func(string) string) (config, resolution, error) {
	var v lanyard.ValidationError
	res, source := cf.gather(getenv, &v)
	value := res.value

	c := config{Data: value["data"], Database: value["database"], LogFormat: value["log_format"]}
	c.Addr = value["addr"]
	_, port, err := net.SplitHostPort(c.Addr)
	if n, perr := strconv.Atoi(port); err != nil || perr != nil || n < 0 || n > 65535 {
		v.Add("%s %q: want HOST:PORT, e.g. 127.0.0.1:8080 or :8080", source["addr"], c.Addr)
		port = "8080"
	}
	if value["base_url"] == "" {
		c.BaseURL = &url.URL{Scheme: "http", Host: net.JoinHostPort("localhost", port)}
		c.BaseURLDerived = true
	} else if u, err := parseBaseURL(value["base_url"]); err != nil {
		v.Add("%s %q: %v", source["base_url"], value["base_url"], err)
	} else {
		c.BaseURL = u
	}
	if c.Database != "" {
		if err := checkDatabaseURL(c.Database); err != nil {
			v.Add("%s: %v", source["database"], err)
		}
	} else if c.Data == "" {
		v.Add("%s: the data directory cannot be empty", source["data"])
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		v.Add("%s %q: use text or json", source["log_format"], c.LogFormat)
	}
	if err := c.LogLevel.UnmarshalText([]byte(value["log_level"])); err != nil {
		v.Add("%s %q: use debug, info, warn or error", source["log_level"], value["log_level"])
	}
	allowShared, err := strconv.ParseBool(value["allow_shared_secret_key_file"])
	if err != nil {
		v.Add("%s %q: use true or false", source["allow_shared_secret_key_file"], value["allow_shared_secret_key_file"])
	}
	if path := value["secret_key_file"]; path != "" {
		if s, warning, err := readSecretKey(path, allowShared); err != nil {
			v.Add("%s: %v", source["secret_key_file"], err)
		} else {
			c.Sealer = s
			if warning != "" {
				c.Warnings = append(c.Warnings, warning)
			}
		}
	}
	if c.MetadataAllowPrivate, err = strconv.ParseBool(value["metadata_allow_private"]); err != nil {
		v.Add("%s %q: use true or false", source["metadata_allow_private"], value["metadata_allow_private"])
	}
	for _, o := range []struct {
		key string
		dst *int
	}{{"pending_requests_per_client", &c.PendingPerClient}, {"pending_requests_total", &c.PendingTotal}} {
		n, err := strconv.Atoi(value[o.key])
		if err != nil || n < 1 {
			v.Add("%s %q: a positive number", source[o.key], value[o.key])
		}
		*o.dst = n
	}
	if d, err := time.ParseDuration(value["write_probe_interval"]); err != nil || d < 0 {
		v.Add("%s %q: a duration such as 5s, or 0 for none", source["write_probe_interval"], value["write_probe_interval"])
	} else {
		c.WriteProbeInterval = d
		if d == 0 {
			c.WriteProbeInterval = -1
		}
	}
	if mb, err := strconv.ParseUint(value["min_free_mb"], 10, 32); err != nil {
		v.Add("%s %q: a whole number of megabytes, 0 for no check", source["min_free_mb"], value["min_free_mb"])
	} else {
		c.MinFreeBytes = mb << 20
	}
	c.MetricsAddr = value["metrics_addr"]
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			v.Add("%s %q: use HOST:PORT", source["metrics_addr"], c.MetricsAddr)
		}
	}
	if path := value["metrics_token_file"]; path != "" {
		token, err := readMetricsToken(path)
		if err != nil {
			v.Add("%s: %v", source["metrics_token_file"], err)
		}
		c.MetricsToken = token
	}
	if p, err := clientip.ParseTrusted(value["trusted_proxies"]); err != nil {
		v.Add("%s: %v", source["trusted_proxies"], err)
	} else {
		c.ClientIP = clientip.New(p)
	}
	c.Gateway = resolveGateway(value, source, &v)
	c.OTLPEndpoint = resolveOTLP(value, source, &v)
	if len(v.Problems) > 0 {
		return config{}, res, &usageError{cmd: cf.fs.path, msg: "configuration: " + v.Error()}
	}
	return c, res, nil
}

// parseBaseURL checks an external base URL: absolute http or https, with a
// host, without query, fragment or user info. The trailing slash is dropped.
func parseBaseURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("want an absolute http:// or https:// URL, e.g. https://sso.example.com")
	case u.Host == "":
		return nil, fmt.Errorf("the URL has no host")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, fmt.Errorf("a base URL cannot have a query (?...)")
	case u.Fragment != "":
		return nil, fmt.Errorf("a base URL cannot have a fragment (#...)")
	case u.User != nil:
		return nil, fmt.Errorf("a base URL cannot carry a user name or password")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// checkDatabaseURL checks that s is a PostgreSQL URL, without echoing a
// password it may contain.
func checkDatabaseURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		// url.Error quotes the whole URL, password included: name the
		// cause only.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return fmt.Errorf("malformed database URL (%v); want postgres://user:password@host:5432/dbname", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("database URL scheme %q: want postgres://user:password@host:5432/dbname (for SQLite use --data DIR)", u.Scheme)
	}
	return nil
}

// newLogger returns a logger writing to w in the format and from the level.
func newLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactURL returns s with its password, if any, masked.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(malformed URL)"
	}
	return u.Redacted()
}

// readSecretKey reads the secret key file of secret_key_file: the current
// key on the first line, previous keys (while changing it) below.
// A file that its group or others may read (or write) is refused, unless
// allowShared, when it is accepted with a warning to log at every start:
// whoever reads the key reads every private key in the database.
func readSecretKey(path string, allowShared bool) (sealer *keyseal.Sealer, warning string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		msg := fmt.Sprintf("%s has permissions %04o: its group or others can read or change the secret key that unseals every private key in the database", path, perm)
		if !allowShared {
			return nil, "", fmt.Errorf("%s; make it readable only by Lanyard's user (chmod 600 %s), or set allow_shared_secret_key_file=true to start anyway", msg, path)
		}
		warning = msg + " (accepted because allow_shared_secret_key_file is true; chmod 600 " + path + ")"
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, "", err
	}
	keys, err := keyseal.ParseKeys(string(data))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	sealer, err = keyseal.New(keys[0], keys[1:]...)
	return sealer, warning, err
}

// readMetricsToken reads the bearer token of /metrics: the file's first
// line, at least 16 characters.
func readMetricsToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	token, _, _ := strings.Cut(string(data), "\n")
	token = strings.TrimSpace(token)
	if len(token) < 16 || lanyard.HasControl(token) {
		return "", fmt.Errorf("%s: the first line must hold the token, at least 16 printable characters (e.g. from: openssl rand -hex 32)", path)
	}
	return token, nil
}

// secretKey prints a new secret key, for the file of secret_key_file.
func (a *app) secretKey(ctx context.Context, path string, args []string) error {
	fs := a.newFlagSet(path, "", "print a new random secret key; save it in a file readable only by Lanyard and pass that file as --secret-key-file (or LANYARD_SECRET_KEY_FILE). Keep a copy: without it the database's private keys cannot be read")
	if _, err := fs.parse(args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, keyseal.GenerateKey())
	return nil
}
