package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// result is what one concurrency level measured.
type result struct {
	mode, engine string
	hasDB        bool // a database server's CPU is measured (PostgreSQL)
	clients      int
	attempted    int
	ok           int
	byStatus     map[string]int // failures by status ("303 without session cookie", "500", "transport error")
	firstError   string
	elapsed      time.Duration
	latencies    []time.Duration // of successful logins, sorted
	serverCPU    time.Duration
	dbCPU        time.Duration // PostgreSQL processes; 0 with SQLite
	clientCPU    time.Duration
	// machineCPU is the CPU time of the whole machine (every core) during
	// the run; what the server, PostgreSQL and this client did not use went
	// to other processes, which depresses the figures.
	machineCPU time.Duration
	prep       prepStats
}

func (r result) failed() int { return r.attempted - r.ok }

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.ok) / r.elapsed.Seconds()
}

func (r result) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

func perLogin(d time.Duration, n int) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)/float64(n))
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

const markdownHeader = "| engine | mode | clients | logins | errors | logins/s | p50 | p90 | p99 | server CPU/login | PostgreSQL CPU/login | client CPU/login | other processes |\n" +
	"|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"

func (r result) print(w io.Writer, o options) {
	if o.format == "markdown" {
		db := "-"
		if r.hasDB {
			db = perLogin(r.dbCPU, r.ok)
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %.0f | %s | %s | %s | %s | %s | %s | %.0f%% |\n",
			r.engine, r.mode, r.clients, r.ok, r.failed(), r.rate(), ms(r.percentile(0.5)), ms(r.percentile(0.9)), ms(r.percentile(0.99)),
			perLogin(r.serverCPU, r.ok), db, perLogin(r.clientCPU, r.ok), 100*r.othersShare())
		return
	}
	fmt.Fprintf(w, "%s, %s-initiated, %d clients: %d logins in %s, %d errors\n", r.engine, strings.ToUpper(r.mode), r.clients, r.ok, r.elapsed.Round(time.Millisecond), r.failed())
	fmt.Fprintf(w, "  logins/s          %.0f\n", r.rate())
	fmt.Fprintf(w, "  latency           p50 %s  p90 %s  p99 %s  max %s\n", ms(r.percentile(0.5)), ms(r.percentile(0.9)), ms(r.percentile(0.99)), ms(r.percentile(1)))
	fmt.Fprintf(w, "  CPU per login     server %s", perLogin(r.serverCPU, r.ok))
	if r.hasDB {
		fmt.Fprintf(w, ", PostgreSQL %s", perLogin(r.dbCPU, r.ok))
	}
	fmt.Fprintf(w, ", client %s (server %.0f%% of a core)\n", perLogin(r.clientCPU, r.ok), 100*r.serverCPU.Seconds()/max(r.elapsed.Seconds(), 1e-9))
	fmt.Fprintf(w, "  other processes   %.0f%% of the machine's %d cores during the run\n", 100*r.othersShare(), runtime.NumCPU())
	if r.prep.spStarts > 0 {
		fmt.Fprintf(w, "  SP-initiated starts (GET /saml/login, untimed, 8 clients): %d in %s\n", r.attempted, r.prep.spStarts.Round(time.Millisecond))
	}
	if len(r.byStatus) > 0 {
		keys := make([]string, 0, len(r.byStatus))
		for k := range r.byStatus {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "  errors %-28s %d\n", k, r.byStatus[k])
		}
		fmt.Fprintf(w, "  first error: %s\n", r.firstError)
	}
}

// serverProfiles are the files to write the server's profiles to during a
// level ("": not taken).
type serverProfiles struct{ cpu, trace string }

type serverProfile struct{ what, endpoint, path, tool string }

func (p serverProfiles) list() []serverProfile {
	var out []serverProfile
	if p.cpu != "" {
		out = append(out, serverProfile{"CPU profile", "profile", p.cpu, "go tool pprof -top"})
	}
	if p.trace != "" {
		out = append(out, serverProfile{"runtime trace", "trace", p.trace, "go tool trace"})
	}
	return out
}

