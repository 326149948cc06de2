package faults

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/lanyard-sso/lanyard/internal/testidp"
)

// TestFaults is the fault suite. Each scenario prints a "FAULTS" line with
// its figures; scripts/faults.sh runs it and collects them.
func TestFaults(t *testing.T) {
	if os.Getenv("LANYARD_FAULTS") == "" {
		t.Skip("the fault suite runs with LANYARD_FAULTS=1 (scripts/faults.sh)")
	}
	if runtime.GOOS != "linux" {
		t.Skip("the suite reads /proc and uses prlimit: Linux only")
	}
	need(t, "prlimit")
	need(t, "sqlite3")
	bin := buildLanyard(t)
	idp, err := testidp.New("https://idp.faults.test/idp", testidp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	idp.SSOURL = "https://idp.faults.test/sso"
	t.Run("postgres", func(t *testing.T) { testPostgresCluster(t, bin, idp) })
	t.Run("sqlite", func(t *testing.T) { testSQLiteNode(t, bin, idp) })
}

// soakDuration is the length of the soak's load (LANYARD_FAULTS_SOAK).
func soakDuration(t *testing.T) time.Duration {
	v := os.Getenv("LANYARD_FAULTS_SOAK")
	if v == "" {
		return 60 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Second || d > 30*time.Minute {
		t.Fatalf("LANYARD_FAULTS_SOAK=%q: want a duration between 1s and 30m", v)
	}
	return d
}

// testPostgresCluster runs 3 nodes on one durable PostgreSQL through node
// crashes, database outages and crashes, replays, races and a drain.
func testPostgresCluster(t *testing.T, bin string, idp *testidp.IdP) {
	pg := startPostgres(t)
	c := newCluster(t, bin, idp, "LANYARD_DATABASE="+pg.url)
	db, err := sql.Open("pgx", pg.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(2)
	c.db = db

	// A short write probe: readiness follows the database within half a
	// second. Node 1 serves the profiler for the soak's forced GC, and
	// keeps sessions in its cache for 1s so that the soak's idle phase
	// empties it.
	common := []string{"LANYARD_WRITE_PROBE_INTERVAL=500ms", "LANYARD_TRUSTED_PROXIES=127.0.0.1"}
	// pg-node1 soaks: its identity tokens live 30 s (the least), so that
	// those kept for reuse are gone within 20 s of the load's end.
	n1 := c.startNode("pg-node1", append(common, "LANYARD_PPROF_ADDR=127.0.0.1:"+freePort(t), "LANYARD_SESSION_CACHE_TTL=1s",
		"LANYARD_IDENTITY_TOKEN_TTL=30s")...)
	n1.pprof = envValue(n1.extra, "LANYARD_PPROF_ADDR")
	n2 := c.startNode("pg-node2", common...)
	n3 := c.startNode("pg-node3", common...)
	c.readSPMetadata(n1)
	all := []*node{n1, n2, n3}

	t.Run("replay", func(t *testing.T) { scenarioReplay(t, c, all) })
	t.Run("first-login-race", func(t *testing.T) { scenarioFirstLoginRace(t, c, all) })
	t.Run("node-kill", func(t *testing.T) { scenarioNodeKill(t, c, n1, n2, n3) })
	t.Run("pg-halt", func(t *testing.T) { scenarioPostgresOutage(t, c, pg, all, false) })
	t.Run("pg-kill", func(t *testing.T) { scenarioPostgresOutage(t, c, pg, all, true) })
	t.Run("sigterm", func(t *testing.T) { scenarioSIGTERM(t, c, n3, n1) })
	t.Run("rows", func(t *testing.T) { checkRows(t, c.db, "pg-rows") })
	t.Run("soak", func(t *testing.T) { scenarioSoak(t, c, n1) })
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// scenarioReplay posts each of a few responses to every node twice at
// once: exactly one post of each logs in.
func scenarioReplay(t *testing.T, c *cluster, nodes []*node) {
	const rounds, copies = 5, 2
	outcomes := map[string]int{}
	accepted := 0
	for r := range rounds {
		form := c.response(fmt.Sprintf("replay%d", r))
		results := make([]string, copies*len(nodes))
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results[i], _ = c.postLogin(nodes[i%len(nodes)], i, form)
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, o := range results {
			outcomes[o]++
			if o == outcomeOK {
				ok++
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of %d posts of one response logged in, want exactly 1: %v", r, ok, len(results), results)
		}
		accepted += ok
	}
	for k := range outcomes {
		if strings.HasPrefix(k, "5") {
			t.Errorf("a replay was answered %s: %v", k, outcomes)
		}
	}
	summary(t, "replay", "responses=%d posts=%d (to %d nodes at once) accepted=%d answers: %s",
		rounds, rounds*copies*len(nodes), len(nodes), accepted, counts(outcomes))
}

// scenarioFirstLoginRace logs a few new people in on every node at once
// (distinct responses): each gets exactly one account.
func scenarioFirstLoginRace(t *testing.T, c *cluster, nodes []*node) {
	const people = 6
	outcomes := map[string]int{}
	var mu sync.Mutex
	for p := range people {
		user := fmt.Sprintf("race%d", p)
		forms := make([]string, len(nodes))
		for i := range forms {
			forms[i] = c.response(user)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, n := range nodes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				o, _ := c.postLogin(n, i, forms[i])
				mu.Lock()
				outcomes[o]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
	}
	ctx := context.Background()
	tenant := tenantID(t, c.db)
	accounts, err := queryInt(ctx, c.db, fmt.Sprintf(`SELECT count(*) FROM users WHERE tenant_id = %d AND email_lower LIKE 'race%%'`, tenant))
	if err != nil {
		t.Fatal(err)
	}
	dups, err := queryInt(ctx, c.db, fmt.Sprintf(`SELECT count(*) FROM (SELECT email_lower FROM users WHERE tenant_id = %d AND email_lower LIKE 'race%%' GROUP BY email_lower HAVING count(*) > 1) d`, tenant))
	if err != nil {
		t.Fatal(err)
	}
	if accounts != people || dups != 0 {
		t.Errorf("%d accounts (%d people with more than one) for %d new people, want one each", accounts, dups, people)
	}
	for k := range outcomes {
		if strings.HasPrefix(k, "5") {
			t.Errorf("a simultaneous first login was answered %s: %v", k, outcomes)
		}
	}
	summary(t, "first-login-race", "people=%d logins=%d (one per node at once) answers: %s accounts=%d duplicates=%d",
		people, people*len(nodes), counts(outcomes), accounts, dups)
}

// scenarioNodeKill kills node 2 with SIGKILL under login load on the 3
// nodes: every session answered OK (before and after) is good on the
// other nodes, and no person has two accounts.
func scenarioNodeKill(t *testing.T, c *cluster, n1, n2, n3 *node) {
	set := &nodeSet{}
	set.set(n1, n2, n3)
	tl := newTally("before kill")
	lr := c.startLoad(6, "kill", set.get, tl, false)
	time.Sleep(4 * time.Second)
	tl.setPhase("kill")
	n2.kill()
	// Every login answered OK so far was answered before the process died.
	beforeKill := len(tl.servedSoFar())
	// The load balancer's health check notices a moment later.
	time.Sleep(300 * time.Millisecond)
	set.set(n1, n3)
	time.Sleep(3 * time.Second)
	lr.end()

	sessions := tl.servedSoFar()
	checked := checkSessions(t, c, sessions, func(s served) *node {
		if s.node == n1 {
			return n3
		}
		return n1
	})
	dups := duplicateAccounts(t, c.db)
	if dups != 0 {
		t.Errorf("%d people have more than one account", dups)
	}
	if bad := tl.serverErrors(); len(bad) > 0 {
		t.Errorf("5xx answers other than 503 with Retry-After: %v (%s)", bad, tl)
	}
	n2.start()
	summary(t, "node-kill", "logins %s | sessions OK before the kill=%d, all sessions checked on another node: %s | duplicate accounts=%d",
		tl, beforeKill, counts(checked), dups)
}

// checkSessions asks forward-auth about each session on the node other
// picks: every one must be good. It returns the answers by outcome.
func checkSessions(t *testing.T, c *cluster, sessions []served, other func(served) *node) map[string]int {
	t.Helper()
	out := map[string]int{}
	var firstBad string
	for _, s := range sessions {
		n := other(s)
		o := c.verify(n, s.cookie)
		out[o]++
		if o != outcomeOK && firstBad == "" {
			firstBad = fmt.Sprintf("session of %s from %s, asked on %s: %s", s.user, s.node.name, n.name, o)
		}
	}
	if out[outcomeOK] != len(sessions) {
		t.Errorf("%d of %d sessions answered OK are not good on the other nodes (%s); first: %s", len(sessions)-out[outcomeOK], len(sessions), counts(out), firstBad)
	}
	return out
}

// scenarioPostgresOutage stops PostgreSQL (pg.sh halt, a fast shutdown) or
// crashes it (SIGKILL of every process) under login load: meanwhile the
// nodes answer 503 with Retry-After and never 500, /readyz says 503; they
// recover alone when it is back. After a crash every session answered OK
// before it is still good: durable commits.
func scenarioPostgresOutage(t *testing.T, c *cluster, pg *testPostgres, nodes []*node, crash bool) {
	name := "pg-halt"
	if crash {
		name = "pg-kill"
	}
	set := &nodeSet{}
	set.set(nodes...)
	tl := newTally("before")
	lr := c.startLoad(6, name, set.get, tl, false)
	defer lr.end()
	time.Sleep(2 * time.Second)
	tl.setPhase("outage")
	outageStart := time.Now()
	beforeOutage := tl.servedSoFar()
	killed := 0
	if crash {
		killed = pg.crash()
	} else {
		pg.run("halt")
	}
	// Readiness follows within the write probe's interval.
	notReady := 0
	for _, n := range nodes {
		if n.waitReady(http.StatusServiceUnavailable, 10*time.Second) {
			notReady++
			if _, ra := n.readyz(); ra == "" {
				t.Errorf("%s: /readyz 503 without Retry-After during the outage", n.name)
			}
		}
	}
	if notReady != len(nodes) {
		t.Errorf("%d of %d nodes answered /readyz 503 during the outage", notReady, len(nodes))
	}
	// Forward-auth meanwhile: answered from the cache or 503, never 500.
	verifyDuring := map[string]int{}
	for i, s := range beforeOutage[:min(len(beforeOutage), 30)] {
		verifyDuring[c.verify(nodes[i%len(nodes)], s.cookie)]++
	}
	for k := range verifyDuring {
		if k != outcomeOK && k != "503" {
			t.Errorf("/auth/verify during the outage answered %s: %v", k, verifyDuring)
		}
	}
	if d := 5*time.Second - time.Since(outageStart); d > 0 {
		time.Sleep(d)
	}
	tl.setPhase("recovery")
	restart := time.Now()
	pg.run("resume")
	pgBack := time.Since(restart)
	resumed := time.Now()
	var recovered time.Duration
	for _, n := range nodes {
		if !n.waitReady(http.StatusOK, 30*time.Second) {
			t.Errorf("%s not ready 30s after PostgreSQL is back\n%s", n.name, n.logTail())
		}
	}
	recovered = time.Since(resumed)
	tl.setPhase("after")
	time.Sleep(3 * time.Second)
	lr.end()

	if bad := tl.serverErrors(); len(bad) > 0 {
		t.Errorf("5xx answers other than 503 with Retry-After: %v (%s)", bad, tl)
	}
	if tl.count("outage", "503") == 0 {
		t.Errorf("no login answered 503 during the outage: %s", tl)
	}
	if tl.count("after", outcomeOK) == 0 {
		t.Errorf("no login succeeded after the recovery: %s", tl)
	}
	extra := ""
	if crash {
		// Commits acknowledged before the crash survive it.
		checked := checkSessions(t, c, beforeOutage, func(s served) *node {
			for _, n := range nodes {
				if n != s.node {
					return n
				}
			}
			return s.node
		})
		extra = fmt.Sprintf(" | processes killed=%d, sessions OK before the crash checked after it: %s", killed, counts(checked))
	}
	summary(t, name, "logins %s | /readyz 503 on %d/%d nodes, /auth/verify during: %s | PostgreSQL up %.1fs after pg.sh resume began, all nodes ready %.1fs later%s",
		tl, notReady, len(nodes), counts(verifyDuring), pgBack.Seconds(), recovered.Seconds(), extra)
}

// scenarioSIGTERM sends SIGTERM to a node under login load: no client is
// answered 5xx, the node exits 0, and every login it answered OK is good
// on another node.
func scenarioSIGTERM(t *testing.T, c *cluster, victim, other *node) {
	set := &nodeSet{}
	set.set(victim)
	tl := newTally("before")
	lr := c.startLoad(4, "term", set.get, tl, false)
	time.Sleep(2 * time.Second)
	tl.setPhase("draining")
	start := time.Now()
	exitErr := victim.terminate(20 * time.Second)
	drain := time.Since(start)
	tl.setPhase("after exit")
	time.Sleep(200 * time.Millisecond)
	lr.end()
	if exitErr != nil {
		t.Errorf("%s after SIGTERM: %v\n%s", victim.name, exitErr, victim.logTail())
	}
	if bad := tl.serverErrors(); len(bad) > 0 {
		t.Errorf("5xx answers during the drain: %v (%s)", bad, tl)
	}
	for _, p := range []string{"before", "draining"} {
		if n := tl.count(p, "500"); n > 0 {
			t.Errorf("%d answers 500 in phase %s", n, p)
		}
	}
	checked := checkSessions(t, c, tl.servedSoFar(), func(served) *node { return other })
	summary(t, "sigterm", "logins %s | exit after %.2fs: %v | sessions checked on %s: %s",
		tl, drain.Seconds(), exitStatus(exitErr), other.name, counts(checked))
}

func exitStatus(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// memSample is the memory and goroutines of a node at one moment.
type memSample struct {
	rss, heap, goroutines, cacheEntries, cacheBytes, keptTokenBytes float64
}

// sample reads a node's memory; with gc it first has the node collect
// garbage (the profiler's heap profile with gc=1), so that the heap is
// what is live.
func sample(t *testing.T, c *cluster, n *node, gc bool) memSample {
	t.Helper()
	if gc {
		resp, err := c.client.Get("http://" + n.pprof + "/debug/pprof/heap?gc=1")
		if err != nil {
			t.Fatalf("forced GC: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	m := n.metrics()
	return memSample{
		rss:            float64(n.rss()),
		heap:           m["go_memstats_heap_alloc_bytes"],
		goroutines:     m["go_goroutines"],
		cacheEntries:   m["lanyard_session_cache_entries"],
		cacheBytes:     m["lanyard_session_cache_bytes"],
		keptTokenBytes: m["lanyard_gateway_kept_token_bytes"],
	}
}

// max returns the larger of each figure.
func (m memSample) max(o memSample) memSample {
	return memSample{
		rss: max(m.rss, o.rss), heap: max(m.heap, o.heap), goroutines: max(m.goroutines, o.goroutines),
		cacheEntries: max(m.cacheEntries, o.cacheEntries), cacheBytes: max(m.cacheBytes, o.cacheBytes),
		keptTokenBytes: max(m.keptTokenBytes, o.keptTokenBytes),
	}
}

func mib(v float64) string { return fmt.Sprintf("%.1f", v/(1<<20)) }

// scenarioSoak runs logins with a forward-auth check of each session on
// one node for a bounded time, then leaves it idle: the session cache
// empties, the identity tokens kept for reuse go once past half their
// lifetime (15 s on that node), and the heap and goroutines come back
// near where they started.
func scenarioSoak(t *testing.T, c *cluster, n *node) {
	dur := soakDuration(t)
	warm := newTally("warm-up")
	lr := c.startLoad(2, "soak", func() []*node { return []*node{n} }, warm, true)
	time.Sleep(2 * time.Second)
	lr.end()
	time.Sleep(2 * time.Second) // the cache's TTL (1s) and a sweep
	start := sample(t, c, n, true)

	tl := newTally("soak")
	lr = c.startLoad(4, "soak", func() []*node { return []*node{n} }, tl, true)
	// The peak of samples every 5 s under load.
	var peak memSample
	for deadline := time.Now().Add(dur); time.Now().Before(deadline); {
		time.Sleep(min(5*time.Second, time.Until(deadline)))
		peak = peak.max(sample(t, c, n, false))
	}
	lr.end()
	// Idle: the cache's entries expire (TTL 1s) and its sweep drops them;
	// the kept tokens' timer drops them within 20 s.
	time.Sleep(3 * time.Second)
	idle := time.Now()
	for sample(t, c, n, false).keptTokenBytes > 0 && time.Since(idle) < 40*time.Second {
		time.Sleep(time.Second)
	}
	end := sample(t, c, n, true)
	if peak.keptTokenBytes == 0 {
		t.Errorf("no identity token kept for reuse during the soak: the check did not sign any, or the metric is gone")
	}
	if end.keptTokenBytes != 0 {
		t.Errorf("%s MiB of identity tokens still kept %.0fs after the load ended, want none past their reuse window", mib(end.keptTokenBytes), time.Since(idle).Seconds()+3)
	}

	if bad := tl.serverErrors(); len(bad) > 0 {
		t.Errorf("5xx answers during the soak: %v (%s)", bad, tl)
	}
	if tl.count("", outcomeOK) == 0 {
		t.Errorf("no login during the soak: %s", tl)
	}
	// Near the start: the live heap within 8 MiB (the pools and the
	// tenant's cached configuration may keep a little), goroutines within
	// 10 (idle keep-alive connections), an empty session cache.
	if end.heap > start.heap+8<<20 {
		t.Errorf("live heap %s MiB when idle after the soak, %s MiB before it", mib(end.heap), mib(start.heap))
	}
	if end.goroutines > start.goroutines+10 {
		t.Errorf("%v goroutines when idle after the soak, %v before it", end.goroutines, start.goroutines)
	}
	if end.cacheEntries != 0 {
		t.Errorf("the session cache holds %v entries when idle, want 0", end.cacheEntries)
	}
	summary(t, "soak", "%s of load on %s: logins %s | peak of samples every 5s under load; RSS MiB start/peak/idle %s/%s/%s | live heap MiB %s/%s/%s | goroutines %v/%v/%v | session cache entries %v/%v/%v (%s MiB at peak) | kept tokens MiB at peak %s, gone %.0fs after the load",
		dur, n.name, tl, mib(start.rss), mib(peak.rss), mib(end.rss), mib(start.heap), mib(peak.heap), mib(end.heap),
		start.goroutines, peak.goroutines, end.goroutines, start.cacheEntries, peak.cacheEntries, end.cacheEntries, mib(peak.cacheBytes),
		mib(peak.keptTokenBytes), time.Since(idle).Seconds()+3)
}

// testSQLiteNode kills a node on SQLite under login load and restarts it,
// then fills its volume under load (RLIMIT_FSIZE of 1 byte: every write to
// a file fails with EFBIG, as on a full disk) and gives the space back;
// the database passes SQLite's integrity check afterwards.
func testSQLiteNode(t *testing.T, bin string, idp *testidp.IdP) {
	prlimit := need(t, "prlimit")
	sqlite3 := need(t, "sqlite3")
	data := t.TempDir()
	c := newCluster(t, bin, idp, "LANYARD_DATA="+data)
	n := c.startNode("sqlite", "LANYARD_WRITE_PROBE_INTERVAL=200ms", "LANYARD_MIN_FREE_MB=0", "LANYARD_TRUSTED_PROXIES=127.0.0.1")
	c.readSPMetadata(n)
	limit := func(v string) {
		t.Helper()
		out, err := exec.Command(prlimit, "--pid", strconv.Itoa(n.cmd.Process.Pid), "--fsize="+v).CombinedOutput()
		if err != nil {
			t.Fatalf("prlimit --fsize=%s: %v: %s", v, err, out)
		}
	}

	only := func() []*node { return []*node{n} }

	// SIGKILL under load, then a restart on the same data directory: the
	// lock on it went with the process, the database opens, and every
	// session answered OK before the kill is still good.
	kl := newTally("before kill")
	lr := c.startLoad(3, "skill", only, kl, false)
	time.Sleep(3 * time.Second)
	kl.setPhase("kill")
	n.kill()
	beforeKill := kl.servedSoFar()
	time.Sleep(200 * time.Millisecond)
	lr.end()
	restart := time.Now()
	n.start()
	ready := time.Since(restart)
	checked := checkSessions(t, c, beforeKill, func(served) *node { return n })
	if bad := kl.serverErrors(); len(bad) > 0 {
		t.Errorf("5xx answers around the kill: %v (%s)", bad, kl)
	}
	summary(t, "sqlite-kill", "logins %s | restarted and ready in %.1fs | sessions OK before the kill checked after the restart: %s",
		kl, ready.Seconds(), counts(checked))

	tl := newTally("before")
	lr = c.startLoad(3, "full", only, tl, false)
	defer lr.end()
	time.Sleep(2 * time.Second)
	tl.setPhase("full")
	limit("1:unlimited")
	full := time.Now()
	dropped := n.waitReady(http.StatusServiceUnavailable, 10*time.Second)
	drop := time.Since(full)
	if !dropped {
		t.Errorf("/readyz still 200 10s after the volume filled\n%s", n.logTail())
	}
	if _, ra := n.readyz(); dropped && ra == "" {
		t.Error("/readyz 503 without Retry-After on a full volume")
	}
	time.Sleep(3 * time.Second)
	tl.setPhase("space back")
	limit("unlimited:unlimited")
	back := time.Now()
	if !n.waitReady(http.StatusOK, 20*time.Second) {
		t.Errorf("/readyz not 200 20s after the space came back\n%s", n.logTail())
	}
	recovered := time.Since(back)
	tl.setPhase("after")
	time.Sleep(2 * time.Second)
	lr.end()

	if bad := tl.serverErrors(); len(bad) > 0 {
		t.Errorf("5xx answers other than 503 with Retry-After: %v (%s)", bad, tl)
	}
	if tl.count("full", "503") == 0 {
		t.Errorf("no login answered 503 on the full volume: %s", tl)
	}
	if tl.count("after", outcomeOK) == 0 {
		t.Errorf("no login succeeded once the space was back: %s", tl)
	}
	if err := n.terminate(20 * time.Second); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
	dbFile := filepath.Join(data, "lanyard.db")
	out, err := exec.Command(sqlite3, dbFile, "PRAGMA integrity_check").CombinedOutput()
	integrity := strings.TrimSpace(string(out))
	if err != nil || integrity != "ok" {
		t.Errorf("sqlite3 %s 'PRAGMA integrity_check': %v: %s", dbFile, err, out)
	}
	db, err := sql.Open("sqlite", dbFile+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c.db = db
	summary(t, "sqlite-full", "logins %s | /readyz 503 %.1fs after the volume filled, 200 %.1fs after the space came back | integrity_check: %s",
		tl, drop.Seconds(), recovered.Seconds(), integrity)
	checkRows(t, db, "sqlite-rows")
}

// tenantID returns the suite's tenant's ID.
func tenantID(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(`SELECT id FROM tenants WHERE slug = 'faults'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// duplicateAccounts counts the people (an e-mail address) with more than
// one account in the tenant.
func duplicateAccounts(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	n, err := queryInt(context.Background(), db, fmt.Sprintf(
		`SELECT count(*) FROM (SELECT email_lower FROM users WHERE tenant_id = %d GROUP BY email_lower HAVING count(*) > 1) d`, tenantID(t, db)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// checkRows looks for the rows of a login left without the rest: an
// account without its link or its login's audit event, a session without
// its audit event, a person with two accounts.
func checkRows(t *testing.T, db *sql.DB, scenario string) {
	t.Helper()
	tenant := tenantID(t, db)
	ctx := context.Background()
	queries := []struct {
		name   string
		query  string
		wantOK bool // the count must be 0
	}{
		{"accounts", `SELECT count(*) FROM users WHERE tenant_id = %d`, false},
		{"sessions", `SELECT count(*) FROM sessions WHERE tenant_id = %d`, false},
		{"login events", `SELECT count(*) FROM audit_events WHERE tenant_id = %d AND action = 'sso.login' AND outcome = 'success'`, false},
		{"accounts without link", `SELECT count(*) FROM users u WHERE u.tenant_id = %d AND NOT EXISTS (SELECT 1 FROM user_links l WHERE l.user_id = u.id)`, true},
		{"accounts without login event", `SELECT count(*) FROM users u WHERE u.tenant_id = %d AND NOT EXISTS (SELECT 1 FROM audit_events a WHERE a.user_id = u.id AND a.action = 'sso.login' AND a.outcome = 'success')`, true},
		{"accounts with more sessions than login events", `SELECT count(*) FROM (SELECT user_id, count(*) AS n FROM sessions WHERE tenant_id = %d GROUP BY user_id) s WHERE s.n > (SELECT count(*) FROM audit_events a WHERE a.user_id = s.user_id AND a.action = 'sso.login' AND a.outcome = 'success')`, true},
		{"duplicate accounts", `SELECT count(*) FROM (SELECT email_lower FROM users WHERE tenant_id = %d GROUP BY email_lower HAVING count(*) > 1) d`, true},
	}
	got := map[string]int64{}
	var parts []string
	for _, q := range queries {
		n, err := queryInt(ctx, db, fmt.Sprintf(q.query, tenant))
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		got[q.name] = n
		parts = append(parts, fmt.Sprintf("%s=%d", q.name, n))
		if q.wantOK && n != 0 {
			t.Errorf("%s: %d, want 0", q.name, n)
		}
	}
	// Nothing ends a session in the suite: one session per login event.
	if got["sessions"] != got["login events"] {
		t.Errorf("%d sessions for %d login events, want one each", got["sessions"], got["login events"])
	}
	summary(t, scenario, "%s", strings.Join(parts, " "))
}
