// Command lanyard-acsload measures how many SAML logins per second a
// lanyard server completes at its Assertion Consumer Service, on loopback.
//
// It starts `lanyard serve` as a child process (the built binary given
// with -lanyard) on a free 127.0.0.1 port, with SQLite in a temporary
// directory or the PostgreSQL database given with -database; creates a
// tenant with SSO, JIT and IdP-initiated login on, and imports a test IdP
// with a freshly generated key through the lanyard CLI. For each
// concurrency level it then pre-generates -n unique, validly signed
// Responses for a pool of -users users (so that both JIT creation and
// repeat logins happen), checks one with the saml package in-process, and
// posts them all to POST /t/{t}/saml/acs with that many clients, bounded by
// -n and -timeout. A login succeeds when the server answers with a redirect
// that sets the lanyard_session cookie.
//
// In -mode sp (SP-initiated) each login first GETs /t/{t}/saml/login to
// obtain the AuthnRequest ID and the browser-binding cookie; those GETs
// happen before the timed phase (and are reported apart), the Responses
// answer them.
//
// It prints logins/s, p50/p90/p99 latency, errors by status, and the CPU
// time per login of the server process (from /proc/PID/stat), of
// PostgreSQL's processes when -database is set, and of this client.
//
// Only loopback addresses are used.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "lanyard-acsload:", err)
		os.Exit(1)
	}
}

// options are the command line.
type options struct {
	lanyard     string
	database    string
	data        string
	engineLabel string
	n           int
	concurrency []int
	timeout     time.Duration
	users       int
	jit         bool
	anchor      string
	anchorData  string
	anchorDB    string
	shibboleth  bool
	rounds      int
	mode        string
	format      string
	cpuProfile  string
	tracePath   string
	profileSecs int
	serverLog   string
	keep        bool
	// postgresPIDFile is the postmaster.pid of the PostgreSQL server, to
	// measure its CPU time.
	postgresPIDFile string
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("lanyard-acsload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.lanyard, "lanyard", "lanyard", "`path` of the lanyard binary to start (build it with: go build -o /tmp/lanyard ./cmd/lanyard)")
	fs.StringVar(&o.database, "database", "", "PostgreSQL `URL` on loopback (default: SQLite in a temporary directory)")
	fs.StringVar(&o.data, "data", "", "SQLite data `directory` to use instead of a temporary one, e.g. one seeded with lanyard-seed fill -sqlite DIR/lanyard.db (the run adds a tenant of its own)")
	fs.StringVar(&o.engineLabel, "label", "", "engine `label` printed in the results (default sqlite or postgres)")
	fs.IntVar(&o.n, "n", 20000, "logins per concurrency level")
	conc := fs.String("c", "4,8", "comma-separated `levels` of concurrent clients")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "bound on the timed phase of each level")
	fs.IntVar(&o.users, "users", 200, "distinct users the logins are spread over")
	fs.StringVar(&o.anchor, "anchor", "", "`path` of a second lanyard binary (e.g. built from main) to measure side by side, in interleaved rounds")
	fs.StringVar(&o.anchorData, "anchor-data", "", "SQLite data `directory` of the anchor (default: -data); a copy of the seeded store, so each server migrates its own")
	fs.StringVar(&o.anchorDB, "anchor-database", "", "PostgreSQL `URL` of the anchor's own database (default: -database), so that each server migrates its own schema")
	fs.BoolVar(&o.shibboleth, "shibboleth", false, "also measure Shibboleth SP 3 (Apache httpd with mod_shib, and shibd; apt-get install libapache2-mod-shib) in interleaved rounds")
	fs.IntVar(&o.rounds, "rounds", 1, "rounds of a comparison (with -anchor or -shibboleth); the summary gives medians")
	fs.BoolVar(&o.jit, "jit", false, "every login is of a new user, whose account is created just in time (instead of -users returning users)")
	fs.StringVar(&o.mode, "mode", "idp", "`mode`: idp (unsolicited responses) or sp (GET /saml/login first)")
	fs.StringVar(&o.format, "format", "text", "output `format`: text or markdown (a table row per level)")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the server during the first level to `file`")
	fs.StringVar(&o.tracePath, "trace", "", "write a runtime trace of the server during the first level to `file` (go tool trace FILE: where logins wait)")
	fs.IntVar(&o.profileSecs, "profile-seconds", 5, "length of the CPU profile and trace in seconds")
	fs.StringVar(&o.serverLog, "server-log", "", "write the server's log to `file` (default: a temporary file, shown on failure)")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary directory")
	fs.StringVar(&o.postgresPIDFile, "postgres-pid-file", "", "postmaster.pid `file` of the PostgreSQL server, to report its CPU time per login")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: lanyard-acsload -lanyard PATH [-database postgres://...] [-n 20000] [-c 4,8] [-mode idp|sp]\n\n"+
			"Measures SAML logins per second at a lanyard server's ACS on loopback.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q; run with -h for usage", fs.Args())
	}
	for _, f := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return o, fmt.Errorf("-c %q: want comma-separated positive integers, e.g. 4,8", *conc)
		}
		o.concurrency = append(o.concurrency, c)
	}
	switch {
	case o.n < 1:
		return o, fmt.Errorf("-n %d: want at least 1 login", o.n)
	case o.users < 1:
		return o, fmt.Errorf("-users %d: want at least 1", o.users)
	case o.mode != "idp" && o.mode != "sp":
		return o, fmt.Errorf("-mode %q: want idp or sp", o.mode)
	case o.format != "text" && o.format != "markdown":
		return o, fmt.Errorf("-format %q: want text or markdown", o.format)
	case o.anchorData != "" && (o.anchor == "" || o.data == ""):
		return o, errors.New("-anchor-data goes with -anchor and -data")
	case o.anchorDB != "" && (o.anchor == "" || o.database == ""):
		return o, errors.New("-anchor-database goes with -anchor and -database")
	case o.rounds < 1:
		return o, fmt.Errorf("-rounds %d: want at least 1", o.rounds)
	case o.data != "" && o.database != "":
		return o, errors.New("-data (SQLite) and -database (PostgreSQL) name two stores: give one")
	}
	if o.engineLabel == "" {
		o.engineLabel = "sqlite"
		if o.database != "" {
			o.engineLabel = "postgres"
		}
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	if o.anchor != "" || o.shibboleth || o.rounds > 1 {
		return runComparison(ctx, o, stdout, stderr)
	}
	h, err := startHarness(ctx, o, stderr)
	if err != nil {
		return err
	}
	defer h.close()

	if o.format == "markdown" {
		fmt.Fprintln(stdout, markdownHeader)
	}
	for i, c := range o.concurrency {
		var profiles serverProfiles
		if i == 0 {
			profiles = serverProfiles{cpu: o.cpuProfile, trace: o.tracePath}
		}
		res, err := h.runLevel(ctx, c, profiles)
		if err != nil {
			return h.withServerLog(err)
		}
		res.print(stdout, o)
		if res.failed() > 0 {
			defer fmt.Fprintf(stderr, "lanyard-acsload: %d logins failed at -c %d; first failure: %s\n", res.failed(), c, res.firstError)
		}
	}
	return nil
}
