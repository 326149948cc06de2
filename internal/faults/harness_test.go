package faults

import (
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lanyard-sso/lanyard/internal/testidp"
)

// The nodes share one base URL, as behind a load balancer: the SP entity
// ID and the ACS address (the Audience and Destination of a response) are
// the same on every node, so a response accepted by one is a replay on
// the others. Requests reach a node by its own address with this Host.
const (
	baseHost   = "sso.faults.test"
	baseURL    = "http://" + baseHost
	tenantSlug = "faults"
)

// need returns the path of a command the suite drives; a missing one fails
// in CI and skips elsewhere.
func need(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is needed: %v", name, err)
		}
		t.Skipf("%s is not installed: %v", name, err)
	}
	return path
}

// buildLanyard builds the lanyard binary once for the whole suite.
func buildLanyard(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lanyard")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/lanyard").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/lanyard: %v\n%s", err, out)
	}
	return bin
}

// cluster is the nodes on one store, a tenant trusting the test IdP, and
// an HTTP client.
type cluster struct {
	t      *testing.T
	bin    string
	dir    string
	env    []string // the store: LANYARD_DATABASE=... or LANYARD_DATA=...
	idp    *testidp.IdP
	spID   string
	acsURL string
	client *http.Client
	seq    atomic.Int64 // numbers fresh users
	db     *sql.DB      // read-only checks of the rows
}

func newCluster(t *testing.T, bin string, idp *testidp.IdP, env ...string) *cluster {
	c := &cluster{t: t, bin: bin, dir: t.TempDir(), env: env, idp: idp}
	c.client = &http.Client{
		Timeout:       20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			MaxIdleConns:        64,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		},
	}
	t.Cleanup(c.client.CloseIdleConnections)
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mdFile := filepath.Join(c.dir, "idp-metadata.xml")
	if err := os.WriteFile(mdFile, md, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"tenant", "create", tenantSlug},
		{"tenant", "set", tenantSlug, "enabled=true", "jit=true", "idp_initiated=true"},
		{"idp", "import", "--tenant", tenantSlug, "--metadata", mdFile},
	} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lanyard %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return c
}

// node is one "lanyard serve" process.
type node struct {
	c       *cluster
	name    string
	addr    string // 127.0.0.1:PORT
	extra   []string
	logPath string
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	pprof   string // 127.0.0.1:PORT of the profiler, when started with one
}

// startNode starts a node and waits until it is ready.
func (c *cluster) startNode(name string, extra ...string) *node {
	c.t.Helper()
	n := &node{c: c, name: name, addr: "127.0.0.1:" + freePort(c.t), extra: extra, logPath: filepath.Join(c.dir, name+".log")}
	n.start()
	c.t.Cleanup(n.kill)
	return n
}

