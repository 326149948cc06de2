// Command lanyard-seed fills a store quickly for scale runs, and measures
// the session check against it:
//
//	lanyard-seed fill (-sqlite PATH | -postgres URL) [-tenants 1] [-users 1000] [-sessions 1000]
//	    migrate the store and add tenants, users (each with a role and web
//	    access) and live sessions, in bulk; session i of a run has the ID
//	    SessionID(i), so that "verify" can present any of them
//	lanyard-seed serve (-sqlite PATH | -postgres URL) -addr-file FILE
//	    serve Lanyard's routes on a loopback port, with the session check
//	    wired as in "lanyard serve", and write the address to FILE
//	lanyard-seed verify -addr HOST:PORT -pid PID -sessions N [-requests 20000] [-rounds 5] [-clients 4] [-settle 6s] [-postgres-pid-file F]
//	    ask GET /auth/verify of that server in interleaved rounds: one hot
//	    session for every request, then a random one of the N seeded
//	    sessions per request; print the server's CPU time per request (and
//	    PostgreSQL's) of each round, the medians and their ratio. A round's
//	    CPU time is read -settle after its last answer, so that it holds
//	    the background write of the round's session activity
//
// It is a test tool: it writes to the store directly, and serves only
// loopback.
package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lanyard-sso/lanyard/internal/gcdefault"
	"github.com/lanyard-sso/lanyard/internal/loadrun"

	"github.com/lanyard-sso/lanyard"
	"github.com/lanyard-sso/lanyard/gateway"
	"github.com/lanyard-sso/lanyard/identity"
	"github.com/lanyard-sso/lanyard/session"
	"github.com/lanyard-sso/lanyard/sqlstore"
	"github.com/lanyard-sso/lanyard/sqlstore/postgres"
	"github.com/lanyard-sso/lanyard/sqlstore/sqlite"
	"github.com/lanyard-sso/lanyard/tenantcfg"
	"github.com/lanyard-sso/lanyard/web"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "lanyard-seed:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: lanyard-seed fill|serve|verify [flags]")
	}
	switch args[0] {
	case "fill":
		return fill(args[1:])
	case "serve":
		return serve(args[1:])
	case "verify":
		return verify(args[1:])
	}
	return fmt.Errorf("unknown command %q: want fill, serve or verify", args[0])
}

