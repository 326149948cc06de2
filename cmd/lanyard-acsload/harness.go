package main

import (
	"bytes"
	"compress/flate"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
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
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lanyard-sso/lanyard/internal/testidp"
	"github.com/lanyard-sso/lanyard/saml"
)

// harness is a running lanyard server with a tenant and a test IdP.
type harness struct {
	o       options
	stderr  io.Writer
	dir     string
	env     []string
	base    string // http://127.0.0.1:PORT
	slug    string
	idp     *testidp.IdP
	spID    string // the SP entity ID (Audience)
	acsURL  string
	server  *exec.Cmd
	logPath string
	pprof   string       // 127.0.0.1:PORT of the profiler, when asked for
	client  *http.Client // untimed requests
	clients *clientPool  // the load clients
	batches int          // prepared batches, to name the accounts of -jit
	name    string       // in a comparison
}

// userName names the account of login i of the batch being prepared: one
// of -users returning accounts, or with -jit an account no login used
// before (created just in time).
func (h *harness) userName(i int) string {
	if h.o.jit {
		return fmt.Sprintf("jit%03d-%06d", h.batches, i)
	}
	return fmt.Sprintf("user%04d", i%h.o.users)
}

// startHarness sets up the store through the lanyard CLI and starts the
// server.
func startHarness(ctx context.Context, o options, stderr io.Writer) (*harness, error) {
	dir, err := os.MkdirTemp("", "lanyard-acsload-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	h := &harness{o: o, stderr: stderr, dir: dir, slug: "load" + randomHex(4)}
	ok := false
	defer func() {
		if !ok {
			h.close()
		}
	}()
	if o.database != "" {
		u, err := url.Parse(o.database)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return nil, fmt.Errorf("-database %q: want a postgres:// URL", o.database)
		}
		if !isLoopback(u.Hostname()) {
			return nil, fmt.Errorf("-database %q: only a PostgreSQL on loopback is allowed (127.0.0.1, ::1 or localhost)", u.Redacted())
		}
		h.env = append(h.env, "LANYARD_DATABASE="+o.database)
	} else if o.data != "" {
		// A store seeded beforehand (lanyard-seed fill), to measure
		// logins against a large database.
		h.env = append(h.env, "LANYARD_DATA="+o.data)
	} else {
		h.env = append(h.env, "LANYARD_DATA="+filepath.Join(dir, "data"))
	}
	h.env = append(h.env, "LANYARD_LOG_FORMAT=text")
	// Every SP-initiated start of the run comes from this one address.
	h.env = append(h.env, "LANYARD_PENDING_REQUESTS_PER_CLIENT=10000000", "LANYARD_PENDING_REQUESTS_TOTAL=10000000")

	port, err := freePort()
	if err != nil {
		return nil, err
	}
	h.base = "http://127.0.0.1:" + port
	h.env = append(h.env, "LANYARD_BASE_URL="+h.base, "LANYARD_ADDR=127.0.0.1:"+port)
	if o.cpuProfile != "" || o.tracePath != "" {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		h.pprof = "127.0.0.1:" + p
		h.env = append(h.env, "LANYARD_PPROF_ADDR="+h.pprof)
	}

	// The test IdP and its metadata.
	fmt.Fprintf(stderr, "acsload: generating the test IdP key\n")
	h.idp, err = testidp.New("https://idp.acsload.test/"+h.slug, testidp.Options{})
	if err != nil {
		return nil, err
	}
	h.idp.SSOURL = "https://idp.acsload.test/sso"
	md, err := h.idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		return nil, err
	}
	mdFile := filepath.Join(dir, "idp-metadata.xml")
	if err := os.WriteFile(mdFile, md, 0o600); err != nil {
		return nil, fmt.Errorf("write IdP metadata: %w", err)
	}

	// The tenant, through the CLI as an administrator would.
	for _, args := range [][]string{
		{"tenant", "create", h.slug},
		{"tenant", "set", h.slug, "enabled=true", "jit=true", "idp_initiated=true"},
		{"idp", "import", "--tenant", h.slug, "--metadata", mdFile},
	} {
		if err := h.lanyardCLI(ctx, args...); err != nil {
			return nil, err
		}
	}

	if err := h.startServer(ctx); err != nil {
		return nil, err
	}
	h.client = &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			MaxIdleConns:        256,
			MaxIdleConnsPerHost: 256,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}
	h.clients = newClientPool()
	if err := h.readSPMetadata(ctx); err != nil {
		return nil, h.withServerLog(err)
	}
	ok = true
	return h, nil
}

