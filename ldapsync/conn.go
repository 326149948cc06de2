// Package ldapsync synchronises a tenant's accounts from its LDAP or Active
// Directory: it connects (failover over several URLs, StartTLS or LDAPS,
// a given CA or a pinned certificate), reads users and groups with paged
// searches (RFC 2696) so that the directory streams in bounded memory,
// maps the entries to accounts, and applies the changes behind a safety
// stop. It works over the domain's store interfaces.
package ldapsync

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/lanyard-sso/lanyard"
)

// Conn is a bound connection to one of the directory's servers.
type Conn struct {
	l   *ldap.Conn
	URL string // the server that answered
	dir lanyard.LDAPDirectory
}

// Close ends the connection.
func (c *Conn) Close() error { return c.l.Close() }

// tlsConfig builds the TLS settings for host: the directory's CA (or the
// system's), or, with a pinned certificate, that certificate only.
func tlsConfig(dir lanyard.LDAPDirectory, host string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if pem := strings.TrimSpace(dir.CACertPEM); pem != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(pem)) {
			return nil, errors.New("ca_cert_pem holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	if pin := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(dir.PinnedSHA256), ":", "")); pin != "" {
		want, err := hex.DecodeString(pin)
		if err != nil || len(want) != sha256.Size {
			return nil, errors.New("pinned_sha256 is not 64 hex digits")
		}
		// The pin replaces the chain check: the certificate is trusted
		// because it is this one, whoever signed it and whatever its name.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the directory sent no certificate")
			}
			got := sha256.Sum256(raw[0])
			if !strings.EqualFold(hex.EncodeToString(got[:]), pin) {
				return fmt.Errorf("the directory's certificate has SHA-256 %x, not the pinned %s", got, pin)
			}
			return nil
		}
	}
	return cfg, nil
}

// Dial connects to the first of the directory's URLs that answers, secures
// the connection as configured and binds. The error lists what each URL
// said.
func Dial(ctx context.Context, dir lanyard.LDAPDirectory) (*Conn, error) {
	dir.Normalize()
	var failures []string
	for _, raw := range dir.URLs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := dialOne(ctx, dir, raw)
		if err == nil {
			return c, nil
		}
		failures = append(failures, fmt.Sprintf("%s: %v", raw, err))
	}
	return nil, fmt.Errorf("no directory server answered: %s", strings.Join(failures, "; "))
}

func dialOne(ctx context.Context, dir lanyard.LDAPDirectory, raw string) (*Conn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	timeout := time.Duration(dir.Timeout)
	tc, err := tlsConfig(dir, host)
	if err != nil {
		return nil, err
	}
	dialer := &net.Dialer{Timeout: timeout}
	opts := []ldap.DialOpt{ldap.DialWithDialer(dialer)}
	if u.Scheme == "ldaps" {
		opts = append(opts, ldap.DialWithTLSConfig(tc))
	}
	l, err := ldap.DialURL(raw, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect: %w", err)
	}
	l.SetTimeout(timeout)
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	if u.Scheme == "ldap" && dir.StartTLS {
		if err := l.StartTLS(tc); err != nil {
			l.Close()
			return nil, fmt.Errorf("StartTLS: %w", err)
		}
	}
	if dir.BindDN != "" {
		if err := l.Bind(dir.BindDN, dir.BindPassword); err != nil {
			l.Close()
			return nil, fmt.Errorf("bind as %q: %w", dir.BindDN, err)
		}
	}
	return &Conn{l: l, URL: raw, dir: dir}, nil
}

// searchPaged runs a subtree search page by page (RFC 2696 simple paged
// results) and hands each entry to fn, so that only one page is held at
// a time. fn's error stops the search and is returned.
func (c *Conn) searchPaged(ctx context.Context, base, filter string, attrs []string, fn func(*ldap.Entry) error) error {
	paging := ldap.NewControlPaging(uint32(c.dir.PageSize))
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		req := ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, int(time.Duration(c.dir.Timeout).Seconds()), false,
			filter, attrs, []ldap.Control{paging})
		res, err := c.l.Search(req)
		if err != nil {
			return fmt.Errorf("search %s under %q: %w", filter, base, err)
		}
		for _, e := range res.Entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		ctrl, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(ctrl.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}