// SessionID is the ID of seeded session i: derived, so that the seeder
// need not hand millions of IDs to the load.
func SessionID(i int) string {
	sum := sha256.Sum256([]byte("lanyard-seed session " + strconv.Itoa(i)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// storeFlags are the flags that name the store.
type storeFlags struct{ sqlitePath, postgresURL string }

func (s *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&s.sqlitePath, "sqlite", "", "SQLite database `file`")
	fs.StringVar(&s.postgresURL, "postgres", "", "PostgreSQL `URL`")
}

func (s *storeFlags) open(ctx context.Context) (*sqlstore.DB, error) {
	var (
		db  *sqlstore.DB
		err error
	)
	switch {
	case (s.sqlitePath == "") == (s.postgresURL == ""):
		return nil, errors.New("name the store with one of -sqlite FILE and -postgres URL")
	case s.sqlitePath != "":
		db, err = sqlite.Open(ctx, filepath.Clean(s.sqlitePath))
	default:
		db, err = postgres.Open(ctx, s.postgresURL)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// seedBatch is how many users or sessions one transaction inserts.
const seedBatch = 20_000

func fill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	tenants := fs.Int("tenants", 1, "`number` of tenants")
	users := fs.Int("users", 1000, "`number` of users, spread over the tenants")
	sessions := fs.Int("sessions", 1000, "`number` of live sessions, spread over the users")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *tenants < 1 || *users < 1 || *sessions < 0 {
		return errors.New("want at least one tenant and one user, and no negative count of sessions")
	}
	ctx := context.Background()
	db, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()

	tenantIDs := make([]int64, *tenants)
	for i := range tenantIDs {
		t := lanyard.Tenant{Slug: fmt.Sprintf("t%05d", i), DisplayName: fmt.Sprintf("Tenant %d", i)}
		if err := db.CreateTenant(ctx, &t); err != nil {
			return fmt.Errorf("tenant %d: %w", i, err)
		}
		tenantIDs[i] = t.ID
	}
	logStep("tenants", *tenants, start)

	type account struct{ id, tenant int64 }
	accounts := make([]account, 0, *users)
	for first := 0; first < *users; first += seedBatch {
		batch := make([]*lanyard.User, 0, min(seedBatch, *users-first))
		for i := first; i < first+cap(batch); i++ {
			u := &lanyard.User{TenantID: tenantIDs[i%len(tenantIDs)], Login: fmt.Sprintf("u%07d", i), Email: fmt.Sprintf("u%07d@example.com", i),
				FirstName: "User", LastName: strconv.Itoa(i), WebAccess: true, Source: lanyard.SourceIdP,
				Roles: []lanyard.RoleGrant{{Role: "staff", Source: lanyard.RoleIdP}}}
			u.Normalize()
			batch = append(batch, u)
		}
		if err := db.CreateUsers(ctx, batch); err != nil {
			return fmt.Errorf("users from %d: %w", first, err)
		}
		for _, u := range batch {
			accounts = append(accounts, account{u.ID, u.TenantID})
		}
	}
	logStep("users", *users, start)

	// Inserted in the order of their hashes, so that the primary key and
	// the IdP-identity index grow at their end rather than at random pages
	// (a million random inserts outgrow the page cache).
	type seeded struct {
		hash []byte
		i    int
	}
	order := make([]seeded, *sessions)
	for i := range order {
		order[i] = seeded{lanyard.HashSessionID(SessionID(i)), i}
	}
	slices.SortFunc(order, func(a, b seeded) int { return bytes.Compare(a.hash, b.hash) })
	// Seen two minutes ago: a check records activity, as after a pause.
	now := time.Now()
	for first := 0; first < *sessions; first += seedBatch {
		batch := make([]*lanyard.Session, 0, min(seedBatch, *sessions-first))
		for _, o := range order[first : first+cap(batch)] {
			a := accounts[o.i%len(accounts)]
			secret := sha256.Sum256(append([]byte("csrf"), o.hash...))
			batch = append(batch, &lanyard.Session{Hash: o.hash, TenantID: a.tenant, UserID: a.id, Kind: lanyard.SessionSSO,
				IdPEntityID: "https://idp.example.com", NameID: hex.EncodeToString(o.hash[:8]), CreatedAt: now.Add(-time.Hour),
				LastSeenAt: now.Add(-2 * time.Minute), IdleExpiresAt: now.Add(8 * time.Hour), AbsExpiresAt: now.Add(24 * time.Hour),
				ClientIP: "192.0.2.1", UserAgent: "lanyard-seed", LastRefreshAt: now.Add(-time.Hour), CSRFSecret: secret[:]})
		}
		if err := db.CreateSessions(ctx, batch); err != nil {
			return fmt.Errorf("sessions from %d: %w", first, err)
		}
	}
	logStep("sessions", *sessions, start)
	return nil
}

func logStep(what string, n int, start time.Time) {
	fmt.Fprintf(os.Stderr, "lanyard-seed: %d %s (%.1fs since the start)\n", n, what, time.Since(start).Seconds())
}

// serve answers Lanyard's routes (GET /auth/verify among them) on a
// loopback port, wired as "lanyard serve" wires the session check, until
// SIGINT or SIGTERM.
func serve(args []string) error {
	// The server's garbage collector as "lanyard serve" runs it.
	gcdefault.Apply(os.LookupEnv)
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	var sf storeFlags
	sf.register(fs)
	addrFile := fs.String("addr-file", "", "`file` to write the bound address to")
	cpuProfile := fs.String("cpuprofile", "", "`file` to write a CPU profile of the whole run to")
	legacy := fs.Bool("legacy", false, "check sessions as before the scale work, as an anchor: three reads a miss, the tenant from the database, activity written on the request path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	db, err := sf.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	base := &url.URL{Scheme: "https", Host: "sso.example.com"}
	keys := identity.NewKeyRing(db, identity.KeyRingOptions{})
	if err := keys.Refresh(ctx); err != nil {
		return err
	}
	// As serve wires it (cmd/lanyard newGateway). Failed background
	// writes (the session activity) are logged: a run that lost them
	// would measure less than the work.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var cache *session.Cache
	if *legacy {
		// The store behind only lanyard.Store offers neither the one-read
		// miss nor batched activity.
		store := struct{ lanyard.Store }{db}
		cache = session.NewCache(session.NewManager(store, session.Options{}), store,
			session.CacheOptions{Activity: session.ActivityOptions{Logger: logger}})
	} else {
		tenants := tenantcfg.New(db, tenantcfg.Options{BaseURL: base})
		cache = session.NewCache(session.NewManager(db, session.Options{}), db,
			session.CacheOptions{Tenants: tenants, Activity: session.ActivityOptions{Logger: logger}})
	}
	gw, err := gateway.New(gateway.Config{BaseURL: base, Sessions: cache, Keys: keys})
	if err != nil {
		return err
	}
	srv := web.New(web.Config{BaseURL: base, Store: db, Gateway: gw, Logger: logger})
	srv.SetReady()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o600); err != nil {
			return err
		}
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go func() { <-ctx.Done(); _ = hs.Close() }()
	if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return cache.Close(context.Background())
}

func verify(args []string) error {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	targets := fs.String("addr", "", "`addresses` (comma-separated) of lanyard-seed serve processes on the seeded store, measured in turn")
	pids := fs.String("pid", "", "their `process` IDs (comma-separated), whose CPU time is measured")
	labels := fs.String("labels", "", "their `names` (comma-separated) in the report; default server1, server2...")
	sessions := fs.Int("sessions", 0, "`number` of sessions seeded by fill")
	requests := fs.Int("requests", 20_000, "`requests` per round")
	rounds := fs.Int("rounds", 5, "`rounds` of each variant, interleaved")
	clients := fs.Int("clients", 4, "concurrent `clients`")
	pgPIDFile := fs.String("postgres-pid-file", "", "postmaster.pid `file` of the PostgreSQL server, to report its CPU time too")
	returning := fs.Int("returning", 0, "also measure `N` sessions (1 to N) that come back: each round asks each of them in turn, one round after the last (tens of seconds later: past the session cache, within the token's lifetime); 0: not measured")
	settle := fs.Duration("settle", 6*time.Second, "`time` to wait after a round's last request before reading the CPU times, so that the round's background writes (the session activity, flushed every 5 s) count in it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sessions < 1 || *requests < 1 || *rounds < 1 || *clients < 1 {
		return errors.New("want -sessions, -requests, -rounds and -clients of at least 1")
	}
	if *settle < 0 {
		return errors.New("want a -settle of 0 or more")
	}
	if *returning < 0 || *returning >= *sessions {
		return errors.New("want -returning from 0 to fewer than -sessions")
	}
	type server struct {
		label, url string
		pid        int
	}
	var servers []server
	addrList, pidList, labelList := strings.Split(*targets, ","), strings.Split(*pids, ","), strings.Split(*labels, ",")
	if *targets == "" || len(addrList) != len(pidList) || (*labels != "" && len(labelList) != len(addrList)) {
		return errors.New("want as many -addr as -pid (and -labels)")
	}
	for i, a := range addrList {
		pid, err := strconv.Atoi(strings.TrimSpace(pidList[i]))
		if err != nil || pid <= 0 {
			return fmt.Errorf("-pid %q: want process IDs", *pids)
		}
		label := fmt.Sprintf("server%d", i+1)
		if *labels != "" {
			label = strings.TrimSpace(labelList[i])
		}
		servers = append(servers, server{label: label, url: "http://" + strings.TrimSpace(a) + "/auth/verify", pid: pid})
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, MaxConnsPerHost: *clients * len(servers)}, Timeout: 30 * time.Second}

	hot := SessionID(0)
	type variant struct {
		name string
		id   func(r *rand.Rand) string
	}
	variants := []variant{
		{"hot", func(*rand.Rand) string { return hot }},
		{"random", func(r *rand.Rand) string { return SessionID(r.IntN(*sessions)) }},
	}
	var next atomic.Int64 // the returning session to ask next; each run starts at the first
	if *returning > 0 {
		// In turn, so that each session comes back once per round: a
		// user whose requests are tens of seconds apart.
		variants = append(variants, variant{"returning", func(*rand.Rand) string {
			return SessionID(1 + int((next.Add(1)-1)%int64(*returning)))
		}})
	}
	run := func(srv server, v variant, n int) (cpu, dbCPU time.Duration, err error) {
		next.Store(0)
		cpuBefore, dbBefore := processCPUOr0(srv.pid), postgresCPU(*pgPIDFile)
		err = load(client, srv.url, v.id, n, *clients)
		time.Sleep(*settle)
		return processCPUOr0(srv.pid) - cpuBefore, postgresCPU(*pgPIDFile) - dbBefore, err
	}
	// A first pass warms the code paths, the tenant and the database's
	// caches, and brings every returning session once.
	for _, srv := range servers {
		for _, v := range variants {
			n := min(*requests, 2000)
			if v.name == "returning" {
				n = *returning
			}
			if _, _, err := run(srv, v, n); err != nil {
				return fmt.Errorf("%s: %w", srv.label, err)
			}
		}
	}
	perRequest := map[string][]time.Duration{}
	dbPerRequest := map[string][]time.Duration{}
	start := time.Now()
	for round := range *rounds {
		for _, srv := range servers {
			for _, v := range variants {
				cpu, dbCPU, err := run(srv, v, *requests)
				if err != nil {
					return fmt.Errorf("%s: %w", srv.label, err)
				}
				key := srv.label + " " + v.name
				perRequest[key] = append(perRequest[key], cpu/time.Duration(*requests))
				dbPerRequest[key] = append(dbPerRequest[key], dbCPU/time.Duration(*requests))
				fmt.Fprintf(os.Stderr, "lanyard-seed: round %d %s: Lanyard %s CPU per request (database %s)\n", round+1, key,
					cpu/time.Duration(*requests), dbCPU/time.Duration(*requests))
			}
		}
	}
	fmt.Printf("sessions=%d requests/round=%d rounds=%d clients=%d settle=%s loadavg=%s (%.0fs)\n\n", *sessions, *requests, *rounds, *clients, *settle, loadrun.LoadAverage(), time.Since(start).Seconds())
	fmt.Println("| server | hot: Lanyard CPU/request | random: Lanyard CPU/request | random/hot | hot: database | random: database |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, srv := range servers {
		hot, random := loadrun.Median(perRequest[srv.label+" hot"]), loadrun.Median(perRequest[srv.label+" random"])
		fmt.Printf("| %s | %s | %s | %.2f | %s | %s |\n", srv.label, hot, random, float64(random)/float64(hot),
			loadrun.Median(dbPerRequest[srv.label+" hot"]), loadrun.Median(dbPerRequest[srv.label+" random"]))
	}
	if *returning > 0 {
		fmt.Printf("\n%d returning sessions, each asked once per round:\n\n", *returning)
		fmt.Println("| server | hot: Lanyard CPU/request | returning: Lanyard CPU/request | returning/hot | returning: database |")
		fmt.Println("|---|---|---|---|---|")
		for _, srv := range servers {
			hot, back := loadrun.Median(perRequest[srv.label+" hot"]), loadrun.Median(perRequest[srv.label+" returning"])
			fmt.Printf("| %s | %s | %s | %.2f | %s |\n", srv.label, hot, back, float64(back)/float64(hot), loadrun.Median(dbPerRequest[srv.label+" returning"]))
		}
	}
	fmt.Println()
	for key, d := range perRequest {
		fmt.Printf("rounds %s: %v\n", key, d)
	}
	return nil
}

// processCPUOr0 is processCPU, 0 when it cannot be read.
func processCPUOr0(pid int) time.Duration {
	d, err := processCPU(pid)
	if err != nil {
		return 0
	}
	return d
}

// load sends n verify requests from clients goroutines.
func load(client *http.Client, verifyURL string, id func(*rand.Rand) string, n, clients int) error {
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	per := n / clients
	for c := range clients {
		count := per
		if c == 0 {
			count += n - per*clients
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			for range count {
				req, err := http.NewRequest(http.MethodGet, verifyURL, nil)
				if err != nil {
					fail(err)
					return
				}
				req.AddCookie(&http.Cookie{Name: gateway.SessionCookie, Value: id(r)})
				resp, err := client.Do(req)
				if err != nil {
					fail(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					fail(fmt.Errorf("/auth/verify answered %d: %s", resp.StatusCode, strings.TrimSpace(string(body))))
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// processCPU returns the user+system CPU time a process has used.
func processCPU(pid int) (time.Duration, error) {
	return statCPU(fmt.Sprintf("/proc/%d/stat", pid))
}

// statCPU reads the CPU time in a /proc/PID/stat file.
func statCPU(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	_, f, ok := statFields(string(b))
	if !ok {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	return time.Duration(utime+stime) * time.Second / 100, nil // USER_HZ
}

// statFields returns the fields of a /proc/PID/stat text after the
// command name (which may hold spaces), field 3 first.
func statFields(s string) (string, []string, bool) {
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return "", nil, false
	}
	f := strings.Fields(s[end+1:])
	return s[:end], f, len(f) >= 13
}

// postgresCPU sums the CPU time of the PostgreSQL server whose
// postmaster.pid file is given (the postmaster and its children); 0 when
// pidFile is empty or unreadable.
func postgresCPU(pidFile string) time.Duration {
	if pidFile == "" {
		return 0
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	master := strings.TrimSpace(first)
	var total time.Duration
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		_, f, ok := statFields(string(stat))
		if !ok || (filepath.Base(d) != master && f[1] != master) {
			continue
		}
		if t, err := statCPU(d + "/stat"); err == nil {
			total += t
		}
	}
	return total
}
