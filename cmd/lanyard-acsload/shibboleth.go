package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/lanyard-sso/lanyard/internal/testidp"
)

// The Shibboleth SP 3 target (-shibboleth): Apache httpd with mod_shib and
// shibd, each started here with a configuration of its own in a temporary
// directory, on a free 127.0.0.1 port, as an unprivileged user when this
// runs as root. The same test IdP generator signs the responses (same key
// size, attributes and signed assertion); each login is an unsolicited
// POST to /Shibboleth.sso/SAML2/POST, whose 302 to the protected page is
// followed with the session cookie it set: the login counts when that page
// answers 200.

// Debian's paths (package libapache2-mod-shib, which brings shibd, and
// apache2).
const (
	apacheBinary  = "/usr/sbin/apache2"
	apacheModules = "/usr/lib/apache2/modules"
	shibdBinary   = "/usr/sbin/shibd"
	shibSystemDir = "/etc/shibboleth" // protocols.xml, security-policy.xml, attribute-policy.xml
)

// shibInstallHint says how to install what the target needs.
const shibInstallHint = "Shibboleth SP 3 is not installed: apt-get install -y libapache2-mod-shib apache2 (Debian; it brings shibd)"

// unprivilegedUser is who runs Apache and shibd when this runs as root.
const unprivilegedUser = "nobody"

// shibHarness is a running Apache with mod_shib and its shibd.
type shibHarness struct {
	o       options
	stderr  io.Writer
	dir     string
	base    string // http://127.0.0.1:PORT
	spID    string
	acsURL  string
	target  string // the protected page
	idp     *testidp.IdP
	apache  *exec.Cmd
	shibd   *exec.Cmd
	creds   *syscall.Credential // nil: run as this process's user
	clients *clientPool
}

func checkShibbolethInstalled() error {
	for _, p := range []string{apacheBinary, shibdBinary, filepath.Join(apacheModules, "mod_shib.so"), filepath.Join(apacheModules, "mod_mpm_event.so"), filepath.Join(shibSystemDir, "protocols.xml")} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s (missing %s)", shibInstallHint, p)
		}
	}
	return nil
}

// startShibboleth writes the configurations and starts shibd and Apache.
func startShibboleth(ctx context.Context, o options, stderr io.Writer) (*shibHarness, error) {
	if err := checkShibbolethInstalled(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lanyard-acsload-shib-")
	if err != nil {
		return nil, fmt.Errorf("temporary directory: %w", err)
	}
	h := &shibHarness{o: o, stderr: stderr, dir: dir}
	ok := false
	defer func() {
		if !ok {
			h.close()
		}
	}()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	h.base = "http://127.0.0.1:" + port
	h.spID = h.base + "/shibboleth"
	h.acsURL = h.base + "/Shibboleth.sso/SAML2/POST"
	h.target = h.base + "/secure/index.html"

	fmt.Fprintf(stderr, "acsload: generating the test IdP key for Shibboleth\n")
	h.idp, err = testidp.New("https://idp.acsload.test/shibboleth-"+randomHex(4), testidp.Options{})
	if err != nil {
		return nil, err
	}
	h.idp.SSOURL = "https://idp.acsload.test/sso"
	md, err := h.idp.Metadata(testidp.MetadataOptions{})
	if err != nil {
		return nil, err
	}
	if err := h.writeConfig(port, md); err != nil {
		return nil, err
	}
	if os.Geteuid() == 0 {
		u, err := user.Lookup(unprivilegedUser)
		if err != nil {
			return nil, fmt.Errorf("user %s to run Apache and shibd as: %w", unprivilegedUser, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		h.creds = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := chownTree(dir, uid, gid); err != nil {
			return nil, err
		}
	}

	// shibd first: mod_shib connects to its socket.
	h.shibd = h.command(shibdBinary, "-F", "-f", "-c", h.path("shibboleth2.xml"), "-p", h.path("run/shibd.pid"))
	if err := h.startLogged(h.shibd, "shibd.out"); err != nil {
		return nil, err
	}
	if err := waitFor(ctx, 60*time.Second, func() bool { _, err := os.Stat(h.path("run/shibd.sock")); return err == nil }); err != nil {
		return nil, h.withLogs(fmt.Errorf("shibd did not open its socket: %w", err))
	}
	h.apache = h.command(apacheBinary, "-d", dir, "-f", h.path("httpd.conf"), "-DFOREGROUND")
	if err := h.startLogged(h.apache, "apache.out"); err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "acsload: Shibboleth SP (shibd pid %d, apache pid %d) at %s, files in %s\n", h.shibd.Process.Pid, h.apache.Process.Pid, h.base, dir)
	h.clients = newClientPool()
	if err := waitFor(ctx, 60*time.Second, func() bool {
		resp, err := http.Get(h.base + "/Shibboleth.sso/Metadata")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}); err != nil {
		return nil, h.withLogs(fmt.Errorf("the Shibboleth SP's /Shibboleth.sso/Metadata does not answer 200: %w", err))
	}
	ok = true
	return h, nil
}

func (h *shibHarness) path(name string) string { return filepath.Join(h.dir, name) }

// command prepares a server process, run as the unprivileged user.
func (h *shibHarness) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir = h.dir
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: h.creds, Setpgid: true}
	return cmd
}

