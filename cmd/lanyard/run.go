package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lanyard-sso/lanyard"
)

// app holds what every command needs: the environment and the standard
// streams, plus hooks that only tests set.
type app struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// rawStdout is the standard output unescaped, for data that must be
	// byte-exact (a CSV export); stdout escapes control characters.
	rawStdout io.Writer

	// onListen, when set, is called by serve with the bound address once
	// the server accepts connections.
	onListen func(net.Addr)
	// onMetricsListen, when set, is called by serve with the address of
	// the metrics listener (metrics_addr).
	onMetricsListen func(net.Addr)
	// beforeReady, when set, is called by serve after the store is migrated
	// and before the server is marked ready; it may block to hold the
	// server in its "starting" state.
	beforeReady func(context.Context) error
	// storeWait, when not zero, replaces defaultStoreWait.
	storeWait time.Duration
	// demoRun is set while "lanyard demo" runs serve (demo.go).
	demoRun *demoRun
	// storeConfig is the configuration an administration command resolved.
	storeConfig config
	// prog is how the user ran the program (os.Args[0]), for commands
	// printed to run next; empty: "lanyard".
	prog string
}

// progName is the program as the user can run it again: "./lanyard" for
// a binary run from its directory, "go run ./cmd/lanyard" under go run
// (whose binary is gone afterwards), else "lanyard".
func (a *app) progName() string {
	switch {
	case a.prog == "":
		return "lanyard"
	case strings.Contains(a.prog, "go-build"):
		return "go run ./cmd/lanyard"
	case strings.Contains(a.prog, "/"):
		return a.prog
	}
	return "lanyard"
}

// run is the whole program: main only calls it. args excludes the program
// name.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	a := &app{getenv: getenv, stdin: stdin, stdout: terminalSafe{stdout}, rawStdout: stdout, stderr: stderr}
	return a.run(ctx, args)
}

// runAs is run for the program started as prog (os.Args[0]).
func runAs(ctx context.Context, prog string, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	a := &app{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, prog: prog}
	return a.run(ctx, args)
}

// command is a node of the command tree: a group (with sub) or a leaf
// (with exec).
type command struct {
	name     string
	synopsis string // arguments and main flags, for usage lines
	summary  string
	sub      []*command
	exec     func(a *app, ctx context.Context, path string, args []string) error
}