// runLevel prepares n logins and posts them with c clients.
func (h *harness) runLevel(ctx context.Context, c int, profiles serverProfiles) (result, error) {
	res := result{mode: h.o.mode, engine: h.label(), hasDB: h.o.postgresPIDFile != "", clients: c, byStatus: map[string]int{}}
	fmt.Fprintf(h.stderr, "acsload: preparing %d signed responses (%s-initiated)\n", h.o.n, h.o.mode)
	logins, prep, err := h.prepare(ctx, h.o.n)
	if err != nil {
		return res, err
	}
	res.prep = prep
	fmt.Fprintf(h.stderr, "acsload: signed in %s; posting with %d clients\n", prep.signing.Round(time.Millisecond), c)

	var profileDone []chan error
	for _, p := range profiles.list() {
		if h.pprof == "" {
			break
		}
		done := make(chan error, 1)
		profileDone = append(profileDone, done)
		go func() { done <- h.fetchProfile(ctx, p.endpoint, p.path) }()
	}

	acs := h.base + "/t/" + h.slug + "/saml/acs"
	post := func(ctx context.Context, client *http.Client, l login) (string, string) {
		return h.post(ctx, client, acs, l)
	}
	res, err = timedRun(ctx, res, c, h.o.timeout, logins, h.clients, post, h.cpu)
	if err != nil {
		return res, err
	}
	for i, p := range profiles.list() {
		if i >= len(profileDone) {
			break
		}
		if err := <-profileDone[i]; err != nil {
			fmt.Fprintf(h.stderr, "acsload: %s of the server: %v\n", p.what, err)
		} else {
			fmt.Fprintf(h.stderr, "acsload: %s of the server written to %s (%s %s)\n", p.what, p.path, p.tool, p.path)
		}
	}
	return res, nil
}

// post sends one login and classifies the answer: "" for success (a
// redirect setting lanyard_session), else the kind of failure and a detail.
func (h *harness) post(ctx context.Context, client *http.Client, acs string, l login) (outcome, detail string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, acs, bytes.NewReader(l.body))
	if err != nil {
		return "request error", err.Error()
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if l.cookie != "" {
		req.Header.Set("Cookie", l.cookie)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "transport error", err.Error()
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		for _, c := range resp.Cookies() {
			if c.Name == "lanyard_session" && c.Value != "" {
				return "", ""
			}
		}
		return resp.Status + " without session cookie", resp.Header.Get("Location")
	}
	return resp.Status, fmt.Sprintf("%s: %s", resp.Status, snippet(body))
}

// snippet returns the readable text of an HTML error page, shortened.
func snippet(body []byte) string {
	s := string(body)
	if i := strings.Index(s, "<main"); i >= 0 {
		s = s[i:]
	}
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
		case r == '>':
			inTag = false
			b.WriteByte(' ')
		case !inTag:
			b.WriteRune(r)
		}
	}
	text := strings.Join(strings.Fields(b.String()), " ")
	if len(text) > 300 {
		text = text[:300] + "..."
	}
	return text
}

// fetchProfile saves a profile of the server (endpoint "profile" or
// "trace" of net/http/pprof) taken over the first seconds of the timed
// phase.
func (h *harness) fetchProfile(ctx context.Context, endpoint, path string) error {
	u := fmt.Sprintf("http://%s/debug/pprof/%s?seconds=%d", h.pprof, endpoint, h.o.profileSecs)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, resp.Status)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// cpu reads the CPU time of the server process and of PostgreSQL's.
func (h *harness) cpu() (server, db time.Duration, err error) {
	server, err = processCPU(h.server.Process.Pid)
	return server, postgresCPU(h.o.postgresPIDFile), err
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat times (100 on Linux).
const clockTicks = 100

// processCPU returns the user+system CPU time a process has used.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("CPU time of process %d: %w", pid, err)
	}
	// The command name (field 2) may hold spaces; fields after it are
	// counted from the closing parenthesis.
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return 0, fmt.Errorf("CPU time of process %d: unexpected /proc format", pid)
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("CPU time of process %d: unexpected /proc format", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("CPU time of process %d: unexpected /proc format", pid)
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// postgresCPU returns the CPU time of the PostgreSQL server whose
// postmaster.pid file is given: the postmaster, its live children, and
// through its cumulative children's time those that exited (a backend
// whose connection the pool closed); 0 when pidFile is empty or
// unreadable.
func postgresCPU(pidFile string) time.Duration {
	if pidFile == "" {
		return 0
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0
	}
	first, _, _ := strings.Cut(string(b), "\n")
	master, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0
	}
	return processTreeCPU(master)
}

// machineCPU returns the busy CPU time of the whole machine, all cores,
// from /proc/stat (0 when unreadable).
func machineCPU() time.Duration {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:8] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// othersShare is the share of the machine's capacity during the run used
// by processes other than the server, PostgreSQL and this client.
func (r result) othersShare() float64 {
	capacity := r.elapsed.Seconds() * float64(runtime.NumCPU())
	if capacity <= 0 || r.machineCPU == 0 {
		return 0
	}
	others := (r.machineCPU - r.serverCPU - r.dbCPU - r.clientCPU).Seconds()
	return max(others, 0) / capacity
}

// selfCPU returns the CPU time of this process.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