func (h *shibHarness) startLogged(cmd *exec.Cmd, logName string) error {
	f, err := os.Create(h.path(logName))
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() { _ = cmd.Wait() }()
	return nil
}

func waitFor(ctx context.Context, limit time.Duration, ready func() bool) error {
	deadline := time.Now().Add(limit)
	for !ready() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s", limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// withLogs appends the ends of the servers' logs to err.
func (h *shibHarness) withLogs(err error) error {
	var b strings.Builder
	for _, name := range []string{"shibd.out", "log/shibd_warn.log", "log/native.log", "apache.out", "log/apache-error.log"} {
		data, rerr := os.ReadFile(h.path(name))
		if rerr != nil || len(data) == 0 {
			continue
		}
		if len(data) > 2000 {
			data = data[len(data)-2000:]
		}
		fmt.Fprintf(&b, "\n--- end of %s ---\n%s", name, data)
	}
	return fmt.Errorf("%w%s", err, b.String())
}

// close stops Apache and shibd (their process groups) and removes the
// temporary directory.
func (h *shibHarness) close() {
	for _, cmd := range []*exec.Cmd{h.apache, h.shibd} {
		if cmd == nil || cmd.Process == nil {
			continue
		}
		pgid := cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		deadline := time.Now().Add(15 * time.Second)
		for syscall.Kill(-pgid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
	}
	if h.o.keep {
		fmt.Fprintf(h.stderr, "acsload: kept %s\n", h.dir)
		return
	}
	os.RemoveAll(h.dir)
}

// cpu returns the CPU time of every Shibboleth process: shibd, and
// Apache's parent with its children (the live ones, and through the
// parent's cumulative children's time those that exited).
func (h *shibHarness) cpu() time.Duration {
	var total time.Duration
	for _, cmd := range []*exec.Cmd{h.shibd, h.apache} {
		if cmd == nil || cmd.Process == nil {
			continue
		}
		total += processTreeCPU(cmd.Process.Pid)
	}
	return total
}

// processTreeCPU returns the CPU time of a process, its reaped children
// (cutime, cstime) and its live children.
func processTreeCPU(pid int) time.Duration {
	f, err := statFields(pid)
	if err != nil {
		return 0
	}
	total := ticks(f, 11) + ticks(f, 12) + ticks(f, 13) + ticks(f, 14) // utime stime cutime cstime
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		child, err := strconv.Atoi(filepath.Base(d))
		if err != nil || child == pid {
			continue
		}
		cf, err := statFields(child)
		if err != nil || len(cf) < 2 || cf[1] != strconv.Itoa(pid) {
			continue
		}
		total += ticks(cf, 11) + ticks(cf, 12)
	}
	return total
}

// statFields returns the fields of /proc/PID/stat after the command name
// (field 3 is index 0).
func statFields(pid int) ([]string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil, err
	}
	s := string(b)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return nil, errors.New("unexpected /proc format")
	}
	f := strings.Fields(s[end+1:])
	if len(f) < 15 {
		return nil, errors.New("unexpected /proc format")
	}
	return f, nil
}