// commands is the command tree.
var commands = []*command{
	{name: "serve", synopsis: "[--addr HOST:PORT] [--base-url URL]", summary: "run the server", exec: (*app).serve},
	{name: "demo", synopsis: "[--addr HOST:PORT] [--data DIR]", summary: "run a whole SSO demo: Lanyard, a development IdP and a sample page", exec: (*app).demo},
	{name: "devidp", synopsis: "[--addr HOST:PORT] [--user NAME:PW:attr=v,...] [--sp-metadata FILE|URL]", summary: "run a development SAML IdP (testing only)", exec: (*app).devIdP},
	{name: "tenant", summary: "manage tenants", sub: []*command{
		{name: "create", synopsis: "SLUG [--name NAME] [--domains a.com,b.com]", summary: "create a tenant with its SP signing and encryption keys", exec: (*app).tenantCreate},
		{name: "list", summary: "list tenants", exec: (*app).tenantList},
		{name: "show", synopsis: "SLUG", summary: "show a tenant's SP endpoints, keys and settings", exec: (*app).tenantShow},
		{name: "set", synopsis: "SLUG key=value...", summary: "change tenant settings (e.g. enabled=true jit=true)", exec: (*app).tenantSet},
		{name: "delete", synopsis: "SLUG --confirm SLUG", summary: "delete a tenant with its accounts, IdPs, keys and sessions", exec: (*app).tenantDelete},
	}},
	{name: "idp", summary: "manage a tenant's IdP connections", sub: []*command{
		{name: "import", synopsis: "[--tenant SLUG] --metadata FILE|URL|- [--entity-id ID] [--legacy-sha1] [--legacy-encryption] [--pin-cert FILE]", summary: "connect a tenant to an IdP from its metadata (or replace it)", exec: (*app).idpImport},
		{name: "add", synopsis: "[--tenant SLUG] --entity-id ID --sso-url URL [--slo-url URL] --cert FILE...", summary: "connect an IdP that has no metadata, by hand", exec: (*app).idpAdd},
		{name: "list", synopsis: "[--tenant SLUG]", summary: "list a tenant's IdPs with source, last refresh and certificate expiry", exec: (*app).idpList},
		{name: "remove", synopsis: "[--tenant SLUG] ENTITYID", summary: "remove an IdP connection", exec: (*app).idpRemove},
		{name: "refresh", synopsis: "[--tenant SLUG] [ENTITYID]", summary: "fetch the metadata of IdPs imported from a URL now", exec: (*app).idpRefresh},
	}},
	{name: "sp-key", summary: "roll over a tenant's SP keys (or bring your own)", sub: []*command{
		{name: "list", synopsis: "[--tenant SLUG]", summary: "show the SP keys with their rollover stage and who fetched the metadata since", exec: (*app).spKeyList},
		{name: "next", synopsis: "[--tenant SLUG] [--use U] [--key FILE --cert FILE | --pkcs12 FILE]", summary: "add the next key (generated or your own), published beside the current one", exec: (*app).spKeyNext},
		{name: "switch", synopsis: "[--tenant SLUG] [--use U]", summary: "sign with the next key and prefer it for encryption", exec: (*app).spKeySwitch},
		{name: "retire", synopsis: "[--tenant SLUG] [--use U]", summary: "withdraw the previous keys", exec: (*app).spKeyRetire},
	}},
	{name: "cert", summary: "certificates and their expiry", sub: []*command{
		{name: "list", synopsis: "[--tenant SLUG]", summary: "list every certificate held or trusted, soonest expiry first", exec: (*app).certList},
	}},
	{name: "doctor", synopsis: "[--tenant SLUG]", summary: "check a tenant's IdP connections and last logins, and say what to fix", exec: (*app).doctor},
	{name: "user", summary: "manage user accounts", sub: []*command{
		{name: "add", synopsis: "[--tenant SLUG] LOGIN [--email ...]", summary: "add a user to a tenant", exec: (*app).userAdd},
		{name: "list", synopsis: "[--tenant SLUG] [--status|--source|--login-method|--query ...]", summary: "list a tenant's users", exec: (*app).userList},
		{name: "show", synopsis: "[--tenant SLUG] LOGIN", summary: "show a user", exec: (*app).userShow},
		{name: "set", synopsis: "[--tenant SLUG] LOGIN key=value...", summary: "change a user (e.g. status=inactive roles=a,b)", exec: (*app).userSet},
		{name: "delete", synopsis: "[--tenant SLUG] LOGIN --yes", summary: "delete a user with its links, sessions and tokens", exec: (*app).userDelete},
		{name: "import", synopsis: "[--tenant SLUG] [--dry-run] FILE.csv", summary: "create and update users from a CSV file (every row checked first)", exec: (*app).userImport},
		{name: "export", synopsis: "[--tenant SLUG] [--output FILE]", summary: "write a tenant's users as CSV", exec: (*app).userExport},
		{name: "merge", synopsis: "[--tenant SLUG] [--dry-run] KEEP REMOVE", summary: "merge account REMOVE into KEEP (links, roles, sessions, history)", exec: (*app).userMerge},
		{name: "convert", synopsis: "[--tenant SLUG] [--domain D] [--dry-run] LOGIN...|--all-local", summary: "convert local accounts to SSO accounts (UPN login)", exec: (*app).userConvert},
	}},
	{name: "token", summary: "manage the bearer tokens of the JSON API", sub: []*command{
		{name: "create", synopsis: "NAME [--scopes read,write] [--expires 90d] [--tenant SLUG]", summary: "create an API token and print it once", exec: (*app).tokenCreate},
		{name: "list", summary: "list API tokens", exec: (*app).tokenList},
		{name: "revoke", synopsis: "NAME|ID", summary: "revoke an API token", exec: (*app).tokenRevoke},
	}},
	{name: "trace", summary: "look at refused SSO logins (SAML tracer)", sub: []*command{
		{name: "list", synopsis: "[--tenant SLUG] [--reason CODE]", summary: "list refused SSO logins with their reason", exec: (*app).traceList},
		{name: "show", synopsis: "[--tenant SLUG] ID", summary: "show a refused login: hint, clock difference, decoded SAML", exec: (*app).traceShow},
	}},
	{name: "audit", summary: "read the audit log", sub: []*command{
		{name: "list", synopsis: "[--tenant SLUG] [--user LOGIN] [--action A] [--since 24h]", summary: "list audit events, newest first", exec: (*app).auditList},
	}},
	{name: "route", summary: "manage the reverse proxy routes to applications", sub: []*command{
		{name: "add", synopsis: "NAME --upstream URL [--host HOST] [--path PREFIX] [--tenant SLUG] [--roles a,b]", summary: "add or replace a route", exec: (*app).routeAdd},
		{name: "list", summary: "list the routes", exec: (*app).routeList},
		{name: "remove", synopsis: "NAME", summary: "remove a route", exec: (*app).routeRemove},
	}},
	{name: "admin", summary: "manage administrators", sub: []*command{
		{name: "create", synopsis: "USER [--tenant SLUG] [--tenant-admin] [--generate]", summary: "make USER an operator (or tenant administrator) with a password (read from stdin or prompted)", exec: (*app).adminCreate},
		{name: "grant", synopsis: "USER [--tenant SLUG] --operator|--tenant-admin", summary: "make an existing account an operator or a tenant administrator", exec: (*app).adminGrant},
		{name: "revoke", synopsis: "USER [--tenant SLUG] --operator|--tenant-admin", summary: "take an administrative role away (its sessions and tokens stop at once)", exec: (*app).adminRevoke},
		{name: "list", summary: "list the operators and tenant administrators", exec: (*app).adminList},
		{name: "reset-password", synopsis: "USER [--tenant SLUG] [--ttl 1h]", summary: "print a one-time password reset link", exec: (*app).adminResetPassword},
	}},
	ldapCommand,
	{name: "config", summary: "check and show the configuration", sub: configCommands},
	{name: "healthcheck", synopsis: "[--url URL]", summary: "exit 0 when the local server's /readyz answers 200 (a container's HEALTHCHECK)", exec: (*app).healthcheck},
	oidcCommands,
	{name: "secret-key", summary: "print a new random secret key for --secret-key-file", exec: (*app).secretKey},
	{name: "version", summary: "print the version and build information (also --version)", exec: (*app).version},
}