// lanyardCLI runs an administration command of the lanyard binary on the
// harness's store.
func (h *harness) lanyardCLI(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, h.o.lanyard, args...)
	cmd.Env = append(os.Environ(), h.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("lanyard %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// startServer starts lanyard serve and waits for /readyz.
func (h *harness) startServer(ctx context.Context) error {
	h.logPath = h.o.serverLog
	if h.logPath == "" {
		h.logPath = filepath.Join(h.dir, "server.log")
	}
	logFile, err := os.Create(h.logPath)
	if err != nil {
		return fmt.Errorf("server log: %w", err)
	}
	defer logFile.Close()
	h.server = exec.Command(h.o.lanyard, "serve")
	h.server.Env = append(os.Environ(), h.env...)
	h.server.Stdout, h.server.Stderr = logFile, logFile
	if err := h.server.Start(); err != nil {
		return fmt.Errorf("start %s serve: %w", h.o.lanyard, err)
	}
	fmt.Fprintf(h.stderr, "acsload: lanyard serve (pid %d) at %s, log %s\n", h.server.Process.Pid, h.base, h.logPath)
	exited := make(chan error, 1)
	go func() { exited <- h.server.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(h.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				go func() { <-exited }()
				return nil
			}
		}
		select {
		case err := <-exited:
			h.server = nil
			return h.withServerLog(fmt.Errorf("lanyard serve exited before it was ready: %v", err))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return h.withServerLog(errors.New("lanyard serve not ready after 60s"))
		}
	}
}

// readSPMetadata reads the tenant's SP entity ID and ACS URL from its
// metadata, as an IdP administrator would.
func (h *harness) readSPMetadata(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.base+"/t/"+h.slug+"/saml/metadata", nil)
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("SP metadata: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("SP metadata: %s\n%s", resp.Status, body)
	}
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
		return fmt.Errorf("SP metadata: %w", err)
	}
	h.spID = md.EntityID
	for _, a := range md.SP.ACS {
		if a.Binding == saml.BindingHTTPPOST {
			h.acsURL = a.Location
		}
	}
	if h.spID == "" || h.acsURL == "" {
		return fmt.Errorf("SP metadata has no entity ID or HTTP-POST ACS:\n%s", body)
	}
	return nil
}