func ticks(f []string, i int) time.Duration {
	n, _ := strconv.ParseInt(f[i], 10, 64)
	return time.Duration(n) * time.Second / clockTicks
}

func chownTree(dir string, uid, gid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// prepare signs n responses for Shibboleth, as harness.prepare does for
// Lanyard: the same users and attributes.
func (h *shibHarness) prepare(n int) ([]login, error) {
	logins := make([]login, n)
	now := time.Now()
	err := signParallel(n, func(i int) error {
		user := fmt.Sprintf("user%04d", i%h.o.users)
		resp, err := h.idp.Response(testidp.Login{
			Destination: h.acsURL,
			Audience:    h.spID,
			NameID:      user + "@acsload.test",
			Attributes:  loginAttributes(user, i%h.o.users),
			Now:         now,
			Validity:    30 * time.Minute,
		})
		if err != nil {
			return err
		}
		logins[i].body = []byte(url.Values{"SAMLResponse": {resp}, "RelayState": {h.target}}.Encode())
		return nil
	})
	return logins, err
}

// post sends one login: the POST to the ACS must answer 302 to the
// protected page with a session cookie, and that page 200 with it.
func (h *shibHarness) post(ctx context.Context, client *http.Client, l login) (outcome, detail string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.acsURL, bytes.NewReader(l.body))
	if err != nil {
		return "request error", err.Error()
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return "transport error", err.Error()
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "ACS " + resp.Status, fmt.Sprintf("ACS %s: %s", resp.Status, snippet(body))
	}
	if loc := resp.Header.Get("Location"); loc != h.target {
		return "ACS 302 elsewhere", "ACS redirected to " + loc
	}
	var cookies []string
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "_shibsession_") && c.Value != "" {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
	}
	if len(cookies) == 0 {
		return "ACS 302 without session cookie", resp.Header.Get("Set-Cookie")
	}
	req, _ = http.NewRequestWithContext(ctx, http.MethodGet, h.target, nil)
	req.Header.Set("Cookie", strings.Join(cookies, "; "))
	resp, err = client.Do(req)
	if err != nil {
		return "transport error", err.Error()
	}
	body, _ = io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(protectedPageText)) {
		return "protected page " + resp.Status, fmt.Sprintf("protected page %s: %s", resp.Status, snippet(body))
	}
	return "", ""
}

const protectedPageText = "lanyard-acsload protected page"