func (a *app) run(ctx context.Context, args []string) error {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		return a.version(ctx, "lanyard version", args[1:])
	}
	args, err := moveGlobalFlags(args)
	if err != nil {
		return err
	}
	return a.dispatch(ctx, "lanyard", commands, args)
}

// moveGlobalFlags accepts the global flags (the configuration's, e.g.
// --data DIR) before the command: "lanyard --data d tenant list" runs as
// "lanyard tenant list --data d". Other flags belong after their command.
func moveGlobalFlags(args []string) ([]string, error) {
	var global []string
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" && args[0] != "--" {
		switch args[0] {
		case "-h", "-help", "--help":
			return append(args[:1:1], global...), nil
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(args[0], "-"), "=")
		if !isGlobalFlag(name) {
			return nil, &usageError{cmd: "lanyard", msg: fmt.Sprintf("flag %s before the command: only the global flags (%s) may come first; put the others after the command", args[0], strings.Join(globalFlagNames(), ", "))}
		}
		n := 1
		if !hasValue {
			if len(args) < 2 {
				return nil, &usageError{cmd: "lanyard", msg: fmt.Sprintf("flag %s needs a value", args[0])}
			}
			n = 2
		}
		global, args = append(global, args[:n]...), args[n:]
	}
	if len(global) == 0 {
		return args, nil
	}
	// After the command's name (a group's and its leaf's).
	i, cmds := 0, commands
	for i < len(args) {
		var found *command
		for _, c := range cmds {
			if c.name == args[i] {
				found = c
			}
		}
		if found == nil {
			break
		}
		i++
		if found.sub == nil {
			break
		}
		cmds = found.sub
	}
	out := append([]string{}, args[:i]...)
	out = append(out, global...)
	return append(out, args[i:]...), nil
}

// isGlobalFlag reports whether name is a configuration flag.
func isGlobalFlag(name string) bool {
	for _, n := range globalFlagNames() {
		if "--"+name == n {
			return true
		}
	}
	return false
}

// globalFlagNames lists the configuration flags, --config included.
func globalFlagNames() []string {
	names := []string{"--config"}
	for _, o := range options {
		names = append(names, "--"+o.flagName())
	}
	return names
}

// dispatch finds the command named by args[0] among cmds and runs it.
func (a *app) dispatch(ctx context.Context, path string, cmds []*command, args []string) error {
	if len(args) == 0 {
		a.printGroupUsage(a.stderr, path, cmds)
		return &usageError{cmd: path, msg: "missing command"}
	}
	name := args[0]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		a.printGroupUsage(a.stdout, path, cmds)
		return nil
	}
	for _, c := range cmds {
		if c.name != name {
			continue
		}
		if c.sub != nil {
			return a.dispatch(ctx, path+" "+c.name, c.sub, args[1:])
		}
		err := c.exec(a, ctx, path+" "+c.name, args[1:])
		if errors.Is(err, errHelp) {
			return nil
		}
		return err
	}
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	return &usageError{cmd: path, msg: fmt.Sprintf("unknown command %q; commands: %s", name, strings.Join(names, ", "))}
}

