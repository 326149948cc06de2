// Package slapdtest starts OpenLDAP's slapd for tests: on 127.0.0.1, on
// free ports, in a temporary directory, as the unprivileged openldap user
// when the test runs as root, with the core, cosine, inetorgperson and nis
// schemas, an Active Directory-like schema (sAMAccountName,
// userPrincipalName, userAccountControl), the memberof overlay, and plain
// LDAP, StartTLS and LDAPS with a CA made at test time. Without slapd the
// test is skipped, except in CI (CI=true) where it fails.
package slapdtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Paths of Debian's slapd and ldap-utils.
const (
	Slapd    = "/usr/sbin/slapd"
	LDAPAdd  = "/usr/bin/ldapadd"
	LDAPMod  = "/usr/bin/ldapmodify"
	schemas  = "/etc/ldap/schema"
	modules  = "/usr/lib/ldap"
	BaseDN   = "dc=example,dc=org"
	AdminDN  = "cn=admin,dc=example,dc=org"
	AdminPW  = "test-only-admin-password"
	runAsUsr = "openldap"
)

// adSchema declares the Active Directory attributes the sync reads, with
// their AD OIDs (uSNChanged is a plain attribute here, set by the tests), and an auxiliary class of this test's own to carry them.
const adSchema = `attributetype ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.656 NAME 'userPrincipalName'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
	EQUALITY integerMatch ORDERING integerOrderingMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
attributetype ( 1.2.840.113556.1.2.120 NAME 'uSNChanged'
	DESC 'test only: set by hand, where AD sets it on every change'
	EQUALITY integerMatch ORDERING integerOrderingMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.4203.666.11.9999.1 NAME 'lanyardTestADUser'
	DESC 'test only: AD account attributes on an inetOrgPerson'
	SUP top AUXILIARY MAY ( sAMAccountName $ userPrincipalName $ userAccountControl $ uSNChanged ) )
`

// Server is a running slapd.
type Server struct {
	Dir        string
	URL        string // ldap://127.0.0.1:port (StartTLS offered)
	LDAPSURL   string // ldaps://127.0.0.1:port
	CACertPEM  string
	CertSHA256 string // hex SHA-256 of the server certificate (DER)
	cmd        *exec.Cmd
	args       []string
	done       chan struct{}
}

// Available reports why slapd cannot run here, or nil.
func Available() error {
	for _, p := range []string{Slapd, LDAPAdd, filepath.Join(modules, "memberof.so"), filepath.Join(schemas, "inetorgperson.schema")} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s missing (install slapd and ldap-utils)", p)
		}
	}
	return nil
}

// Require skips (or, in CI, fails) the test when slapd is missing.
func Require(tb testing.TB) {
	tb.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("slapd is required in CI: %v; scripts/test.sh installs it", err)
		}
		tb.Skip(err)
	}
}

// Options change the server.
type Options struct {
	// MaxSize is the database's map size in bytes. Default 256 MiB.
	MaxSize int64
	// Preload is LDIF loaded with slapadd before the server starts (no
	// overlays run: give memberOf values yourself). Fast, for benchmarks.
	Preload string
	// PreloadFile is a file of such LDIF, loaded after Preload.
	PreloadFile string
}