// writeConfig writes shibd's and Apache's configurations, the IdP's
// metadata, the SP's key, and the protected page.
func (h *shibHarness) writeConfig(port string, idpMetadata []byte) error {
	for _, d := range []string{"run", "log", "htdocs/secure", "state"} {
		if err := os.MkdirAll(h.path(d), 0o755); err != nil {
			return err
		}
	}
	if err := os.Chmod(h.dir, 0o755); err != nil {
		return err
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	cert, err := testidp.SelfSigned(key, "lanyard-acsload Shibboleth SP", time.Time{})
	if err != nil {
		return err
	}
	files := map[string][]byte{
		"idp-metadata.xml":         idpMetadata,
		"sp-key.pem":               pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: mustPKCS8(key)}),
		"sp-cert.pem":              pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}),
		"htdocs/secure/index.html": []byte("<!doctype html><title>ok</title><p>" + protectedPageText + "</p>\n"),
		"attribute-map.xml":        []byte(shibAttributeMap),
		"shibd.logger":             nil,
		"native.logger":            nil,
		"shibboleth2.xml":          nil,
		"httpd.conf":               nil,
		"log/native.log":           {},
		"log/shibd.log":            {},
		"log/shibd_warn.log":       {},
		"log/transaction.log":      {},
		"log/apache-error.log":     {},
		"log/apache-access.log":    {},
	}
	vars := map[string]string{"Dir": h.dir, "Port": port, "Base": h.base, "SPID": h.spID, "Modules": apacheModules, "System": shibSystemDir}
	for name, tmpl := range map[string]string{"shibd.logger": shibdLogger, "native.logger": nativeLogger, "shibboleth2.xml": shibbolethConfig, "httpd.conf": apacheConfig} {
		var b bytes.Buffer
		if err := template.Must(template.New(name).Parse(tmpl)).Execute(&b, vars); err != nil {
			return err
		}
		files[name] = b.Bytes()
	}
	for name, data := range files {
		if err := os.WriteFile(h.path(name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func mustPKCS8(key *rsa.PrivateKey) []byte {
	b, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		panic(err)
	}
	return b
}

// shibbolethConfig is shibd's and mod_shib's configuration: Debian's
// default shibboleth2.xml made local (plain HTTP on loopback, every file
// in the temporary directory), with the test IdP's metadata from a file.
const shibbolethConfig = `<SPConfig xmlns="urn:mace:shibboleth:3.0:native:sp:config"
    xmlns:conf="urn:mace:shibboleth:3.0:native:sp:config" clockSkew="180">
  <OutOfProcess logger="{{.Dir}}/shibd.logger" tranLogFormat="%u|%s|%IDP|%i|%ac|%t|%attr|%n|%b|%E|%S|%SS|%L|%UA|%a"/>
  <InProcess logger="{{.Dir}}/native.logger"/>
  <UnixListener address="{{.Dir}}/run/shibd.sock"/>
  <StorageService type="Memory" id="mem" cleanupInterval="900"/>
  <SessionCache type="StorageService" StorageService="mem" cacheAssertions="false"
                cacheAllowance="900" inprocTimeout="900" cleanupInterval="900"/>
  <ReplayCache StorageService="mem"/>
  <ArtifactMap artifactTTL="180"/>
  <ApplicationDefaults entityID="{{.SPID}}" REMOTE_USER="uid">
    <Sessions lifetime="28800" timeout="3600" relayState="ss:mem"
              checkAddress="false" handlerSSL="false" cookieProps="http"
              redirectLimit="exact">
      <SSO>SAML2</SSO>
      <Logout>SAML2 Local</Logout>
      <Handler type="MetadataGenerator" Location="/Metadata" signing="false"/>
      <Handler type="Status" Location="/Status" acl="127.0.0.1 ::1"/>
      <Handler type="Session" Location="/Session" showAttributeValues="false"/>
    </Sessions>
    <Errors supportContact="root@localhost" helpLocation="/about.html" styleSheet="/shibboleth-sp/main.css"/>
    <MetadataProvider type="XML" validate="true" path="{{.Dir}}/idp-metadata.xml"/>
    <AttributeExtractor type="XML" validate="true" reloadChanges="false" path="{{.Dir}}/attribute-map.xml"/>
    <AttributeFilter type="XML" validate="true" path="{{.System}}/attribute-policy.xml"/>
    <CredentialResolver type="File" key="{{.Dir}}/sp-key.pem" certificate="{{.Dir}}/sp-cert.pem"/>
  </ApplicationDefaults>
  <SecurityPolicyProvider type="XML" validate="true" path="{{.System}}/security-policy.xml"/>
  <ProtocolProvider type="XML" validate="true" reloadChanges="false" path="{{.System}}/protocols.xml"/>
</SPConfig>
`

// shibAttributeMap maps the attributes the test IdP sends.
const shibAttributeMap = `<Attributes xmlns="urn:mace:shibboleth:2.0:attribute-map">
  <Attribute name="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress" id="nameid"/>
  <Attribute name="uid" nameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" id="uid"/>
  <Attribute name="mail" nameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" id="mail"/>
  <Attribute name="givenName" nameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" id="givenName"/>
  <Attribute name="sn" nameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic" id="sn"/>
</Attributes>
`

// shibdLogger is Debian's shibd.logger with its files in the temporary
// directory: INFO, and the transaction log of every login (as Lanyard logs
// and audits every login).
const shibdLogger = `log4j.rootCategory=INFO, shibd_log, warn_log
log4j.category.XMLTooling.XMLObject=INFO
log4j.category.XMLTooling.XMLObjectBuilder=INFO
log4j.category.XMLTooling.KeyInfoResolver=INFO
log4j.category.Shibboleth.IPRange=INFO
log4j.category.Shibboleth.PropertySet=INFO
log4j.category.XMLTooling.libcurl=INFO
log4j.category.Shibboleth-TRANSACTION=INFO, tran_log
log4j.additivity.Shibboleth-TRANSACTION=false
log4j.ownAppenders.Shibboleth-TRANSACTION=true
log4j.appender.shibd_log=org.apache.log4j.FileAppender
log4j.appender.shibd_log.fileName={{.Dir}}/log/shibd.log
log4j.appender.shibd_log.layout=org.apache.log4j.PatternLayout
log4j.appender.shibd_log.layout.ConversionPattern=%d{%Y-%m-%d %H:%M:%S} %p %c %x: %m%n
log4j.appender.warn_log=org.apache.log4j.FileAppender
log4j.appender.warn_log.fileName={{.Dir}}/log/shibd_warn.log
log4j.appender.warn_log.layout=org.apache.log4j.PatternLayout
log4j.appender.warn_log.layout.ConversionPattern=%d{%Y-%m-%d %H:%M:%S} %p %c %x: %m%n
log4j.appender.warn_log.threshold=WARN
log4j.appender.tran_log=org.apache.log4j.FileAppender
log4j.appender.tran_log.fileName={{.Dir}}/log/transaction.log
log4j.appender.tran_log.layout=org.apache.log4j.PatternLayout
log4j.appender.tran_log.layout.ConversionPattern=%d{%Y-%m-%d %H:%M:%S}|%c|%m%n
`

// nativeLogger is mod_shib's logging: warnings, to a file.
const nativeLogger = `log4j.rootCategory=WARN, native_log
log4j.appender.native_log=org.apache.log4j.FileAppender
log4j.appender.native_log.fileName={{.Dir}}/log/native.log
log4j.appender.native_log.layout=org.apache.log4j.PatternLayout
log4j.appender.native_log.layout.ConversionPattern=%d{%Y-%m-%d %H:%M:%S} %p %c %x: %m%n
`

// apacheConfig is an Apache of its own: mpm_event with a fixed number of
// children (none is started or stopped during a run, so /proc accounts
// for all the CPU), keep-alive connections, an access log as in
// production, mod_shib, and a page that requires a Shibboleth session.
const apacheConfig = `ServerRoot "{{.Dir}}"
Listen 127.0.0.1:{{.Port}}
ServerName 127.0.0.1:{{.Port}}
UseCanonicalName On
PidFile {{.Dir}}/run/apache.pid
DefaultRuntimeDir {{.Dir}}/run
Mutex file:{{.Dir}}/run default
ErrorLog {{.Dir}}/log/apache-error.log
LogLevel warn
LoadModule mpm_event_module {{.Modules}}/mod_mpm_event.so
LoadModule authn_core_module {{.Modules}}/mod_authn_core.so
LoadModule authz_core_module {{.Modules}}/mod_authz_core.so
LoadModule mime_module {{.Modules}}/mod_mime.so
LoadModule mod_shib {{.Modules}}/mod_shib.so
TypesConfig /etc/mime.types
StartServers 2
ServerLimit 2
ThreadsPerChild 32
MaxRequestWorkers 64
MinSpareThreads 1
MaxSpareThreads 64
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog {{.Dir}}/log/apache-access.log common
DocumentRoot "{{.Dir}}/htdocs"
ShibConfig {{.Dir}}/shibboleth2.xml
ShibCompatValidUser Off
<Directory />
  Require all granted
</Directory>
<Location /Shibboleth.sso>
  AuthType None
  Require all granted
</Location>
<Location /secure>
  AuthType shibboleth
  ShibRequestSetting requireSession 1
  Require shib-session
</Location>
`