// start starts the node's process (again) and waits for /readyz.
func (n *node) start() {
	t := n.c.t
	t.Helper()
	logFile, err := os.OpenFile(n.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(n.c.bin, "serve")
	cmd.Env = append(os.Environ(), n.c.env...)
	cmd.Env = append(cmd.Env, "LANYARD_ADDR="+n.addr, "LANYARD_BASE_URL="+baseURL, "LANYARD_LOG_FORMAT=text")
	cmd.Env = append(cmd.Env, n.extra...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", n.name, err)
	}
	n.cmd, n.exited, n.exitErr = cmd, make(chan struct{}), nil
	go func(exited chan struct{}) {
		n.exitErr = cmd.Wait()
		close(exited)
	}(n.exited)
	if !n.waitReady(http.StatusOK, 60*time.Second) {
		t.Fatalf("%s not ready after 60s\n%s", n.name, n.logTail())
	}
}

// running reports whether the node's process is alive.
func (n *node) running() bool {
	if n.cmd == nil {
		return false
	}
	select {
	case <-n.exited:
		return false
	default:
		return true
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (n *node) kill() {
	if !n.running() {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGKILL)
	<-n.exited
}

// terminate sends SIGTERM and waits for the exit; it returns the exit
// error (nil for status 0).
func (n *node) terminate(within time.Duration) error {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
		return n.exitErr
	case <-time.After(within):
		n.kill()
		return fmt.Errorf("%s did not exit within %v of SIGTERM", n.name, within)
	}
}

// logTail returns the end of the node's log.
func (n *node) logTail() string {
	b, _ := os.ReadFile(n.logPath)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return fmt.Sprintf("--- end of %s ---\n%s", n.logPath, b)
}

// readyz returns the status and Retry-After of /readyz (0 when the node
// does not answer).
func (n *node) readyz() (int, string) {
	resp, err := n.c.client.Get("http://" + n.addr + "/readyz")
	if err != nil {
		return 0, ""
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// waitReady polls /readyz until it answers status.
func (n *node) waitReady(status int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if got, _ := n.readyz(); got == status {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-n.exited:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// metrics returns the unlabelled samples of /metrics.
func (n *node) metrics() map[string]float64 {
	resp, err := n.c.client.Get("http://" + n.addr + "/metrics")
	if err != nil {
		n.c.t.Fatalf("%s /metrics: %v", n.name, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			m[name] = f
		}
	}
	return m
}

// rss returns the resident set size of the node's process.
func (n *node) rss() int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", n.cmd.Process.Pid))
	if err != nil {
		n.c.t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// readSPMetadata reads the tenant's SP entity ID and HTTP-POST ACS address.
func (c *cluster) readSPMetadata(n *node) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.addr+"/t/"+tenantSlug+"/saml/metadata", nil)
	req.Host = baseHost
	resp, err := c.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var md struct {
		EntityID string `xml:"entityID,attr"`
		SP       struct {
			ACS []struct {
				Binding  string `xml:"Binding,attr"`
				Location string `xml:"Location,attr"`
			} `xml:"AssertionConsumerService"`
		} `xml:"SPSSODescriptor"`
	}
	if err := xml.Unmarshal(body, &md); err != nil {
		c.t.Fatalf("SP metadata: %v\n%s", err, body)
	}
	c.spID = md.EntityID
	for _, a := range md.SP.ACS {
		if strings.HasSuffix(a.Binding, ":HTTP-POST") {
			c.acsURL = a.Location
		}
	}
	if c.spID == "" || c.acsURL == "" {
		c.t.Fatalf("SP metadata without entity ID or HTTP-POST ACS:\n%s", body)
	}
}

// response returns the form of a fresh signed response for user.
func (c *cluster) response(user string) string {
	resp, err := c.idp.Response(testidp.Login{
		Destination: c.acsURL,
		Audience:    c.spID,
		NameID:      user + "@faults.test",
		Attributes:  [][2]string{{"uid", user}, {"mail", user + "@faults.test"}, {"givenName", "Fault"}, {"sn", user}},
		Now:         time.Now(),
		Validity:    10 * time.Minute,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return url.Values{"SAMLResponse": {resp}}.Encode()
}

// nextUser picks the user of a load login: one in four is a new person
// (the account is created just in time), the others come back from a pool
// of 40 (found by their link).
func (c *cluster) nextUser(prefix string) string {
	i := c.seq.Add(1)
	if i%4 == 0 {
		return fmt.Sprintf("%s-new%d", prefix, i)
	}
	return fmt.Sprintf("pool%02d", i%40)
}

// Outcome keys of a request.
const (
	outcomeOK          = "ok"
	outcomeTransport   = "transport error"
	outcomeRefused     = "connection refused"
	outcomeClosed      = "connection closed"
	outcome503NoRetry  = "503 without Retry-After"
	outcomeNoSession   = "redirect without session"
	sessionCookieName  = "lanyard_session"
	verifyOriginalPath = "/app/"
)

// postLogin posts one login form to a node: outcomeOK and the session
// cookie for a redirect that sets it, else the kind of answer.
func (c *cluster) postLogin(n *node, client int, form string) (outcome, cookie string) {
	req, _ := http.NewRequest(http.MethodPost, "http://"+n.addr+"/t/"+tenantSlug+"/saml/acs", strings.NewReader(form))
	req.Host = baseHost
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", clientAddress(client))
	resp, err := c.client.Do(req)
	if err != nil {
		return transportOutcome(err), ""
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return classify(resp, true)
}

// verify asks a node's forward-auth about a session: the status code, or
// an outcome key when it is not an answer.
func (c *cluster) verify(n *node, cookie string) string {
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.addr+"/auth/verify", nil)
	req.Host = baseHost
	req.Header.Set("X-Original-URI", verifyOriginalPath)
	req.AddCookie(&http.Cookie{Name: sessionCookieName, Value: cookie})
	resp, err := c.client.Do(req)
	if err != nil {
		return transportOutcome(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	out, _ := classify(resp, false)
	return out
}

// clientAddress is the address the load balancer in front (trusted by
// the nodes, LANYARD_TRUSTED_PROXIES) names for client i: each simulated
// browser has its own, as people do, so that the ACS's limit of requests
// in progress per client is not what the suite measures.
func clientAddress(i int) string {
	return fmt.Sprintf("192.0.2.%d", 1+i%250)
}

// transportOutcome names a request that got no answer: refused (nothing
// listens), reset or closed (the connection ended under the request), or
// another transport error.
func transportOutcome(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return outcomeRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return outcomeClosed
	}
	return outcomeTransport
}

// classify names an answer: outcomeOK for a login redirect with a session
// (or a 200 of forward-auth), a 503 without Retry-After apart, else the
// status code.
func classify(resp *http.Response, login bool) (string, string) {
	switch {
	case resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "":
		return outcome503NoRetry, ""
	case !login && resp.StatusCode == http.StatusOK:
		return outcomeOK, ""
	case login && resp.StatusCode >= 300 && resp.StatusCode < 400:
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookieName && ck.Value != "" {
				return outcomeOK, ck.Value
			}
		}
		return outcomeNoSession, ""
	}
	return strconv.Itoa(resp.StatusCode), ""
}

// served is a login answered OK.
type served struct {
	user, cookie string
	node         *node
}

// tally counts the outcomes of a load by phase.
type tally struct {
	mu       sync.Mutex
	phase    string
	phases   []string
	counts   map[string]map[string]int
	sessions []served
}

func newTally(phase string) *tally {
	tl := &tally{counts: map[string]map[string]int{}}
	tl.setPhase(phase)
	return tl
}

// setPhase starts counting under a new phase name.
func (tl *tally) setPhase(p string) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.phase = p
	if tl.counts[p] == nil {
		tl.counts[p] = map[string]int{}
		tl.phases = append(tl.phases, p)
	}
}

func (tl *tally) add(outcome string, s *served) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	tl.counts[tl.phase][outcome]++
	if s != nil {
		tl.sessions = append(tl.sessions, *s)
	}
}

// count returns the number of outcome in phase ("" for every phase).
func (tl *tally) count(phase, outcome string) int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	n := 0
	for p, m := range tl.counts {
		if phase == "" || p == phase {
			n += m[outcome]
		}
	}
	return n
}

// servedSoFar returns a copy of the sessions answered OK.
func (tl *tally) servedSoFar() []served {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return append([]served(nil), tl.sessions...)
}

// serverErrors returns the 5xx answers other than 503 with Retry-After,
// by outcome.
func (tl *tally) serverErrors() map[string]int {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	bad := map[string]int{}
	for _, m := range tl.counts {
		for k, v := range m {
			if k == outcome503NoRetry || (strings.HasPrefix(k, "5") && k != "503") {
				bad[k] += v
			}
		}
	}
	return bad
}

// String gives the counts by phase: "before: ok=120; outage: 503=40 ...".
func (tl *tally) String() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var parts []string
	for _, p := range tl.phases {
		parts = append(parts, p+": "+counts(tl.counts[p]))
	}
	return strings.Join(parts, "; ")
}

// counts formats outcome counts, OK first, the rest in order.
func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k != outcomeOK {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{fmt.Sprintf("ok=%d", m[outcomeOK])}
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%q=%d", k, m[k]))
	}
	return strings.Join(parts, " ")
}

// loadRun is logins sent by clients workers until stopped.
type loadRun struct {
	stop atomic.Bool
	wg   sync.WaitGroup
	sent atomic.Int64
}

// maxLoadLogins bounds a load run whatever its duration (a soak of
// LANYARD_FAULTS_SOAK=30m at 250 logins/s).
const maxLoadLogins = 500000

// startLoad starts clients workers that post logins, each to the next of
// targets() (the nodes a load balancer would send to), and count the
// answers in tl. With verify, each login OK is followed by a forward-auth
// check of its session on the same node, as an application would ask.
func (c *cluster) startLoad(clients int, prefix string, targets func() []*node, tl *tally, verify bool) *loadRun {
	lr := &loadRun{}
	var turn atomic.Int64
	for w := range clients {
		lr.wg.Add(1)
		go func() {
			defer lr.wg.Done()
			for !lr.stop.Load() && lr.sent.Add(1) <= maxLoadLogins {
				nodes := targets()
				if len(nodes) == 0 {
					time.Sleep(10 * time.Millisecond)
					continue
				}
				n := nodes[int(turn.Add(1))%len(nodes)]
				user := c.nextUser(prefix)
				outcome, cookie := c.postLogin(n, w, c.response(user))
				if outcome != outcomeOK {
					tl.add(outcome, nil)
					if outcome == outcomeTransport || outcome == outcomeRefused || outcome == outcomeClosed {
						time.Sleep(20 * time.Millisecond)
					}
					continue
				}
				tl.add(outcome, &served{user: user, cookie: cookie, node: n})
				if verify {
					if v := c.verify(n, cookie); v != outcomeOK {
						tl.add("verify "+v, nil)
					}
				}
			}
		}()
	}
	return lr
}

// end stops the load and waits for the requests in flight.
func (lr *loadRun) end() {
	lr.stop.Store(true)
	lr.wg.Wait()
}

// nodeSet is the nodes a load balancer sends to, changed as nodes fail.
type nodeSet struct {
	mu    sync.Mutex
	nodes []*node
}

func (s *nodeSet) get() []*node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes
}

func (s *nodeSet) set(nodes ...*node) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes = nodes
}