// Start starts slapd with the base entries (the suffix, ou=people,
// ou=groups) and stops it when the test ends.
func Start(tb testing.TB, opt Options) *Server {
	tb.Helper()
	Require(tb)
	dir, err := os.MkdirTemp("", "slapdtest-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	s := &Server{Dir: dir}
	caPEM, certPEM, keyPEM, sum := testCerts(tb)
	s.CACertPEM, s.CertSHA256 = string(caPEM), sum
	for name, data := range map[string][]byte{"ca.pem": caPEM, "server.pem": certPEM, "server.key": keyPEM, "ad.schema": []byte(adSchema)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o700); err != nil {
		tb.Fatal(err)
	}
	maxSize := opt.MaxSize
	if maxSize == 0 {
		maxSize = 256 << 20
	}
	conf := fmt.Sprintf(`include %[2]s/core.schema
include %[2]s/cosine.schema
include %[2]s/inetorgperson.schema
include %[2]s/nis.schema
include %[1]s/ad.schema
modulepath %[3]s
moduleload back_mdb
moduleload memberof
pidfile %[1]s/slapd.pid
argsfile %[1]s/slapd.args
TLSCACertificateFile %[1]s/ca.pem
TLSCertificateFile %[1]s/server.pem
TLSCertificateKeyFile %[1]s/server.key
sizelimit unlimited
database mdb
maxsize %[4]d
suffix "%[5]s"
rootdn "%[6]s"
rootpw %[7]s
directory %[1]s/data
index objectClass eq
index uid,cn,mail,sAMAccountName,userPrincipalName eq
index member,uniqueMember,memberOf eq
index modifyTimestamp eq
overlay memberof
`, dir, schemas, modules, maxSize, BaseDN, AdminDN, AdminPW)
	confPath := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	base := fmt.Sprintf(`dn: %s
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,%[1]s
objectClass: organizationalUnit
ou: people

dn: ou=groups,%[1]s
objectClass: organizationalUnit
ou: groups
`, BaseDN)
	ldif := filepath.Join(dir, "base.ldif")
	if err := os.WriteFile(ldif, []byte(base+"\n"+opt.Preload), 0o600); err != nil {
		tb.Fatal(err)
	}
	if out, err := exec.Command("/usr/sbin/slapadd", "-q", "-f", confPath, "-l", ldif).CombinedOutput(); err != nil {
		tb.Fatalf("slapadd: %v\n%s", err, out)
	}
	os.Remove(ldif)
	if opt.PreloadFile != "" {
		if out, err := exec.Command("/usr/sbin/slapadd", "-q", "-f", confPath, "-l", opt.PreloadFile).CombinedOutput(); err != nil {
			tb.Fatalf("slapadd %s: %v\n%s", opt.PreloadFile, err, out)
		}
	}
	asRoot := os.Getuid() == 0
	if asRoot {
		// slapd drops to the openldap user (-u/-g): it must own its files.
		u, err := user.Lookup(runAsUsr)
		if err != nil {
			tb.Fatalf("running as root, slapd needs the %s user: %v", runAsUsr, err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		err = filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, uid, gid)
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	// A free port may be taken by another process before slapd binds it
	// (tests of other packages run beside): slapd then exits, and the
	// server starts again on other ports.
	const attempts = 5
	for attempt := 1; ; attempt++ {
		port, tlsPort := freePort(tb), freePort(tb)
		s.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
		s.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", tlsPort)
		s.args = []string{"-d", "0", "-f", confPath, "-h", s.URL + "/ " + s.LDAPSURL + "/"}
		if asRoot {
			s.args = append(s.args, "-u", runAsUsr, "-g", runAsUsr)
		}
		logs, exited := s.tryStart(tb)
		if !exited {
			break
		}
		if attempt == attempts {
			tb.Fatalf("slapd exited %d times on fresh ports: %s", attempts, logs)
		}
	}
	tb.Cleanup(s.Stop)
	return s
}

func (s *Server) start(tb testing.TB) {
	tb.Helper()
	if logs, exited := s.tryStart(tb); exited {
		tb.Fatalf("slapd exited: %s", logs)
	}
}

// tryStart starts slapd and waits until it listens; exited reports that
// it ended first, with its output.
func (s *Server) tryStart(tb testing.TB) (logs string, exited bool) {
	tb.Helper()
	var out bytes.Buffer
	cmd := exec.Command(Slapd, s.args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start slapd: %v", err)
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(s.done) }()
	addr := strings.TrimPrefix(s.URL, "ldap://")
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return "", false
		}
		select {
		case <-s.done:
			s.cmd = nil
			return out.String(), true
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			tb.Fatalf("slapd did not listen on %s: %s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server (the directory goes down); Resume starts it again.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Resume starts a stopped server again on the same ports and data.
func (s *Server) Resume(tb testing.TB) {
	tb.Helper()
	s.start(tb)
}

// Add loads LDIF with ldapadd.
func (s *Server) Add(tb testing.TB, ldif string) { s.run(tb, LDAPAdd, ldif) }

// Modify applies LDIF change records with ldapmodify.
func (s *Server) Modify(tb testing.TB, ldif string) { s.run(tb, LDAPMod, ldif) }

func (s *Server) run(tb testing.TB, tool, ldif string) {
	tb.Helper()
	cmd := exec.Command(tool, "-x", "-H", s.URL, "-D", AdminDN, "-w", AdminPW)
	cmd.Stdin = strings.NewReader(ldif)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("%s: %v\n%s", filepath.Base(tool), err, out)
	}
}

func freePort(tb testing.TB) int {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// testCerts makes a CA and a server certificate for 127.0.0.1 and
// localhost; test keys only.
func testCerts(tb testing.TB) (caPEM, certPEM, keyPEM []byte, sum string) {
	tb.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slapdtest CA (test only)"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	h := sha256.Sum256(der)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), hex.EncodeToString(h[:])
}
