package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// clientPool gives each load client its own HTTP client, connecting from
// a loopback address of its own (127.0.0.2, 127.0.0.3, ...): a server that
// bounds the requests in progress per client address (Lanyard's ACS takes
// 4 at once from one address) sees distinct browsers, as in real use.
type clientPool struct {
	mu      sync.Mutex
	clients []*http.Client
}

func newClientPool() *clientPool { return &clientPool{} }

// client returns the HTTP client of load client i.
func (p *clientPool) client(i int) *http.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.clients) <= i {
		p.clients = append(p.clients, loopbackClient(len(p.clients)))
	}
	return p.clients[i]
}

// loopbackClient connects from 127.0.X.Y, a distinct address per i.
func loopbackClient(i int) *http.Client {
	local := &net.TCPAddr{IP: net.IPv4(127, 0, byte(i/250), byte(2+i%250))}
	dialer := &net.Dialer{LocalAddr: local, Timeout: 10 * time.Second}
	return &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			DialContext:         dialer.DialContext,
			MaxIdleConns:        16,
			MaxIdleConnsPerHost: 16,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
}

// signParallel runs sign(i) for i in [0, n) on every core.
func signParallel(n int, sign func(i int) error) error {
	workers := runtime.GOMAXPROCS(0)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += workers {
				if err := sign(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// loginAttributes are the attributes of a login of user, for every target.
func loginAttributes(user string, n int) [][2]string {
	return [][2]string{{"uid", user}, {"mail", user + "@acsload.test"}, {"givenName", "User"}, {"sn", fmt.Sprint(n)}}
}

// postFunc sends one prepared login with client: "" when it succeeded,
// else the kind of failure and a detail.
type postFunc func(ctx context.Context, client *http.Client, l login) (outcome, detail string)

// cpuFunc reads the CPU time used so far by the server under test and by
// its database (0 when none is measured).
type cpuFunc func() (server, db time.Duration, err error)

// timedRun posts the logins with c clients, bounded by timeout, and
// measures throughput, latencies and CPU times.
func timedRun(ctx context.Context, res result, c int, timeout time.Duration, logins []login, clients *clientPool, post postFunc, cpu cpuFunc) (result, error) {
	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	serverBefore, dbBefore, err := cpu()
	if err != nil {
		return res, err
	}
	clientBefore := selfCPU()
	machineBefore := machineCPU()
	start := time.Now()

	var (
		next      atomic.Int64
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, len(logins))
		wg        sync.WaitGroup
	)
	for k := range c {
		client := clients.client(k)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			fails := map[string]int{}
			var first string
			attempted := 0
			for runCtx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(logins) {
					break
				}
				attempted++
				t0 := time.Now()
				outcome, detail := post(runCtx, client, logins[i])
				if outcome == "" {
					mine = append(mine, time.Since(t0))
					continue
				}
				fails[outcome]++
				if first == "" {
					first = detail
				}
			}
			mu.Lock()
			defer mu.Unlock()
			latencies = append(latencies, mine...)
			res.attempted += attempted
			res.ok += len(mine)
			for k, v := range fails {
				res.byStatus[k] += v
			}
			if res.firstError == "" {
				res.firstError = first
			}
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	serverAfter, dbAfter, err := cpu()
	if err != nil {
		return res, err
	}
	res.serverCPU = serverAfter - serverBefore
	res.dbCPU = dbAfter - dbBefore
	res.clientCPU = selfCPU() - clientBefore
	res.machineCPU = machineCPU() - machineBefore
	slices.Sort(latencies)
	res.latencies = latencies
	if runCtx.Err() != nil && res.attempted < len(logins) {
		res.byStatus[fmt.Sprintf("not sent (timeout %s)", timeout)] += len(logins) - res.attempted
		res.attempted = len(logins)
	}
	return res, nil
}