// close stops the server and removes the temporary directory.
func (h *harness) close() {
	if h.server != nil && h.server.Process != nil {
		_ = h.server.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() {
			for {
				if err := h.server.Process.Signal(syscall.Signal(0)); err != nil {
					close(done)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = h.server.Process.Kill()
		}
	}
	if h.o.keep {
		fmt.Fprintf(h.stderr, "acsload: kept %s\n", h.dir)
		return
	}
	os.RemoveAll(h.dir)
}

// withServerLog appends the end of the server's log to err.
func (h *harness) withServerLog(err error) error {
	if h.logPath == "" {
		return err
	}
	b, rerr := os.ReadFile(h.logPath)
	if rerr != nil {
		return err
	}
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return fmt.Errorf("%w\n--- end of the server log (%s) ---\n%s", err, h.logPath, b)
}

// login is one prepared login: the form to post and, in SP mode, the
// cookies of the browser that started it.
type login struct {
	body   []byte
	cookie string
}

// prepare makes n logins: in SP mode it first starts n logins at the
// server (untimed) and answers each; then it signs the responses on every
// core, and checks the first with the saml package.
func (h *harness) prepare(ctx context.Context, n int) ([]login, prepStats, error) {
	var st prepStats
	logins := make([]login, n)
	requestIDs := make([]string, n)
	if h.o.mode == "sp" {
		start := time.Now()
		if err := h.startLogins(ctx, logins, requestIDs); err != nil {
			return nil, st, err
		}
		st.spStarts = time.Since(start)
	}
	h.batches++
	start := time.Now()
	now := time.Now()
	err := signParallel(n, func(i int) error {
		user := h.userName(i)
		resp, err := h.idp.Response(testidp.Login{
			Destination:  h.acsURL,
			Audience:     h.spID,
			InResponseTo: requestIDs[i],
			NameID:       user + "@acsload.test",
			Attributes:   loginAttributes(user, i%h.o.users),
			Now:          now,
			Validity:     30 * time.Minute,
		})
		if err != nil {
			return err
		}
		logins[i].body = []byte(url.Values{"SAMLResponse": {resp}}.Encode())
		return nil
	})
	if err != nil {
		return nil, st, err
	}
	st.signing = time.Since(start)
	if err := h.verify(logins[0], requestIDs[0]); err != nil {
		return nil, st, err
	}
	return logins, st, nil
}

// prepStats times the preparation.
type prepStats struct {
	spStarts, signing time.Duration
}

// verify checks a prepared response with the saml package, as the server
// will (no replay cache: the server must see it first).
func (h *harness) verify(l login, requestID string) error {
	idp, err := saml.ParseIdPMetadata(mustMetadata(h.idp), saml.MetadataOptions{})
	if err != nil {
		return fmt.Errorf("self-check: IdP metadata: %w", err)
	}
	form, err := url.ParseQuery(string(l.body))
	if err != nil {
		return fmt.Errorf("self-check: %w", err)
	}
	requests := saml.NewMemoryRequestStore()
	if requestID != "" {
		if err := requests.Save(context.Background(), saml.PendingRequest{ID: requestID, IdPEntityID: idp.EntityID, BrowserBinding: "b", Expires: time.Now().Add(time.Hour)}); err != nil {
			return err
		}
	}
	sp := &saml.ServiceProvider{EntityID: h.spID, ACSURL: h.acsURL, AllowUnsolicited: true, Requests: requests}
	if _, err := sp.ValidateResponse(context.Background(), idp, saml.ResponseInput{SAMLResponse: form.Get("SAMLResponse"), BrowserBinding: "b"}); err != nil {
		return fmt.Errorf("self-check: the saml package refuses a prepared response: %w", err)
	}
	return nil
}

func mustMetadata(idp *testidp.IdP) []byte {
	md, err := idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		panic(err)
	}
	return md
}

var requestIDPattern = regexp.MustCompile(`\sID="([^"]+)"`)

// startLogins GETs the login endpoint once per login, with c clients,
// keeping the AuthnRequest ID and the cookies set.
func (h *harness) startLogins(ctx context.Context, logins []login, ids []string) error {
	loginURL := h.base + "/t/" + h.slug + "/saml/login?return_to=" + url.QueryEscape("/app/page?x=1")
	var (
		mu       sync.Mutex
		firstErr error
		next     = make(chan int)
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				id, cookie, err := h.startLogin(ctx, loginURL)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				ids[i], logins[i].cookie = id, cookie
			}
		}()
	}
	for i := range logins {
		next <- i
	}
	close(next)
	wg.Wait()
	return firstErr
}

func (h *harness) startLogin(ctx context.Context, loginURL string) (id, cookie string, err error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, loginURL, nil)
	resp, err := h.client.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("GET login: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusFound {
		return "", "", fmt.Errorf("GET login: %s, want 302 to the IdP", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", "", fmt.Errorf("GET login: Location: %w", err)
	}
	raw, err := base64.StdEncoding.DecodeString(loc.Query().Get("SAMLRequest"))
	if err != nil {
		return "", "", fmt.Errorf("GET login: SAMLRequest: %w", err)
	}
	x, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), 1<<20))
	if err != nil {
		return "", "", fmt.Errorf("GET login: inflate SAMLRequest: %w", err)
	}
	m := requestIDPattern.FindSubmatch(x)
	if m == nil {
		return "", "", fmt.Errorf("GET login: no ID in the AuthnRequest %s", x)
	}
	var cookies []string
	for _, c := range resp.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	return string(m[1]), strings.Join(cookies, "; "), nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