// freePort returns a free TCP port on 127.0.0.1.
func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// summary prints one line of figures for a scenario; scripts/faults.sh
// collects these lines.
func summary(t *testing.T, scenario, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf("FAULTS %-22s %s", scenario, fmt.Sprintf(format, args...))
	fmt.Println(line)
	if path := os.Getenv("LANYARD_FAULTS_SUMMARY"); path != "" {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
}

// testPostgres is a PostgreSQL server of scripts/pg.sh, durable (fsync,
// synchronous_commit and full_page_writes on), for the suite alone.
type testPostgres struct {
	t      *testing.T
	script string
	dir    string
	url    string
}

func startPostgres(t *testing.T) *testPostgres {
	t.Helper()
	script, err := filepath.Abs("../../scripts/pg.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "start", "--durable")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if os.Getenv("CI") != "true" && !havePostgres() {
			t.Skipf("no PostgreSQL: %v\n%s", err, stderr.String())
		}
		t.Fatalf("pg.sh start --durable: %v\n%s", err, stderr.String())
	}
	pg := &testPostgres{t: t, script: script}
	for _, line := range strings.Split(string(out), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			continue
		}
		switch k {
		case "LANYARD_TEST_PG_DIR":
			pg.dir = strings.Trim(v, "'")
		case "LANYARD_TEST_POSTGRES_URL":
			pg.url = strings.Trim(v, "'")
		}
	}
	if pg.dir == "" || pg.url == "" {
		t.Fatalf("pg.sh start printed %q", out)
	}
	t.Cleanup(func() { _ = exec.Command(script, "stop", pg.dir).Run() })
	return pg
}