// printGroupUsage lists the commands of a group, leaves with their synopsis.
func (a *app) printGroupUsage(w io.Writer, path string, cmds []*command) {
	if path == "lanyard" {
		fmt.Fprint(w, "Lanyard: a self-hosted SAML 2.0 service provider.\n\n")
	}
	fmt.Fprintf(w, "Usage:\n  %s <command> [flags] [arguments]\n\nCommands:\n", path)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var walk func(prefix string, cs []*command)
	walk = func(prefix string, cs []*command) {
		for _, c := range cs {
			if c.sub != nil {
				walk(prefix+c.name+" ", c.sub)
				continue
			}
			fmt.Fprintf(tw, "  %s%s\t%s\n", prefix, c.name, c.summary)
		}
	}
	walk("", cmds)
	tw.Flush()
	fmt.Fprintf(w, `
Every command except serve and devidp changes the same store serve uses: --data DIR
(SQLite in DIR/lanyard.db, default ./data) or --database postgres://...,
also set by LANYARD_DATA, LANYARD_DATABASE or a --config FILE.

Run '%s <command> -h' for a command's flags.
`, path)
}

// usageError is a command line the program cannot make sense of; it exits
// with status 2.
type usageError struct {
	cmd string // e.g. "lanyard tenant create"
	msg string
}

func (e *usageError) Error() string {
	return fmt.Sprintf("%s: %s\nRun '%s -h' for usage.", e.cmd, e.msg, e.cmd)
}

// exitCode is 2 for usage errors and 1 for every other error.
func exitCode(err error) int {
	var u *usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}

// errorText is what the user sees of err: the safe message of a domain
// error (kinds other than internal), or the whole chain.
func errorText(err error) string {
	var u *usageError
	if errors.As(err, &u) {
		return u.Error()
	}
	if lanyard.ErrorKind(err) != lanyard.KindInternal {
		return "lanyard: " + lanyard.ErrorMessage(err)
	}
	return "lanyard: " + err.Error()
}

// errHelp reports that -h was given and the usage printed: not a failure.
var errHelp = errors.New("help requested")

// flagSet is a leaf command's flags with its usage text.
type flagSet struct {
	*flag.FlagSet
	path     string // "lanyard tenant create"
	synopsis string
	summary  string
	out      io.Writer // where -h prints
	extra    string    // more usage text after the flags
	// configFlag names the configuration flags, listed apart in the usage.
	configFlag map[string]bool
}

func (a *app) newFlagSet(path, synopsis, summary string) *flagSet {
	fs := flag.NewFlagSet(path, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{FlagSet: fs, path: path, synopsis: synopsis, summary: summary, out: a.stdout, configFlag: map[string]bool{}}
}

// usage returns the usage text: synopsis, summary, the command's own
// flags, the configuration flags, extra text.
func (f *flagSet) usage() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Usage:\n  %s\n\n%s.\n", strings.TrimSpace(f.path+" "+f.synopsis), upperFirst(f.summary))
	own := func(fl *flag.Flag) bool { return !f.configFlag[fl.Name] }
	config := func(fl *flag.Flag) bool { return f.configFlag[fl.Name] }
	if f.printFlags(io.Discard, own) {
		b.WriteString("\nFlags:\n")
		f.printFlags(&b, own)
	}
	if f.extra != "" {
		b.WriteString("\n" + f.extra)
	}
	if f.printFlags(io.Discard, config) {
		b.WriteString("\nGlobal flags (the store and the configuration; also LANYARD_* variables and --config keys):\n")
		f.printFlags(&b, config)
	}
	return b.String()
}

// printFlags writes the flags that keep selects, one per entry as
// "--name value" and its usage, and reports whether there were any.
func (f *flagSet) printFlags(w io.Writer, keep func(*flag.Flag) bool) bool {
	found := false
	f.VisitAll(func(fl *flag.Flag) {
		if !keep(fl) {
			return
		}
		found = true
		name, usage := flag.UnquoteUsage(fl)
		line := "  --" + fl.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintf(w, "%s\n      %s", line, usage)
		if d := fl.DefValue; d != "" && d != "false" && d != "0" && d != "0s" {
			fmt.Fprintf(w, " (default %q)", d)
		}
		fmt.Fprintln(w)
	})
	return found
}

// parse parses flags placed anywhere among the arguments and checks the
// number of positional arguments is between minArgs and maxArgs (maxArgs
// < 0: no limit). "-h" prints the usage and returns errHelp.
func (f *flagSet) parse(args []string, minArgs, maxArgs int) ([]string, error) {
	var positional []string
	for {
		err := f.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(f.out, f.usage())
			return nil, errHelp
		}
		if err != nil {
			return nil, &usageError{cmd: f.path, msg: err.Error()}
		}
		rest := f.Args()
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			positional = append(positional, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
	switch {
	case len(positional) < minArgs:
		return nil, &usageError{cmd: f.path, msg: "missing arguments: " + f.synopsis}
	case maxArgs >= 0 && len(positional) > maxArgs:
		return nil, &usageError{cmd: f.path, msg: fmt.Sprintf("unexpected arguments %q: %s", positional[maxArgs:], f.synopsis)}
	}
	return positional, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