func havePostgres() bool {
	m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	return len(m) > 0
}

// run runs pg.sh halt or resume.
func (pg *testPostgres) run(verb string) {
	pg.t.Helper()
	if out, err := exec.Command(pg.script, verb, pg.dir).CombinedOutput(); err != nil {
		pg.t.Fatalf("pg.sh %s: %v\n%s", verb, err, out)
	}
}

// crash kills the postmaster and every process it started with SIGKILL,
// as the machine's crash or the OOM killer would: nothing is flushed, the
// next start recovers from the WAL.
func (pg *testPostgres) crash() int {
	pg.t.Helper()
	b, err := os.ReadFile(filepath.Join(pg.dir, "data", "postmaster.pid"))
	if err != nil {
		pg.t.Fatalf("postmaster.pid: %v", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	master, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		pg.t.Fatalf("postmaster.pid: %q", first)
	}
	pids := append([]int{master}, childrenOf(master)...)
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	// Wait until they are gone, so that the restart finds no process on
	// the shared memory.
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return len(pids)
}

var statPPID = regexp.MustCompile(`\) \S+ (\d+) `)

// childrenOf returns the processes whose parent is pid.
func childrenOf(pid int) []int {
	var kids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, d := range dirs {
		b, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		m := statPPID.FindSubmatch(b)
		if m == nil || string(m[1]) != strconv.Itoa(pid) {
			continue
		}
		if kid, err := strconv.Atoi(filepath.Base(filepath.Dir(d))); err == nil {
			kids = append(kids, kid)
		}
	}
	return kids
}

// queryInt runs a query that returns one integer.
func queryInt(ctx context.Context, db *sql.DB, query string) (int64, error) {
	var n sql.NullInt64
	if err := db.QueryRowContext(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("%s: %w", query, err)
	}
	return n.Int64, nil
}
